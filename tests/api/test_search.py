"""Basic search over HTTP (search.html): GET and POST _search, paging, _sort, _total."""

from __future__ import annotations

import httpx

from .conftest import FHIR_JSON, patient


async def _seed(client: httpx.AsyncClient) -> None:
    for i, (family, gender, bd) in enumerate(
        [("Smith", "male", "1970-01-01"), ("Smythe", "female", "1980-05-05"), ("Jones", "male", "1990-09-09")]
    ):
        body = patient(
            family, gender=gender, birthDate=bd, identifier=[{"system": "urn:ins", "value": str(i)}]
        )
        await client.post("Patient", json=body, headers=FHIR_JSON)


async def test_token_string_date_search(client: httpx.AsyncClient) -> None:
    await _seed(client)

    async def names(params: dict[str, str]) -> list[str]:
        b = (await client.get("Patient", params=params)).json()
        return sorted(e["resource"]["name"][0]["family"] for e in b.get("entry", []))

    assert await names({"gender": "male"}) == ["Jones", "Smith"]
    assert await names({"identifier": "urn:ins|1"}) == ["Smythe"]
    assert await names({"name": "sm"}) == ["Smith", "Smythe"]
    assert await names({"name:exact": "Smith"}) == ["Smith"]
    assert await names({"birthdate": "ge1980"}) == ["Jones", "Smythe"]
    assert await names({"gender": "male,female", "birthdate": "lt1985"}) == ["Smith", "Smythe"]
    assert await names({"gender:not": "male"}) == ["Smythe"]


async def test_post_search_equals_get(client: httpx.AsyncClient) -> None:
    await _seed(client)
    r = await client.post("Patient/_search", data={"gender": "male"})
    assert r.status_code == 200
    assert len(r.json()["entry"]) == 2


async def test_sort_count_total_and_paging(client: httpx.AsyncClient) -> None:
    await _seed(client)
    b = (
        await client.get("Patient", params={"_sort": "-birthdate", "_count": "2", "_total": "accurate"})
    ).json()
    assert b["total"] == 3
    assert [e["resource"]["name"][0]["family"] for e in b["entry"]] == ["Jones", "Smythe"]
    nxt = next(link["url"] for link in b["link"] if link["relation"] == "next")
    b2 = (await client.get(nxt)).json()
    assert [e["resource"]["name"][0]["family"] for e in b2["entry"]] == ["Smith"]
    assert not [link for link in b2["link"] if link["relation"] == "next"]


async def test_summary_count_and_system_search(client: httpx.AsyncClient) -> None:
    await _seed(client)
    b = (await client.get("Patient", params={"_summary": "count"})).json()
    assert b["total"] == 3 and "entry" not in b
    s = (await client.get("", params={"_id": "nothing"})).json()
    assert s["type"] == "searchset"


async def test_search_updates_and_deletes_are_reflected(client: httpx.AsyncClient) -> None:
    r = await client.put("Patient/s1", json=patient("Alpha", id="s1"), headers=FHIR_JSON)
    assert r.status_code == 201
    await client.put("Patient/s1", json=patient("Beta", id="s1"), headers=FHIR_JSON)
    assert "entry" not in (await client.get("Patient", params={"name": "alpha"})).json()
    assert len((await client.get("Patient", params={"name": "beta"})).json()["entry"]) == 1
    await client.delete("Patient/s1")
    assert "entry" not in (await client.get("Patient", params={"name": "beta"})).json()
