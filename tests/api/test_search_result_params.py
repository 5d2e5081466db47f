"""Search result parameters over HTTP: multi-key ``_sort``, ``_total``, ``_list``, ``_explain``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from fhir_server.app import create_app
from fhir_server.config import Settings
from fhir_server.storage.mongo import store as mongo_module
from fhir_server.storage.sqlite import store as sqlite_store

from .conftest import BASE, FHIR_JSON, make_settings, patient
from .test_mongo_backend import mongo_store


@pytest.fixture(params=["sqlite", "mongo"])
async def client(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """The app on each backend (overrides the SQLite-only ``client`` of conftest)."""
    if request.param == "sqlite":
        app = create_app(make_settings(tmp_path))
    else:
        app = create_app(Settings(store="mongodb://unused", base_url=BASE), store=mongo_store())
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url=BASE + "/") as c,
    ):
        yield c


PEOPLE = [
    ("p1", "Smith", "male", "1970-01-01"),
    ("p2", "Smythe", "female", "1980-05-05"),
    ("p3", "Jones", "male", "1990-09-09"),
    ("p4", "Brown", "female", "1960-02-02"),
    ("p5", "Adams", "male", "1970-01-01"),
]


async def _seed(client: httpx.AsyncClient) -> None:
    for id, family, gender, bd in PEOPLE:
        body = patient(family, id=id, gender=gender, birthDate=bd)
        r = await client.put(f"Patient/{id}", json=body, headers=FHIR_JSON)
        assert r.status_code == 201


async def _all(client: httpx.AsyncClient, url: str, params: dict[str, str]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    b = (await client.get(url, params=params)).json()
    while True:
        out += [e["resource"] for e in b.get("entry", []) if e["search"]["mode"] == "match"]
        nxt = [link["url"] for link in b["link"] if link["relation"] == "next"]
        if not nxt:
            return out
        b = (await client.get(nxt[0])).json()


async def test_sort_on_several_parameters_pages_in_order(client: httpx.AsyncClient) -> None:
    await _seed(client)
    for count in ("1", "2", "10"):
        got = await _all(client, "Patient", {"_sort": "gender,-birthdate,family", "_count": count})
        assert [r["id"] for r in got] == ["p2", "p4", "p3", "p5", "p1"]
    got = await _all(client, "Patient", {"_sort": "-gender,birthdate,-family", "_count": "2"})
    assert [r["id"] for r in got] == ["p1", "p5", "p3", "p4", "p2"]


async def test_total_estimate_and_its_bound(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _seed(client)
    b = (await client.get("Patient", params={"_total": "estimate", "gender": "male"})).json()
    assert b["total"] == 3
    assert "total" not in (await client.get("Patient")).json()
    monkeypatch.setattr(sqlite_store, "ESTIMATE_BOUND", 2)
    monkeypatch.setattr(mongo_module, "ESTIMATE_BOUND", 2)
    b = (await client.get("Patient", params={"_total": "estimate", "_count": "1"})).json()
    assert b["total"] == 2
    issues = [e["resource"]["issue"] for e in b["entry"] if e["search"]["mode"] == "outcome"]
    assert issues and "at least 2" in issues[0][0]["diagnostics"]
    assert (await client.get("Patient", params={"_total": "accurate"})).json()["total"] == 5


def _list(id: str, *refs: str, deleted: tuple[str, ...] = ()) -> dict[str, Any]:
    entries: list[dict[str, Any]] = [{"item": {"reference": r}} for r in refs]
    entries += [{"item": {"reference": r}, "deleted": True} for r in deleted]
    # lst-2: "The deleted flag can only be used if the mode of the list is 'changes'"
    mode = "changes" if deleted else "working"
    return {"resourceType": "List", "id": id, "status": "current", "mode": mode, "entry": entries}


async def test_list_restricts_the_search_to_the_list_items(client: httpx.AsyncClient) -> None:
    await _seed(client)
    body = _list(
        "42",
        "Patient/p1",
        f"{BASE}/Patient/p3",
        "Patient/p4/_history/1",
        "Group/p2",
        "Patient/nobody",
        deleted=("Patient/p5",),
    )
    assert (await client.put("List/42", json=body, headers=FHIR_JSON)).status_code == 201
    await client.put("List/43", json=_list("43", "Patient/p2", "Patient/p3"), headers=FHIR_JSON)

    async def ids(params: dict[str, str]) -> list[str]:
        return [r["id"] for r in await _all(client, "Patient", params)]

    assert await ids({"_list": "42", "_sort": "_id"}) == ["p1", "p3", "p4"]
    assert await ids({"_list": "42", "gender": "male", "_sort": "_id"}) == ["p1", "p3"]
    assert await ids({"_list": "42", "_sort": "-birthdate", "_count": "1"}) == ["p3", "p1", "p4"]
    assert await ids({"_list": "42,43", "_sort": "_id"}) == ["p1", "p2", "p3", "p4"]  # OR
    both = [("_list", "42"), ("_list", "43")]  # AND
    b = (await client.get("Patient", params=both)).json()
    assert [e["resource"]["id"] for e in b["entry"]] == ["p3"]
    assert any("_list=43" in link["url"] for link in b["link"] if link["relation"] == "self")


async def test_list_that_does_not_exist_gives_an_empty_search(client: httpx.AsyncClient) -> None:
    await _seed(client)
    r = await client.get("Patient", params={"_list": "missing"})
    assert r.status_code == 200
    entries = r.json()["entry"]
    assert [e["search"]["mode"] for e in entries] == ["outcome"]
    assert "List/missing" in entries[0]["resource"]["issue"][0]["diagnostics"]


async def test_list_on_system_search_or_functional_list_is_refused(client: httpx.AsyncClient) -> None:
    assert (await client.get("", params={"_list": "42"})).status_code == 400
    assert (await client.get("Patient", params={"_list": "$current-problems"})).status_code == 400


def _params(resource: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for p in resource["parameter"]:
        out.setdefault(p["name"], []).append(p)
    return out


def _parts(param: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    return _params({"parameter": param["part"]})


async def test_explain_returns_the_parsed_query_and_the_plan(client: httpx.AsyncClient) -> None:
    await _seed(client)
    r = await client.get(
        "Patient",
        params={"identifier": "urn:ins|7", "name:exact": "Smith", "_sort": "-birthdate", "_explain": "true"},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["resourceType"] == "Parameters"
    query, top = (_parts(_params(body)[name][0]) for name in ("query", "plan"))
    assert query["resourceTypes"][0]["valueString"] == "Patient"
    criteria = [_parts(c) for c in query["criterion"]]
    assert [c["parameter"][0]["valueString"] for c in criteria] == ["identifier", "name"]
    assert criteria[0]["type"][0]["valueString"] == "token"
    assert "urn:ins" in criteria[0]["values"][0]["valueString"]
    assert criteria[1]["modifier"][0]["valueString"] == "exact"
    assert query["sort"][0]["valueString"] == "-birthdate"
    backend = top["backend"][0]["valueString"]
    if backend == "sqlite":
        search = _parts(top["search"][0])
        assert search["sql"][0]["valueString"].startswith("SELECT")
        details = [_parts(s)["detail"][0]["valueString"] for s in search["queryPlan"]]
        assert any("ix_token" in d for d in details), details
        assert "count" not in top
    else:
        assert '"tok"' in top["filter"][0]["valueString"] and "urn:ins" in top["filter"][0]["valueString"]
        assert "sd.birthdate" in top["sort"][0]["valueString"]
        assert "winningPlan" in top or "planError" in top


async def test_explain_false_searches_and_a_bad_value_is_refused(client: httpx.AsyncClient) -> None:
    await _seed(client)
    b = (await client.get("Patient", params={"_explain": "false", "gender": "female"})).json()
    assert b["resourceType"] == "Bundle" and len(b["entry"]) == 2
    assert (await client.get("Patient", params={"_explain": "maybe"})).status_code == 400
    strict = await client.get("Patient", params={"_explain": "true"}, headers={"Prefer": "handling=strict"})
    assert strict.status_code == 200 and strict.json()["resourceType"] == "Parameters"


async def test_explain_with_a_total_shows_the_count(client: httpx.AsyncClient) -> None:
    r = await client.get("", params={"_explain": "true", "_total": "accurate", "_type": "Patient,Group"})
    query, top = (_parts(_params(r.json())[name][0]) for name in ("query", "plan"))
    assert [t["valueString"] for t in query["resourceTypes"]] == ["Group", "Patient"]
    if top["backend"][0]["valueString"] == "sqlite":
        assert _parts(top["count"][0])["sql"][0]["valueString"].startswith("SELECT COUNT(*)")
