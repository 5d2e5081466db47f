"""Synthea bundles (../shared/data/synthea): the two *Information* batch bundles first, then the
patient transactions, with every conditional reference resolved."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from ..conftest import require_shared

BASE = "http://testserver/fhir"
HEADERS = {"Content-Type": "application/fhir+json"}


def synthea() -> tuple[list[Path], list[Path]]:
    root = require_shared("synthea")
    info = sorted(root.glob("*Information*.json"), key=lambda p: not p.name.startswith("hospital"))
    patients = sorted(p for p in root.glob("*.json") if "Information" not in p.name)
    return info, patients


async def load_information(client: httpx.AsyncClient, info: list[Path]) -> None:
    for path in info:
        r = await client.post("", content=path.read_bytes(), headers=HEADERS)
        assert r.status_code == 200, r.text[:500]
        statuses = {e["response"]["status"][:3] for e in r.json()["entry"]}
        assert statuses <= {"200", "201"}, statuses


async def total(client: httpx.AsyncClient, rtype: str, **params: str) -> int:
    r = await client.get(rtype, params={**params, "_summary": "count"})
    return int(r.json()["total"])


@pytest.mark.slow
async def test_information_then_patient_transactions_load_with_references_resolved(
    client: httpx.AsyncClient,
) -> None:
    info, patients = synthea()
    await load_information(client, info)
    orgs = await total(client, "Organization")
    assert orgs > 0
    # the batch bundles carry ifNoneExist: loading them again creates nothing
    await load_information(client, info)
    assert await total(client, "Organization") == orgs
    expected = 0
    for path in patients:
        bundle = json.loads(path.read_bytes())
        expected += len(bundle["entry"])
        r = await client.post("", content=path.read_bytes(), headers=HEADERS)
        assert r.status_code == 200, (path.name, r.text[:500])
        assert all(e["response"]["status"].startswith("201") for e in r.json()["entry"])
    # every reference now points at a stored resource: no urn:uuid and no conditional reference is left
    page = (await client.get("Encounter", params={"_count": "200"})).json()
    for entry in page["entry"]:
        text = json.dumps(entry["resource"])
        assert "urn:uuid:" not in text
        assert "?identifier=" not in text
    enc = page["entry"][0]["resource"]
    for ref in (enc["subject"]["reference"], enc["serviceProvider"]["reference"]):
        assert (await client.get(ref)).status_code == 200, ref


def with_if_none_exist(bundle: dict[str, Any]) -> dict[str, Any]:
    """Tag every entry with its Synthea id (meta.tag) and make its POST conditional on that tag."""
    out = copy.deepcopy(bundle)
    for entry in out["entry"]:
        res = entry["resource"]
        meta = res.setdefault("meta", {})
        meta["tag"] = [*meta.get("tag", []), {"system": "urn:synthea:id", "code": res["id"]}]
        entry["request"]["ifNoneExist"] = f"_tag=urn:synthea:id|{res['id']}"
    return out


@pytest.mark.slow
async def test_same_transaction_twice_with_if_none_exist_creates_nothing_the_second_time(
    client: httpx.AsyncClient,
) -> None:
    info, patients = synthea()
    await load_information(client, info)
    bundle = with_if_none_exist(json.loads(patients[0].read_bytes()))
    first = await client.post("", json=bundle, headers=HEADERS)
    assert first.status_code == 200, first.text[:500]
    assert {e["response"]["status"][:3] for e in first.json()["entry"]} == {"201"}
    count = await total(client, "Observation") + await total(client, "Claim")
    second = await client.post("", json=bundle, headers=HEADERS)
    assert second.status_code == 200
    assert {e["response"]["status"][:3] for e in second.json()["entry"]} == {"200"}
    assert await total(client, "Observation") + await total(client, "Claim") == count
    locations = [e["response"]["location"] for e in first.json()["entry"]]
    assert locations == [e["response"]["location"] for e in second.json()["entry"]]


@pytest.mark.slow
async def test_transaction_with_one_bad_entry_changes_nothing(client: httpx.AsyncClient) -> None:
    info, patients = synthea()
    await load_information(client, info)
    bundle = json.loads(patients[0].read_bytes())
    bundle["entry"][-1]["resource"]["status"] = "not-a-status"
    r = await client.post("", json=bundle, headers=HEADERS)
    assert r.status_code == 400
    assert f"Bundle.entry[{len(bundle['entry']) - 1}]" in r.json()["issue"][0]["expression"][0]
    assert await total(client, "Patient") == 0
    assert await total(client, "Encounter") == 0


async def test_official_transaction_example(client: httpx.AsyncClient) -> None:
    """Bundle-bundle-transaction.json, with the resources its conditional entries expect.

    Its ``POST ValueSet/$lookup`` entry is left out: terminology operations arrive with the
    conformance issue, and an unknown operation must fail the whole transaction (checked too).
    """
    from ..conftest import require_r4_examples

    bundle = json.loads((require_r4_examples() / "Bundle-bundle-transaction.json").read_bytes())
    # preconditions: Patient/123a at version 2 (ifMatch W/"2"), Patient/12334 at version 4,
    # Patient/234 to delete, one patient with identifier 123456 (conditional delete)
    for _ in range(2):
        await client.put("Patient/123a", json={"resourceType": "Patient", "id": "123a"}, headers=HEADERS)
    for _ in range(4):  # version 4, so that its ifNoneMatch W/"4" answers 304
        await client.put("Patient/12334", json={"resourceType": "Patient", "id": "12334"}, headers=HEADERS)
    await client.put("Patient/234", json={"resourceType": "Patient", "id": "234"}, headers=HEADERS)
    await client.post(
        "Patient", json={"resourceType": "Patient", "identifier": [{"value": "123456"}]}, headers=HEADERS
    )
    failing = await client.post("", json=bundle, headers=HEADERS)
    assert failing.status_code == 404, failing.text[:300]
    assert failing.json()["issue"][0]["expression"] == ["Bundle.entry[7].request.url"]
    assert await total(client, "Patient") == 4
    bundle["entry"] = [e for e in bundle["entry"] if "$" not in e["request"]["url"]]
    r = await client.post("", json=bundle, headers=HEADERS)
    assert r.status_code == 200, r.text[:800]
    statuses = [e["response"]["status"][:3] for e in r.json()["entry"]]
    # POST, POST ifNoneExist, PUT, conditional PUT, PUT ifMatch, DELETE, conditional DELETE, GET search,
    # GET ifNoneMatch
    assert statuses == ["201", "201", "201", "201", "200", "200", "200", "200", "304"]
    assert (await client.get("Patient/234")).status_code == 410
    assert (await client.get("Patient/123a")).json()["meta"]["versionId"] == "3"
    found = (await client.get("Patient", params={"identifier": "http:/example.org/fhir/ids|456456"})).json()
    assert len(found["entry"]) == 1
