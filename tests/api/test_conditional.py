"""Conditional create, update and delete (http.html#ccreate, #cond-update, #cdelete)."""

from __future__ import annotations

import httpx

from .conftest import FHIR_JSON, patient

IDENT = {"identifier": [{"system": "urn:ins", "value": "123"}]}


async def test_if_none_exist_creates_once(client: httpx.AsyncClient) -> None:
    headers = {**FHIR_JSON, "If-None-Exist": "identifier=urn:ins|123"}
    r1 = await client.post("Patient", json=patient(**IDENT), headers=headers)
    assert r1.status_code == 201
    r2 = await client.post("Patient", json=patient(**IDENT), headers=headers)
    assert r2.status_code == 200
    assert r2.json()["id"] == r1.json()["id"]
    bundle = (await client.get("Patient", params={"identifier": "urn:ins|123", "_total": "accurate"})).json()
    assert bundle["total"] == 1


async def test_if_none_exist_with_two_matches_is_412(client: httpx.AsyncClient) -> None:
    await client.post("Patient", json=patient(**IDENT), headers=FHIR_JSON)
    await client.post("Patient", json=patient(**IDENT), headers=FHIR_JSON)
    r = await client.post(
        "Patient", json=patient(**IDENT), headers={**FHIR_JSON, "If-None-Exist": "identifier=urn:ins|123"}
    )
    assert r.status_code == 412


async def test_conditional_update_creates_then_updates(client: httpx.AsyncClient) -> None:
    r = await client.put("Patient?identifier=urn:ins|123", json=patient(**IDENT), headers=FHIR_JSON)
    assert r.status_code == 201
    rid = r.json()["id"]
    r = await client.put(
        "Patient?identifier=urn:ins|123", json=patient("Changed", **IDENT), headers=FHIR_JSON
    )
    assert r.status_code == 200
    assert r.json()["id"] == rid
    assert r.json()["meta"]["versionId"] == "2"


async def test_conditional_update_with_several_matches_is_412(client: httpx.AsyncClient) -> None:
    for _ in range(2):
        await client.post("Patient", json=patient(**IDENT), headers=FHIR_JSON)
    r = await client.put("Patient?identifier=urn:ins|123", json=patient(**IDENT), headers=FHIR_JSON)
    assert r.status_code == 412


async def test_conditional_delete(client: httpx.AsyncClient) -> None:
    rid = (await client.post("Patient", json=patient(**IDENT), headers=FHIR_JSON)).json()["id"]
    r = await client.delete("Patient?identifier=urn:ins|123")
    assert r.status_code == 200
    assert (await client.get(f"Patient/{rid}")).status_code == 410
    r = await client.delete("Patient?identifier=urn:ins|123")
    assert r.status_code == 200


async def test_conditional_criteria_with_unknown_parameter_is_refused(client: httpx.AsyncClient) -> None:
    r = await client.post("Patient", json=patient(), headers={**FHIR_JSON, "If-None-Exist": "nonsense=1"})
    assert r.status_code == 400
