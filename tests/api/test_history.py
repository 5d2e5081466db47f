"""history: instance, type and system, with _since, _at, _count and paging (http.html#history)."""

from __future__ import annotations

import httpx

from .conftest import FHIR_JSON, patient


async def _versions(client: httpx.AsyncClient) -> list[str]:
    stamps = []
    for i in range(3):
        r = await client.put("Patient/h", json=patient(f"V{i}", id="h"), headers=FHIR_JSON)
        stamps.append(r.json()["meta"]["lastUpdated"])
    await client.post("Organization", json={"resourceType": "Organization", "name": "O"}, headers=FHIR_JSON)
    return stamps


async def test_instance_history_newest_first(client: httpx.AsyncClient) -> None:
    await _versions(client)
    b = (await client.get("Patient/h/_history")).json()
    assert b["type"] == "history"
    assert [e["resource"]["meta"]["versionId"] for e in b["entry"]] == ["3", "2", "1"]
    assert b["entry"][0]["response"]["etag"] == 'W/"3"'


async def test_type_and_system_history(client: httpx.AsyncClient) -> None:
    await _versions(client)
    t = (await client.get("Patient/_history")).json()
    assert t["total"] == 3
    s = (await client.get("_history")).json()
    assert s["total"] == 4
    assert s["entry"][0]["resource"]["resourceType"] == "Organization"


async def test_since_and_at(client: httpx.AsyncClient) -> None:
    stamps = await _versions(client)
    b = (await client.get("Patient/h/_history", params={"_since": stamps[1]})).json()
    assert [e["resource"]["meta"]["versionId"] for e in b["entry"]] == ["3", "2"]
    b = (await client.get("Patient/h/_history", params={"_at": stamps[1]})).json()
    assert [e["resource"]["meta"]["versionId"] for e in b["entry"]] == ["2"]
    bad = await client.get("Patient/h/_history", params={"_since": "yesterday"})
    assert bad.status_code == 400
    assert bad.json()["issue"][0]["expression"] == ["_since"]


async def test_paging_through_history_with_next_links(client: httpx.AsyncClient) -> None:
    for i in range(7):
        await client.put("Patient/p", json=patient(f"V{i}", id="p"), headers=FHIR_JSON)
    seen: list[str] = []
    url: str | None = "Patient/p/_history?_count=3"
    while url:
        b = (await client.get(url)).json()
        seen += [e["resource"]["meta"]["versionId"] for e in b["entry"]]
        nxt = [link["url"] for link in b["link"] if link["relation"] == "next"]
        url = nxt[0] if nxt else None
    assert seen == [str(v) for v in range(7, 0, -1)]
