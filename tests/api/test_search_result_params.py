"""Search result parameters over HTTP: multi-key ``_sort``, ``_total``, ``_list``, ``_explain``."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from fhir_server.storage.sqlite import store as sqlite_store

from .conftest import FHIR_JSON, patient

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
    b = (await client.get("Patient", params={"_total": "estimate", "_count": "1"})).json()
    assert b["total"] == 2
    issues = [e["resource"]["issue"] for e in b["entry"] if e["search"]["mode"] == "outcome"]
    assert issues and "at least 2" in issues[0][0]["diagnostics"]
    assert (await client.get("Patient", params={"_total": "accurate"})).json()["total"] == 5
