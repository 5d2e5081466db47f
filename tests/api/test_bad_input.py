"""Bad input never gives a 500: each case gets a clear OperationOutcome with the right status."""

from __future__ import annotations

import httpx

from .conftest import FHIR_JSON, issue_codes, patient


async def test_malformed_json_is_400_structure(client: httpx.AsyncClient) -> None:
    r = await client.post("Patient", content=b'{"resourceType": "Patient",', headers=FHIR_JSON)
    assert r.status_code == 400
    assert issue_codes(r.json()) == ["structure"]


async def test_wrong_resource_type_is_400(client: httpx.AsyncClient) -> None:
    r = await client.post("Patient", json={"resourceType": "Observation"}, headers=FHIR_JSON)
    assert r.status_code == 400
    assert r.json()["issue"][0]["expression"] == ["resourceType"]
    r = await client.post("Patient", json=["not", "an", "object"], headers=FHIR_JSON)
    assert r.status_code == 400


async def test_body_over_limit_is_413(client: httpx.AsyncClient) -> None:
    big = patient(text={"status": "generated", "div": "<div>" + "x" * 2_100_000 + "</div>"})
    r = await client.post("Patient", json=big, headers=FHIR_JSON)
    assert r.status_code == 413
    assert issue_codes(r.json()) == ["too-costly"]


async def test_deep_nesting_is_400(client: httpx.AsyncClient) -> None:
    deep = "[" * 5000 + "]" * 5000
    body = '{"resourceType":"Patient","extension":' + deep + "}"
    r = await client.post("Patient", content=body.encode(), headers=FHIR_JSON)
    assert r.status_code == 400
    nested: dict[str, object] = {"url": "http://x"}
    for _ in range(200):
        nested = {"url": "http://x", "extension": [nested]}
    r = await client.post("Patient", json=patient(extension=[nested]), headers=FHIR_JSON)
    assert r.status_code == 400


async def test_wrong_content_type_is_415(client: httpx.AsyncClient) -> None:
    r = await client.post("Patient", content=b"<Patient/>", headers={"Content-Type": "application/fhir+xml"})
    assert r.status_code == 415
    r = await client.post("Patient", content=b"hello", headers={"Content-Type": "text/plain"})
    assert r.status_code == 415


async def test_unknown_resource_type_is_404(client: httpx.AsyncClient) -> None:
    r = await client.post("Unicorn", json={"resourceType": "Unicorn"}, headers=FHIR_JSON)
    assert r.status_code == 404
    r = await client.get("Unicorn")
    assert r.status_code == 404


async def test_bad_search_values_are_400(client: httpx.AsyncClient) -> None:
    for params in ({"birthdate": "notadate"}, {"_count": "abc"}, {"birthdate": "2021-02-30"}):
        r = await client.get("Patient", params=params)
        assert r.status_code == 400, params
        assert r.json()["resourceType"] == "OperationOutcome"


async def test_unknown_search_parameter_lenient_then_strict(client: httpx.AsyncClient) -> None:
    r = await client.get("Patient", params={"colour": "blue"})
    assert r.status_code == 200
    outcomes = [e for e in r.json().get("entry", []) if e["search"]["mode"] == "outcome"]
    assert "colour" in outcomes[0]["resource"]["issue"][0]["diagnostics"]
    r = await client.get("Patient", params={"colour": "blue"}, headers={"Prefer": "handling=strict"})
    assert r.status_code == 400


async def test_invalid_ids_are_refused(client: httpx.AsyncClient) -> None:
    r = await client.put("Patient/" + "a" * 65, json=patient(id="a" * 65), headers=FHIR_JSON)
    assert r.status_code == 400
    r = await client.put("Patient/bad_id", json=patient(id="bad_id"), headers=FHIR_JSON)
    assert r.status_code == 400


async def test_invalid_content_points_at_the_element(client: httpx.AsyncClient) -> None:
    r = await client.post("Patient", json=patient(name=[{"family": 42}]), headers=FHIR_JSON)
    assert r.status_code == 400
    assert "Patient.name[0].family" in r.json()["issue"][0]["expression"]
    r = await client.post("Patient", json=patient(gender="robot"), headers=FHIR_JSON)
    assert r.status_code == 400
    assert r.json()["issue"][0]["expression"] == ["Patient.gender"]
    r = await client.post("Patient", json=patient(birthDate="2021-02-29"), headers=FHIR_JSON)
    assert r.status_code == 400
    r = await client.post("Patient", json=patient(colour="blue"), headers=FHIR_JSON)
    assert r.status_code == 400


async def test_empty_body_and_method_not_allowed(client: httpx.AsyncClient) -> None:
    r = await client.post("Patient", content=b"", headers=FHIR_JSON)
    assert r.status_code == 400
    r = await client.delete("metadata")
    assert r.status_code == 405


async def test_nothing_half_written_after_a_failed_update(client: httpx.AsyncClient) -> None:
    await client.put("Patient/k", json=patient(id="k"), headers=FHIR_JSON)
    r = await client.put("Patient/k", json=patient(id="k", gender="robot"), headers=FHIR_JSON)
    assert r.status_code == 400
    got = await client.get("Patient/k")
    assert got.json()["meta"]["versionId"] == "1"
