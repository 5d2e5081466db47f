"""``_contained`` / ``_containedType`` over HTTP (search.html, Contained Resources): the
containers, or the contained resources with a ``fullUrl`` through their container
(``[base]/MedicationRequest/23#m1``); bad values and unsupported combinations refused."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from .conftest import BASE, FHIR_JSON

ORDER: dict[str, Any] = {
    "resourceType": "MedicationRequest",
    "id": "23",
    "contained": [
        {
            "resourceType": "Medication",
            "id": "m1",
            "code": {"coding": [{"system": "http://acme.org/medications", "code": "abc"}]},
        }
    ],
    "status": "active",
    "intent": "order",
    "medicationReference": {"reference": "#m1"},
    "subject": {"reference": "Patient/p1"},
}
MEDICATION = {
    "resourceType": "Medication",
    "id": "own",
    "code": {"coding": [{"system": "http://acme.org/medications", "code": "abc"}]},
}


async def seed(client: httpx.AsyncClient) -> None:
    for body in (ORDER, MEDICATION):
        r = await client.put(f"{body['resourceType']}/{body['id']}", json=body, headers=FHIR_JSON)
        assert r.status_code == 201, r.text


async def entries(client: httpx.AsyncClient, params: list[tuple[str, str]]) -> list[tuple[str, str]]:
    r = await client.get("Medication", params=params)
    assert r.status_code == 200, r.text
    return sorted((e["fullUrl"], e["resource"]["resourceType"]) for e in r.json().get("entry", []))


async def test_contained_modes(client: httpx.AsyncClient) -> None:
    await seed(client)
    code = ("code", "http://acme.org/medications|abc")
    assert await entries(client, [code]) == [(f"{BASE}/Medication/own", "Medication")]
    assert await entries(client, [code, ("_contained", "false")]) == [
        (f"{BASE}/Medication/own", "Medication")
    ]
    assert await entries(client, [code, ("_contained", "true")]) == [
        (f"{BASE}/MedicationRequest/23", "MedicationRequest")
    ]
    assert await entries(client, [code, ("_contained", "true"), ("_containedType", "contained")]) == [
        (f"{BASE}/MedicationRequest/23#m1", "Medication")
    ]
    assert await entries(client, [code, ("_contained", "both"), ("_containedType", "contained")]) == [
        (f"{BASE}/Medication/own", "Medication"),
        (f"{BASE}/MedicationRequest/23#m1", "Medication"),
    ]
    assert await entries(client, [code, ("_contained", "both")]) == [
        (f"{BASE}/Medication/own", "Medication"),
        (f"{BASE}/MedicationRequest/23", "MedicationRequest"),
    ]
    r = await client.get("Medication", params=[("_contained", "true"), ("_containedType", "contained")])
    (entry,) = r.json()["entry"]
    assert entry["resource"] == ORDER["contained"][0] and entry["search"]["mode"] == "match"
    # the contained index follows the container: updated away, it is gone
    changed = {**ORDER, "contained": [{**ORDER["contained"][0], "code": {"text": "other"}}]}
    assert (await client.put("MedicationRequest/23", json=changed, headers=FHIR_JSON)).status_code == 200
    assert await entries(client, [code, ("_contained", "true")]) == []
    assert (await client.delete("MedicationRequest/23")).status_code == 200
    assert await entries(client, [("_contained", "true")]) == []


@pytest.mark.parametrize(
    "params,name",
    [
        ([("_contained", "yes")], "_contained"),
        ([("_contained", "true"), ("_containedType", "inside")], "_containedType"),
        ([("_contained", "true"), ("_sort", "code")], "_contained"),
        ([("_contained", "true"), ("_include", "Medication:manufacturer")], "_contained"),
        ([("_contained", "true"), ("manufacturer.name", "x")], "_contained"),
        ([("_contained", "both"), ("_has:MedicationRequest:medication:status", "active")], "_contained"),
    ],
)
async def test_bad_values_and_unsupported_combinations_are_refused(
    client: httpx.AsyncClient, params: list[tuple[str, str]], name: str
) -> None:
    r = await client.get("Medication", params=params)
    assert r.status_code == 400, r.text
    (issue,) = r.json()["issue"]
    assert issue["expression"] == [name]
    assert issue["code"] in ("value", "not-supported")


async def test_system_search_and_compartment_refused(client: httpx.AsyncClient) -> None:
    r = await client.get("", params=[("_contained", "true")])
    assert r.status_code == 400 and r.json()["issue"][0]["code"] == "not-supported"
    r = await client.get("Patient/p1/MedicationRequest", params=[("_contained", "true")])
    assert r.status_code == 400, r.text
    r = await client.get("Medication", params=[("_contained", "true"), ("_list", "42")])
    assert r.status_code == 400, r.text
