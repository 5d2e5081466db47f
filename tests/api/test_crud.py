"""read, vread, create, update, delete over HTTP (http.html#read, #vread, #create, #update, #delete)."""

from __future__ import annotations

import asyncio
import re

import httpx

from .conftest import FHIR_JSON, issue_codes, patient


async def test_create_assigns_id_and_meta_and_returns_location(client: httpx.AsyncClient) -> None:
    r = await client.post("Patient", json=patient(id="ignored"), headers=FHIR_JSON)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["id"] != "ignored"
    assert body["meta"]["versionId"] == "1"
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z$", body["meta"]["lastUpdated"])
    assert r.headers["ETag"] == 'W/"1"'
    assert r.headers["Location"] == f"http://testserver/fhir/Patient/{body['id']}/_history/1"
    assert "Last-Modified" in r.headers
    assert r.headers["content-type"].startswith("application/fhir+json")


async def test_read_serves_stored_text_with_exact_decimals(client: httpx.AsyncClient) -> None:
    obs = (
        b'{"resourceType":"Observation","status":"final","code":{"text":"w"},'
        b'"valueQuantity":{"value":1.50,"unit":"kg"}}'
    )
    r = await client.post("Observation", content=obs, headers=FHIR_JSON)
    assert r.status_code == 201, r.text
    rid = r.json()["id"]
    got = await client.get(f"Observation/{rid}")
    assert got.status_code == 200
    assert b'"value":1.50' in got.content
    assert got.headers["ETag"] == 'W/"1"'


async def test_update_as_create_then_update_bumps_version(client: httpx.AsyncClient) -> None:
    r = await client.put("Patient/abc-1", json=patient(id="abc-1"), headers=FHIR_JSON)
    assert r.status_code == 201
    assert r.headers["Location"].endswith("/Patient/abc-1/_history/1")
    r = await client.put("Patient/abc-1", json=patient("Other", id="abc-1"), headers=FHIR_JSON)
    assert r.status_code == 200
    assert r.json()["meta"]["versionId"] == "2"
    v1 = await client.get("Patient/abc-1/_history/1")
    assert v1.json()["name"][0]["family"] == "Chalmers"
    v2 = await client.get("Patient/abc-1/_history/2")
    assert v2.json()["name"][0]["family"] == "Other"


async def test_update_id_mismatch_is_400(client: httpx.AsyncClient) -> None:
    r = await client.put("Patient/a", json=patient(id="b"), headers=FHIR_JSON)
    assert r.status_code == 400
    assert r.json()["issue"][0]["expression"] == ["id"]
    r = await client.put("Patient/a", json=patient(), headers=FHIR_JSON)
    assert r.status_code == 400


async def test_if_match_mismatch_is_412_and_match_succeeds(client: httpx.AsyncClient) -> None:
    await client.put("Patient/m", json=patient(id="m"), headers=FHIR_JSON)
    r = await client.put("Patient/m", json=patient(id="m"), headers={**FHIR_JSON, "If-Match": 'W/"7"'})
    assert r.status_code == 412
    assert issue_codes(r.json()) == ["conflict"]
    r = await client.put("Patient/m", json=patient(id="m"), headers={**FHIR_JSON, "If-Match": 'W/"1"'})
    assert r.status_code == 200
    assert r.headers["ETag"] == 'W/"2"'


async def test_concurrent_updates_with_same_if_match_exactly_one_wins(client: httpx.AsyncClient) -> None:
    await client.put("Patient/c", json=patient(id="c"), headers=FHIR_JSON)

    async def put(i: int) -> int:
        body = patient(f"N{i}", id="c")
        r = await client.put("Patient/c", json=body, headers={**FHIR_JSON, "If-Match": 'W/"1"'})
        return r.status_code

    statuses = await asyncio.gather(*(put(i) for i in range(8)))
    assert sorted(statuses) == [200] + [412] * 7


async def test_concurrent_updates_without_if_match_lose_nothing(client: httpx.AsyncClient) -> None:
    await client.put("Patient/d", json=patient(id="d"), headers=FHIR_JSON)
    statuses = await asyncio.gather(
        *(client.put("Patient/d", json=patient(f"N{i}", id="d"), headers=FHIR_JSON) for i in range(10))
    )
    assert all(r.status_code == 200 for r in statuses)
    versions = sorted(int(r.headers["ETag"][3:-1]) for r in statuses)
    assert versions == list(range(2, 12))
    hist = (await client.get("Patient/d/_history")).json()
    assert hist["total"] == 11


