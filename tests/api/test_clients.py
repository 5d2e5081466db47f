"""The running server driven by real FHIR clients: fhirpy (async and sync) and fhirclient (SMART)."""

from __future__ import annotations

import httpx
import pytest
from fhirclient import client as smart_client
from fhirclient.models.bundle import Bundle as SmartBundle
from fhirclient.models.bundle import BundleEntry, BundleEntryRequest
from fhirclient.models.humanname import HumanName
from fhirclient.models.patient import Patient as SmartPatient
from fhirpy import AsyncFHIRClient, SyncFHIRClient
from fhirpy.base.exceptions import ResourceNotFound


async def test_fhirpy_create_read_update_search_history_delete(live_server: str) -> None:
    fc = AsyncFHIRClient(live_server, extra_headers={"Accept": "application/fhir+json"})
    pat = fc.resource("Patient", name=[{"family": "Fhirpy", "given": ["Ada"]}], gender="female")
    await pat.save()
    assert pat.id and pat["meta"]["versionId"] == "1"
    got = await fc.reference("Patient", pat.id).to_resource()
    assert got["name"][0]["family"] == "Fhirpy"
    got["birthDate"] = "1990-01-02"
    await got.save()
    assert got["meta"]["versionId"] == "2"
    found = await fc.resources("Patient").search(family="fhirpy", birthdate="1990-01-02").fetch_all()
    assert [p.id for p in found] == [pat.id]
    assert await fc.resources("Patient").search(family="fhirpy").count() == 1
    hist = await fc.execute(f"Patient/{pat.id}/_history", method="get")
    assert [e["resource"]["meta"]["versionId"] for e in hist["entry"]] == ["2", "1"]
    await got.delete()
    with pytest.raises(ResourceNotFound):
        await fc.reference("Patient", pat.id).to_resource()


def test_fhirpy_sync_transaction(live_server: str) -> None:
    fc = SyncFHIRClient(live_server)
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": "urn:uuid:aaaaaaaa-0000-0000-0000-000000000001",
                "resource": {"resourceType": "Organization", "name": "Scheme"},
                "request": {"method": "POST", "url": "Organization"},
            },
            {
                "resource": {
                    "resourceType": "Patient",
                    "managingOrganization": {"reference": "urn:uuid:aaaaaaaa-0000-0000-0000-000000000001"},
                },
                "request": {"method": "POST", "url": "Patient"},
            },
        ],
    }
    out = fc.execute("", method="post", data=bundle)
    assert out["type"] == "transaction-response"
    org_ref = out["entry"][0]["response"]["location"].split("/_history")[0]
    patients = fc.resources("Patient").search(organization=org_ref).fetch_all()
    assert len(patients) == 1


def test_fhirclient_create_read_update_search_delete(live_server: str) -> None:
    smart = smart_client.FHIRClient(settings={"app_id": "tests", "api_base": live_server + "/"})
    server = smart.server
    p = SmartPatient({"gender": "male"})
    name = HumanName()
    name.family = "Smartclient"
    name.given = ["Bob"]
    p.name = [name]
    created = p.create(server)
    assert created is not None
    pid = created["id"]
    read = SmartPatient.read(pid, server)
    assert read.name[0].family == "Smartclient"
    read.birthDate = None
    read.gender = "other"
    read.update(server)
    again = SmartPatient.read(pid, server)
    assert again.gender == "other"
    assert again.meta.versionId == "2"
    results = SmartPatient.where(struct={"family": "Smartclient"}).perform_resources(server)
    assert [r.id for r in results] == [pid]
    history = SmartBundle(server.request_json(f"Patient/{pid}/_history"))
    assert history.type == "history"
    assert [e.resource.meta.versionId for e in history.entry] == ["2", "1"]
    again.delete()
    assert httpx.get(f"{live_server}/Patient/{pid}").status_code == 410


def test_fhirclient_transaction(live_server: str) -> None:
    smart = smart_client.FHIRClient(settings={"app_id": "tests", "api_base": live_server + "/"})
    entry = BundleEntry()
    entry.resource = SmartPatient({"gender": "female"})
    entry.request = BundleEntryRequest({"method": "POST", "url": "Patient"})
    bundle = SmartBundle({"type": "transaction"})
    bundle.entry = [entry]
    response = smart.server.post_json("", bundle.as_json())
    out = SmartBundle(response.json())
    assert out.type == "transaction-response"
    assert out.entry[0].response.status.startswith("201")
