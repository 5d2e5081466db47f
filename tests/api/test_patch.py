"""PATCH with JSON Patch and FHIRPath Patch (http.html#patch)."""

from __future__ import annotations

import httpx

from .conftest import FHIR_JSON, patient


async def test_json_patch(client: httpx.AsyncClient) -> None:
    await client.put("Patient/p", json=patient(id="p"), headers=FHIR_JSON)
    ops = [{"op": "replace", "path": "/gender", "value": "female"}]
    r = await client.patch("Patient/p", json=ops, headers={"Content-Type": "application/json-patch+json"})
    assert r.status_code == 200, r.text
    assert r.json()["gender"] == "female"
    assert r.json()["meta"]["versionId"] == "2"


async def test_json_patch_producing_invalid_resource_is_refused(client: httpx.AsyncClient) -> None:
    await client.put("Patient/p", json=patient(id="p"), headers=FHIR_JSON)
    ops = [{"op": "replace", "path": "/gender", "value": "robot"}]
    r = await client.patch("Patient/p", json=ops, headers={"Content-Type": "application/json-patch+json"})
    assert r.status_code == 400
    assert (await client.get("Patient/p")).json()["meta"]["versionId"] == "1"


async def test_fhirpath_patch(client: httpx.AsyncClient) -> None:
    await client.put("Patient/p", json=patient(id="p"), headers=FHIR_JSON)
    params = {
        "resourceType": "Parameters",
        "parameter": [
            {
                "name": "operation",
                "part": [
                    {"name": "type", "valueCode": "replace"},
                    {"name": "path", "valueString": "Patient.birthDate"},
                    {"name": "value", "valueDate": "1980-01-01"},
                ],
            }
        ],
    }
    r = await client.patch("Patient/p", json=params, headers=FHIR_JSON)
    assert r.status_code == 200, r.text
    assert r.json()["birthDate"] == "1980-01-01"


async def test_patch_with_if_match_and_missing_resource(client: httpx.AsyncClient) -> None:
    await client.put("Patient/p", json=patient(id="p"), headers=FHIR_JSON)
    ops = [{"op": "replace", "path": "/gender", "value": "female"}]
    headers = {"Content-Type": "application/json-patch+json", "If-Match": 'W/"5"'}
    assert (await client.patch("Patient/p", json=ops, headers=headers)).status_code == 412
    headers = {"Content-Type": "application/json-patch+json"}
    assert (await client.patch("Patient/none", json=ops, headers=headers)).status_code == 404