async def test_delete_then_read_is_410_and_history_keeps_versions(client: httpx.AsyncClient) -> None:
    await client.put("Patient/x", json=patient(id="x"), headers=FHIR_JSON)
    r = await client.delete("Patient/x")
    assert r.status_code == 200
    assert r.headers["ETag"] == 'W/"2"'
    r = await client.get("Patient/x")
    assert r.status_code == 410
    assert issue_codes(r.json()) == ["deleted"]
    assert (await client.get("Patient/x/_history/1")).status_code == 200
    assert (await client.get("Patient/x/_history/2")).status_code == 410
    # deleting again changes nothing
    r = await client.delete("Patient/x")
    assert r.status_code == 200
    hist = (await client.get("Patient/x/_history")).json()
    assert [e["request"]["method"] for e in hist["entry"]] == ["DELETE", "PUT"]
    # re-create after delete continues the version sequence
    r = await client.put("Patient/x", json=patient(id="x"), headers=FHIR_JSON)
    assert r.status_code == 201
    assert r.json()["meta"]["versionId"] == "3"


async def test_read_unknown_is_404_and_unknown_type_is_404(client: httpx.AsyncClient) -> None:
    r = await client.get("Patient/nope")
    assert r.status_code == 404
    assert issue_codes(r.json()) == ["not-found"]
    r = await client.get("Patientx/1")
    assert r.status_code == 404
    assert issue_codes(r.json()) == ["not-supported"]


async def test_prefer_return_minimal_and_operation_outcome(client: httpx.AsyncClient) -> None:
    r = await client.post("Patient", json=patient(), headers={**FHIR_JSON, "Prefer": "return=minimal"})
    assert r.status_code == 201
    assert r.content == b""
    assert "Location" in r.headers
    r = await client.post(
        "Patient", json=patient(), headers={**FHIR_JSON, "Prefer": "return=OperationOutcome"}
    )
    assert r.status_code == 201
    assert r.json()["resourceType"] == "OperationOutcome"


async def test_summary_and_elements_on_read(client: httpx.AsyncClient) -> None:
    body = patient(text={"status": "generated", "div": '<div xmlns="http://www.w3.org/1999/xhtml">x</div>'})
    body["maritalStatus"] = {"text": "married"}
    rid = (await client.post("Patient", json=body, headers=FHIR_JSON)).json()["id"]
    s = (await client.get(f"Patient/{rid}", params={"_summary": "true"})).json()
    assert "name" in s and "maritalStatus" not in s and "text" not in s
    assert any(t["code"] == "SUBSETTED" for t in s["meta"]["tag"])
    e = (await client.get(f"Patient/{rid}", params={"_elements": "birthDate"})).json()
    assert set(e) == {"resourceType", "id", "meta", "birthDate"}
    d = (await client.get(f"Patient/{rid}", params={"_summary": "data"})).json()
    assert "text" not in d and "maritalStatus" in d
    bad = await client.get(f"Patient/{rid}", params={"_summary": "maybe"})
    assert bad.status_code == 400


async def test_pretty_and_format(client: httpx.AsyncClient) -> None:
    rid = (await client.post("Patient", json=patient(), headers=FHIR_JSON)).json()["id"]
    r = await client.get(f"Patient/{rid}", params={"_pretty": "true"})
    assert b"\n  " in r.content
    r = await client.get(f"Patient/{rid}", params={"_format": "json"})
    assert r.status_code == 200
    r = await client.get(f"Patient/{rid}", params={"_format": "xml"})
    assert r.status_code == 406
    r = await client.get(f"Patient/{rid}", headers={"Accept": "application/json"})
    assert r.headers["content-type"].startswith("application/json")


async def test_conditional_read_gives_304(client: httpx.AsyncClient) -> None:
    rid = (await client.post("Patient", json=patient(), headers=FHIR_JSON)).json()["id"]
    r = await client.get(f"Patient/{rid}", headers={"If-None-Match": 'W/"1"'})
    assert r.status_code == 304
    assert (await client.get(f"Patient/{rid}", headers={"If-None-Match": 'W/"2"'})).status_code == 200
    last_modified = r.headers["Last-Modified"]
    since = await client.get(f"Patient/{rid}", headers={"If-Modified-Since": last_modified})
    assert since.status_code == 304
    old = "Mon, 01 Jan 2001 00:00:00 GMT"
    assert (await client.get(f"Patient/{rid}", headers={"If-Modified-Since": old})).status_code == 200
    assert (await client.get(f"Patient/{rid}", headers={"If-Modified-Since": "garbage"})).status_code == 200
