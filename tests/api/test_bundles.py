"""batch and transaction Bundles (http.html#transaction)."""

from __future__ import annotations

from typing import Any

import httpx

from .conftest import FHIR_JSON, patient


def tx(entries: list[dict[str, Any]], kind: str = "transaction") -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": kind, "entry": entries}


ORG = {"resourceType": "Organization", "name": "Insurer", "identifier": [{"system": "urn:org", "value": "1"}]}


async def test_transaction_resolves_urn_uuid_references(client: httpx.AsyncClient) -> None:
    bundle = tx(
        [
            {
                "fullUrl": "urn:uuid:11111111-1111-1111-1111-111111111111",
                "resource": patient(),
                "request": {"method": "POST", "url": "Patient"},
            },
            {
                "fullUrl": "urn:uuid:22222222-2222-2222-2222-222222222222",
                "resource": {
                    "resourceType": "Coverage",
                    "status": "active",
                    "beneficiary": {"reference": "urn:uuid:11111111-1111-1111-1111-111111111111"},
                    "payor": [{"reference": "Organization?identifier=urn:org|1"}],
                },
                "request": {"method": "POST", "url": "Coverage"},
            },
        ]
    )
    await client.post("Organization", json=ORG, headers=FHIR_JSON)
    r = await client.post("", json=bundle, headers=FHIR_JSON)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["type"] == "transaction-response"
    assert [e["response"]["status"] for e in out["entry"]] == ["201 Created", "201 Created"]
    patient_loc = out["entry"][0]["response"]["location"]
    cov_loc = out["entry"][1]["response"]["location"]
    cov = (await client.get(cov_loc.rsplit("/_history", 1)[0])).json()
    assert cov["beneficiary"]["reference"] == patient_loc.rsplit("/_history", 1)[0]
    assert cov["payor"][0]["reference"].startswith("Organization/")


async def test_transaction_with_one_bad_entry_changes_nothing(client: httpx.AsyncClient) -> None:
    bundle = tx(
        [
            {"resource": patient("Good"), "request": {"method": "POST", "url": "Patient"}},
            {"resource": patient(gender="robot"), "request": {"method": "POST", "url": "Patient"}},
        ]
    )
    r = await client.post("", json=bundle, headers=FHIR_JSON)
    assert r.status_code == 400
    assert r.json()["issue"][0]["expression"][0].startswith("Bundle.entry[1].resource")
    b = (await client.get("Patient", params={"_total": "accurate"})).json()
    assert b["total"] == 0


async def test_transaction_rolls_back_when_a_late_entry_fails(client: httpx.AsyncClient) -> None:
    await client.put("Patient/v", json=patient(id="v"), headers=FHIR_JSON)
    bundle = tx(
        [
            {"resource": patient("New"), "request": {"method": "POST", "url": "Patient"}},
            {
                "resource": patient("Upd", id="v"),
                "request": {"method": "PUT", "url": "Patient/v", "ifMatch": 'W/"9"'},
            },
        ]
    )
    r = await client.post("", json=bundle, headers=FHIR_JSON)
    assert r.status_code == 412
    b = (await client.get("Patient", params={"_total": "accurate"})).json()
    assert b["total"] == 1
    assert (await client.get("Patient/v")).json()["meta"]["versionId"] == "1"


async def test_transaction_if_none_exist_twice_creates_once(client: httpx.AsyncClient) -> None:
    entry = {
        "fullUrl": "urn:uuid:33333333-3333-3333-3333-333333333333",
        "resource": ORG,
        "request": {"method": "POST", "url": "Organization", "ifNoneExist": "identifier=urn:org|1"},
    }
    r1 = await client.post("", json=tx([entry]), headers=FHIR_JSON)
    r2 = await client.post("", json=tx([entry]), headers=FHIR_JSON)
    assert r1.json()["entry"][0]["response"]["status"] == "201 Created"
    assert r2.json()["entry"][0]["response"]["status"] == "200 OK"
    b = (await client.get("Organization", params={"_total": "accurate"})).json()
    assert b["total"] == 1


async def test_transaction_processing_order_delete_post_put_get(client: httpx.AsyncClient) -> None:
    await client.put("Patient/del", json=patient(id="del"), headers=FHIR_JSON)
    bundle = tx(
        [
            {"request": {"method": "GET", "url": "Patient?_id=del"}},
            {"resource": patient(id="put1"), "request": {"method": "PUT", "url": "Patient/put1"}},
            {"resource": patient(), "request": {"method": "POST", "url": "Patient"}},
            {"request": {"method": "DELETE", "url": "Patient/del"}},
        ]
    )
    r = await client.post("", json=bundle, headers=FHIR_JSON)
    assert r.status_code == 200, r.text
    out = r.json()["entry"]
    assert [e["response"]["status"][:3] for e in out] == ["200", "201", "201", "200"]
    # GET ran last: it no longer sees the deleted patient
    assert out[0]["resource"].get("total", len(out[0]["resource"].get("entry", []))) == 0


async def test_batch_entries_are_independent(client: httpx.AsyncClient) -> None:
    bundle = tx(
        [
            {"resource": patient("A"), "request": {"method": "POST", "url": "Patient"}},
            {"resource": patient(gender="robot"), "request": {"method": "POST", "url": "Patient"}},
            {"request": {"method": "GET", "url": "Patient/missing"}},
            {"resource": patient("B"), "request": {"method": "POST", "url": "Patient"}},
        ],
        kind="batch",
    )
    r = await client.post("", json=bundle, headers=FHIR_JSON)
    assert r.status_code == 200
    out = r.json()
    assert out["type"] == "batch-response"
    statuses = [e["response"]["status"][:3] for e in out["entry"]]
    assert statuses == ["201", "400", "404", "201"]
    assert out["entry"][1]["response"]["outcome"]["resourceType"] == "OperationOutcome"


async def test_post_base_with_trailing_slash_and_bad_bundles(client: httpx.AsyncClient) -> None:
    r = await client.post("http://testserver/fhir/", json=tx([]), headers=FHIR_JSON)
    assert r.status_code == 200
    r = await client.post("", json={"resourceType": "Bundle", "type": "collection"}, headers=FHIR_JSON)
    assert r.status_code == 400
    r = await client.post("", json=tx([{"resource": patient()}]), headers=FHIR_JSON)
    assert r.status_code == 400
