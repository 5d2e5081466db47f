"""Basic search per parameter type and the common parameters, over HTTP (search.html)."""

from __future__ import annotations

from typing import Any

import httpx

from .conftest import FHIR_JSON, patient


async def ids(
    client: httpx.AsyncClient, path: str, params: dict[str, str] | list[tuple[str, str]]
) -> set[str]:
    r = await client.get(path, params=params)
    assert r.status_code == 200, r.text
    return {e["resource"]["id"] for e in r.json().get("entry", []) if e["search"]["mode"] == "match"}


async def put(client: httpx.AsyncClient, body: dict[str, Any]) -> None:
    r = await client.put(f"{body['resourceType']}/{body['id']}", json=body, headers=FHIR_JSON)
    assert r.status_code in (200, 201), r.text


async def test_common_parameters(client: httpx.AsyncClient) -> None:
    tagged = patient(
        id="t1",
        meta={
            "tag": [{"system": "urn:scheme", "code": "pilot"}],
            "profile": ["http://example.org/StructureDefinition/insuree"],
            "security": [{"system": "urn:sec", "code": "R"}],
        },
    )
    await put(client, tagged)
    await put(client, patient(id="t2"))
    assert await ids(client, "Patient", {"_tag": "urn:scheme|pilot"}) == {"t1"}
    assert await ids(client, "Patient", {"_profile": "http://example.org/StructureDefinition/insuree"}) == {
        "t1"
    }
    assert await ids(client, "Patient", {"_security": "R"}) == {"t1"}
    assert await ids(client, "Patient", {"_id": "t1,t2"}) == {"t1", "t2"}
    stamp = (await client.get("Patient/t2")).json()["meta"]["lastUpdated"]
    assert await ids(client, "Patient", {"_lastUpdated": f"ge{stamp}"}) == {"t2"}
    assert await ids(client, "Patient", {"_lastUpdated": f"lt{stamp}"}) == {"t1"}
    # the tag survives a search result as stored (read back unchanged)
    assert (await client.get("Patient/t1")).json()["meta"]["tag"][0]["code"] == "pilot"


async def test_reference_forms_and_type_modifier(client: httpx.AsyncClient) -> None:
    await put(client, patient(id="p1"))
    await put(client, {"resourceType": "Group", "id": "p1", "type": "person", "actual": True})
    base = {"resourceType": "Coverage", "status": "active", "payor": [{"reference": "Organization/ins"}]}
    await put(client, {**base, "id": "c1", "beneficiary": {"reference": "Patient/p1"}})
    await put(client, {**base, "id": "c2", "beneficiary": {"reference": "http://testserver/fhir/Patient/p1"}})
    assert await ids(client, "Coverage", {"beneficiary": "Patient/p1"}) == {"c1", "c2"}
    assert await ids(client, "Coverage", {"beneficiary": "p1"}) == {"c1", "c2"}
    assert await ids(client, "Coverage", {"beneficiary:Patient": "p1"}) == {"c1", "c2"}
    assert await ids(client, "Coverage", {"beneficiary": "http://testserver/fhir/Patient/p1"}) == {"c1", "c2"}
    assert await ids(client, "Coverage", {"beneficiary:missing": "false"}) == {"c1", "c2"}
    assert await ids(client, "Coverage", {"beneficiary.gender": "male"}) == {"c1", "c2"}


async def test_number_quantity_uri_and_missing(client: httpx.AsyncClient) -> None:
    def obs(id: str, value: str, unit: str) -> bytes:
        return (
            f'{{"resourceType":"Observation","id":"{id}","status":"final","code":{{"text":"w"}},'
            f'"valueQuantity":{{"value":{value},"system":"http://unitsofmeasure.org","code":"{unit}"}}}}'
        ).encode()

    for id, value, unit in (("o1", "5.4", "mg"), ("o2", "100", "mg"), ("o3", "100.4", "kg")):
        r = await client.put(f"Observation/{id}", content=obs(id, value, unit), headers=FHIR_JSON)
        assert r.status_code == 201, r.text
    await client.put(
        "Observation/o4",
        json={"resourceType": "Observation", "id": "o4", "status": "final", "code": {"text": "w"}},
        headers=FHIR_JSON,
    )
    assert await ids(client, "Observation", {"value-quantity": "5.4|http://unitsofmeasure.org|mg"}) == {"o1"}
    assert await ids(client, "Observation", {"value-quantity": "100"}) == {"o2", "o3"}
    assert await ids(client, "Observation", {"value-quantity": "gt99||mg"}) == {"o2"}
    assert await ids(client, "Observation", {"value-quantity:missing": "true"}) == {"o4"}
    await put(
        client, {"resourceType": "ValueSet", "id": "v1", "status": "active", "url": "http://x.org/vs/a"}
    )
    assert await ids(client, "ValueSet", {"url": "http://x.org/vs/a"}) == {"v1"}
    assert await ids(client, "ValueSet", {"url:below": "http://x.org/vs"}) == {"v1"}
    await put(
        client,
        {
            "resourceType": "RiskAssessment",
            "id": "r1",
            "status": "final",
            "subject": {"reference": "Patient/p"},
            "prediction": [{"probabilityDecimal": 0.25}],
        },
    )
    assert await ids(client, "RiskAssessment", {"probability": "0.25"}) == {"r1"}
    assert await ids(client, "RiskAssessment", {"probability": "gt0.3"}) == set()
