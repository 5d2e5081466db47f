"""``near`` on Location over HTTP, on both backends: matches with their distance on the entry
(location.html, Positional Searching), combined with other criteria, ``_sort`` and paging;
bad values answered with a 400 OperationOutcome whose expression is ``near``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from fhir_server.app import create_app
from fhir_server.config import Settings

from .conftest import BASE, FHIR_JSON
from .test_mongo_backend import mongo_store

# facilities around Arusha (Tanzania), and one across the antimeridian (Fiji / Taveuni)
SITES = {
    "arusha-hf": (-3.3869, 36.6830, "active"),
    "moshi-hf": (-3.3349, 37.3404, "active"),  # ~73 km from Arusha
    "usa-river": (-3.3700, 36.8500, "suspended"),  # ~19 km
    "taveuni": (-16.8500, 179.9800, "active"),
    "rabi": (-16.5000, -179.9800, "active"),  # across the antimeridian from Taveuni, ~40 km
}


@pytest.fixture(params=["sqlite", "mongo"])
async def client(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    if request.param == "sqlite":
        app = create_app(
            Settings(store=f"sqlite:///{tmp_path / 'fhir.db'}", base_url=BASE, near_default_km=25)
        )
    else:
        settings = Settings(store="mongodb://unused", base_url=BASE, near_default_km=25)
        app = create_app(settings, store=mongo_store())
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url=BASE + "/") as c,
    ):
        for lid, (lat, lng, status) in SITES.items():
            body = {
                "resourceType": "Location",
                "id": lid,
                "status": status,
                "name": lid,
                "position": {"latitude": lat, "longitude": lng},
            }
            r = await c.put(f"Location/{lid}", json=body, headers=FHIR_JSON)
            assert r.status_code == 201, r.text
        r = await c.put(
            "Location/nowhere", json={"resourceType": "Location", "id": "nowhere"}, headers=FHIR_JSON
        )
        assert r.status_code == 201
        yield c


async def search(client: httpx.AsyncClient, params: list[tuple[str, str]]) -> list[dict[str, Any]]:
    r = await client.get("Location", params=params)
    assert r.status_code == 200, r.text
    return [e for e in r.json().get("entry", []) if e["search"]["mode"] == "match"]


async def test_near_finds_the_locations_within_the_distance(client: httpx.AsyncClient) -> None:
    found = await search(client, [("near", "-3.3869|36.6830|30|km")])
    assert {e["resource"]["id"] for e in found} == {"arusha-hf", "usa-river"}
    by_id = {e["resource"]["id"]: e for e in found}
    (ext,) = by_id["usa-river"]["search"]["extension"]
    assert ext["url"] == "http://hl7.org/fhir/StructureDefinition/location-distance"
    assert ext["valueDistance"]["code"] == "km" and 18 < ext["valueDistance"]["value"] < 20
    assert by_id["arusha-hf"]["search"]["extension"][0]["valueDistance"]["value"] == 0
    wider = await search(client, [("near", "-3.3869|36.6830|80000|m")])
    assert {e["resource"]["id"] for e in wider} == {"arusha-hf", "usa-river", "moshi-hf"}
    miles = await search(client, [("near", "-3.3869|36.6830|40|[mi_i]")])
    assert {e["resource"]["id"] for e in miles} == {"arusha-hf", "usa-river"}


async def test_distance_omitted_uses_the_configured_default(client: httpx.AsyncClient) -> None:
    found = await search(client, [("near", "-3.3869|36.6830")])  # FHIR_NEAR_DEFAULT_KM=25 here
    assert {e["resource"]["id"] for e in found} == {"arusha-hf", "usa-river"}


async def test_across_the_antimeridian(client: httpx.AsyncClient) -> None:
    found = await search(client, [("near", "-16.85|179.98|50")])
    assert {e["resource"]["id"] for e in found} == {"taveuni", "rabi"}


async def test_near_with_other_criteria_sort_and_paging(client: httpx.AsyncClient) -> None:
    found = await search(client, [("near", "-3.3869|36.6830|100"), ("status", "active")])
    assert {e["resource"]["id"] for e in found} == {"arusha-hf", "moshi-hf"}
    ordered = await search(client, [("near", "-3.3869|36.6830|100"), ("_sort", "-name")])
    assert [e["resource"]["id"] for e in ordered] == ["usa-river", "moshi-hf", "arusha-hf"]
    r = await client.get(
        "Location", params=[("near", "-3.3869|36.6830|100"), ("_sort", "name"), ("_count", "2")]
    )
    page1 = r.json()
    nxt = next(link["url"] for link in page1["link"] if link["relation"] == "next")
    page2 = (await client.get(nxt)).json()
    ids = [e["resource"]["id"] for p in (page1, page2) for e in p["entry"]]
    assert ids == ["arusha-hf", "moshi-hf", "usa-river"]
    both = await search(client, [("near", "-3.3869|36.6830|5,-16.5|-179.98|5")])
    assert {e["resource"]["id"] for e in both} == {"arusha-hf", "rabi"}
    missing = await search(client, [("near:missing", "true")])
    assert [e["resource"]["id"] for e in missing] == ["nowhere"]


@pytest.mark.parametrize(
    "value",
    ["abc|36.68|5", "-3.37|36.68|5|furlong", "95|36.68|5", "-3.37|200|5", "-3.37", "-3.37|36.68|-2", "|1|2"],
)
async def test_bad_near_values_are_a_400_naming_near(client: httpx.AsyncClient, value: str) -> None:
    r = await client.get("Location", params={"near": value})
    assert r.status_code == 400, r.text
    outcome = r.json()
    assert outcome["resourceType"] == "OperationOutcome"
    (issue,) = outcome["issue"]
    assert issue["severity"] == "error" and issue["code"] == "value"
    assert issue["expression"] == ["near"]


async def test_near_is_in_the_capability_statement(client: httpx.AsyncClient) -> None:
    cs = (await client.get("metadata")).json()
    (location,) = [r for r in cs["rest"][0]["resource"] if r["type"] == "Location"]
    (near,) = [p for p in location["searchParam"] if p["name"] == "near"]
    assert near["type"] == "special"
    assert near["definition"] == "http://hl7.org/fhir/SearchParameter/Location-near"
