"""The HTTP app on the MongoDB backend (mongomock-motor here; a real server with FHIR_TEST_MONGODB_URI)."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from fhir_server.app import create_app
from fhir_server.config import Settings
from fhir_server.storage.mongo.store import MongoStore

from .conftest import BASE, FHIR_JSON, patient
from .include_data import keys, searchset, seed


def mongo_store() -> MongoStore:
    uri = os.environ.get("FHIR_TEST_MONGODB_URI")
    if uri:
        return MongoStore(uri, database=f"fhir_api_{uuid.uuid4().hex[:8]}", drop_on_close=True)
    from mongomock_motor import AsyncMongoMockClient

    return MongoStore.from_client(AsyncMongoMockClient(), database="fhir_api")


@pytest.fixture
async def mclient() -> AsyncIterator[httpx.AsyncClient]:
    store = mongo_store()
    app = create_app(Settings(store="mongodb://unused", base_url=BASE), store=store)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE + "/")
    async with app.router.lifespan_context(app), client as c:
        yield c


async def test_crud_history_and_search_on_mongo(mclient: httpx.AsyncClient) -> None:
    r = await mclient.post(
        "Patient", json=patient(identifier=[{"system": "urn:ins", "value": "9"}]), headers=FHIR_JSON
    )
    assert r.status_code == 201, r.text
    rid = r.json()["id"]
    r = await mclient.put(f"Patient/{rid}", json=patient("Renamed", id=rid), headers=FHIR_JSON)
    assert r.status_code == 200 and r.headers["ETag"] == 'W/"2"'
    hist = (await mclient.get(f"Patient/{rid}/_history")).json()
    assert [e["resource"]["meta"]["versionId"] for e in hist["entry"]] == ["2", "1"]
    found = (await mclient.get("Patient", params={"name": "renamed"})).json()
    assert [e["resource"]["id"] for e in found["entry"]] == [rid]
    assert (await mclient.delete(f"Patient/{rid}")).status_code == 200
    assert (await mclient.get(f"Patient/{rid}")).status_code == 410


async def test_conditional_create_on_mongo(mclient: httpx.AsyncClient) -> None:
    headers = {**FHIR_JSON, "If-None-Exist": "identifier=urn:ins|1"}
    body = patient(identifier=[{"system": "urn:ins", "value": "1"}])
    first = await mclient.post("Patient", json=body, headers=headers)
    second = await mclient.post("Patient", json=body, headers=headers)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]


async def test_transaction_needing_atomicity_is_refused_without_a_replica_set(
    mclient: httpx.AsyncClient,
) -> None:
    if os.environ.get("FHIR_TEST_MONGODB_URI"):
        pytest.skip("a real server may be a replica set, where transactions run")
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"resource": patient("A"), "request": {"method": "POST", "url": "Patient"}},
            {"resource": patient("B"), "request": {"method": "POST", "url": "Patient"}},
        ],
    }
    r = await mclient.post("", json=bundle, headers=FHIR_JSON)
    assert r.status_code == 400
    assert r.json()["issue"][0]["code"] == "not-supported"
    assert "replica set" in r.json()["issue"][0]["diagnostics"]
    assert (await mclient.get("Patient", params={"_summary": "count"})).json()["total"] == 0
    # a batch is fine: each entry is its own unit
    bundle["type"] = "batch"
    r = await mclient.post("", json=bundle, headers=FHIR_JSON)
    assert [e["response"]["status"][:3] for e in r.json()["entry"]] == ["201", "201"]
    meta = (await mclient.get("metadata")).json()
    assert {"code": "transaction"} not in meta["rest"][0]["interaction"]


async def test_search_include_and_revinclude_on_mongo(mclient: httpx.AsyncClient) -> None:
    """search.html#include on MongoDB: forward (deduplicated, typed target) and reverse."""
    await seed(mclient)
    body = await searchset(mclient, "Claim?_include=Claim:patient&_include=Claim:provider")
    assert keys(body, "match") == ["Claim/c1", "Claim/c2", "Claim/c3"]
    assert keys(body, "include") == ["Organization/kbh", "Patient/p1", "Patient/p2", "Practitioner/dr1"]
    body = await searchset(mclient, "Coverage?_id=cov2&_include=Coverage:payor:Organization")
    assert keys(body, "include") == ["Organization/nhif"]
    body = await searchset(mclient, "Patient?_id=p1&_revinclude=Coverage:beneficiary")
    assert keys(body, "include") == ["Coverage/cov1"]
    body = await searchset(mclient, "Claim?patient=Patient/p1&_revinclude=Provenance:target")
    assert keys(body, "include") == ["Provenance/prov1"]


async def test_search_include_iterate_paging_and_deleted_on_mongo(mclient: httpx.AsyncClient) -> None:
    """search.html#include on MongoDB: :iterate, per-page includes, deleted targets left out."""
    await seed(mclient)
    q = "ClaimResponse?_include=ClaimResponse:request&_include:iterate=Claim:provider"
    assert keys(await searchset(mclient, q), "include") == ["Claim/c1", "Organization/kbh"]
    first = await searchset(mclient, "Claim?_sort=_id&_count=2&_include=Claim:patient")
    assert keys(first, "include") == ["Patient/p1"]
    next_url = next(link["url"] for link in first["link"] if link["relation"] == "next")
    assert keys(await searchset(mclient, next_url), "include") == ["Patient/p2"]
    assert (await mclient.delete("Patient/p2")).status_code in (200, 204)
    assert keys(await searchset(mclient, "Claim?_id=c3&_include=Claim:*"), "include") == [
        "Organization/kbh",
        "Organization/nhif",
    ]
