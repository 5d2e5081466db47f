"""_include and _revinclude over HTTP on SQLite (search.html#include: "Including other
resources in result"): forward and reverse, ``*``, typed targets, ``:iterate``, limits,
paging, deleted targets, and the CapabilityStatement's searchInclude/searchRevInclude."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from fhir_server.app import create_app

from .conftest import BASE, make_settings
from .include_data import keys, outcome_issues, searchset, seed


@pytest.fixture
async def limited(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """A server with tight include limits: 2 resources per page, 1 round."""
    app = create_app(make_settings(tmp_path, max_includes=2, max_include_depth=1))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE + "/") as c:
            yield c


async def test_search_include_coverage_payor_is_marked_include(client: httpx.AsyncClient) -> None:
    """search.html#include: included resources come with search.mode = include."""
    await seed(client)
    body = await searchset(client, "Coverage?beneficiary=Patient/p1&_include=Coverage:payor")
    assert keys(body, "match") == ["Coverage/cov1"]
    assert keys(body, "include") == ["Organization/nhif"]
    assert outcome_issues(body) == []
    self_link = next(link["url"] for link in body["link"] if link["relation"] == "self")
    assert ("_include", "Coverage:payor") in parse_qsl(urlsplit(self_link).query)


async def test_search_include_several_params_deduplicated(client: httpx.AsyncClient) -> None:
    """search.html#include: a resource referenced by several matches is included once."""
    await seed(client)
    body = await searchset(client, "Claim?_include=Claim:patient&_include=Claim:provider")
    assert keys(body, "match") == ["Claim/c1", "Claim/c2", "Claim/c3"]
    assert keys(body, "include") == [
        "Organization/kbh",
        "Patient/p1",
        "Patient/p2",
        "Practitioner/dr1",
    ]


async def test_search_include_never_repeats_a_match(client: httpx.AsyncClient) -> None:
    """search.html#include: a resource that is already a match is not included again."""
    await seed(client)
    body = await searchset(client, "Coverage?_include=Coverage:payor:Patient")
    assert keys(body, "match") == ["Coverage/cov1", "Coverage/cov2"]
    assert keys(body, "include") == ["Patient/p2"]
    body = await searchset(client, "Patient?_revinclude=Coverage:payor&_include=Patient:link")
    assert keys(body, "include") == ["Coverage/cov2"]


async def test_search_include_wildcard_follows_every_reference_parameter(client: httpx.AsyncClient) -> None:
    """search.html#include: ``_include=Claim:*`` includes what any reference parameter points to."""
    await seed(client)
    body = await searchset(client, "Claim?_id=c1&_include=Claim:*")
    assert keys(body, "include") == ["Organization/kbh", "Organization/nhif", "Patient/p1"]
    body = await searchset(client, "Claim?_id=c2&_include=*")
    assert keys(body, "include") == ["Organization/nhif", "Patient/p1", "Practitioner/dr1"]


async def test_search_include_typed_target(client: httpx.AsyncClient) -> None:
    """search.html#include: ``_include=Coverage:payor:Organization`` follows Organization payors only."""
    await seed(client)
    body = await searchset(client, "Coverage?_id=cov2&_include=Coverage:payor:Organization")
    assert keys(body, "include") == ["Organization/nhif"]
    body = await searchset(client, "Coverage?_id=cov2&_include=Coverage:payor:Patient")
    assert keys(body, "include") == ["Patient/p2"]
    body = await searchset(client, "Coverage?_id=cov2&_include=Coverage:payor")
    assert keys(body, "include") == ["Organization/nhif", "Patient/p2"]


async def test_search_revinclude_coverage_beneficiary(client: httpx.AsyncClient) -> None:
    """search.html#include: ``_revinclude`` adds the resources that refer to the matches."""
    await seed(client)
    body = await searchset(client, "Patient?_id=p1&_revinclude=Coverage:beneficiary")
    assert keys(body, "match") == ["Patient/p1"]
    assert keys(body, "include") == ["Coverage/cov1"]
    body = await searchset(client, "Patient?_revinclude=Coverage:beneficiary&_revinclude=Claim:patient")
    assert keys(body, "include") == ["Claim/c1", "Claim/c2", "Claim/c3", "Coverage/cov1", "Coverage/cov2"]


async def test_search_revinclude_provenance_target(client: httpx.AsyncClient) -> None:
    """search.html#include: the usual ``_revinclude=Provenance:target`` on any search."""
    await seed(client)
    body = await searchset(client, "Claim?patient=Patient/p1&_revinclude=Provenance:target")
    assert keys(body, "match") == ["Claim/c1", "Claim/c2"]
    assert keys(body, "include") == ["Provenance/prov1"]
    body = await searchset(client, "Claim?_id=c3&_revinclude=Provenance:target")
    assert keys(body, "include") == []


async def test_search_include_iterate(client: httpx.AsyncClient) -> None:
    """search.html#include: ``:iterate`` applies the include to included resources too
    (and R4 still accepts the older ``:recurse``)."""
    await seed(client)
    plain = await searchset(client, "ClaimResponse?_include=ClaimResponse:request&_include=Claim:patient")
    assert keys(plain, "include") == ["Claim/c1"]  # Claim:patient applies to matches only
    for modifier in ("iterate", "recurse"):
        q = f"ClaimResponse?_include=ClaimResponse:request&_include:{modifier}=Claim:provider"
        body = await searchset(client, q)
        assert keys(body, "include") == ["Claim/c1", "Organization/kbh"], modifier
    body = await searchset(client, "Patient?_id=p2&_revinclude=Claim:patient&_include:iterate=Claim:provider")
    assert keys(body, "include") == ["Claim/c3", "Organization/kbh"]


async def test_search_include_depth_limit_is_reported(limited: httpx.AsyncClient) -> None:
    """search.html#include: a server may limit :iterate; the cut is reported in the outcome."""
    await seed(limited)
    body = await searchset(
        limited, "ClaimResponse?_include=ClaimResponse:request&_include:iterate=Claim:provider"
    )
    assert keys(body, "include") == ["Claim/c1"]
    [issue] = outcome_issues(body)
    assert (issue["severity"], issue["code"]) == ("information", "too-costly")
    assert "Claim:provider" in issue["diagnostics"]


async def test_search_include_cap_is_reported(limited: httpx.AsyncClient) -> None:
    """search.html#include: at most max_includes included resources per page, with a warning."""
    await seed(limited)
    body = await searchset(limited, "Claim?_include=Claim:patient&_include=Claim:provider")
    assert keys(body, "match") == ["Claim/c1", "Claim/c2", "Claim/c3"]
    assert len(keys(body, "include")) == 2
    [issue] = outcome_issues(body)
    assert (issue["severity"], issue["code"]) == ("warning", "too-costly")
    body = await searchset(limited, "Patient?_revinclude=Claim:patient")
    assert len(keys(body, "include")) == 2
    assert [i["code"] for i in outcome_issues(body)] == ["too-costly"]
    body = await searchset(limited, "Patient?_id=p2&_revinclude=Claim:patient")
    assert keys(body, "include") == ["Claim/c3"] and outcome_issues(body) == []


async def test_search_include_per_page(client: httpx.AsyncClient) -> None:
    """search.html#include: each page includes what its own matches reference; next keeps _include."""
    await seed(client)
    first = await searchset(client, "Claim?_sort=_id&_count=2&_include=Claim:patient")
    assert keys(first, "match") == ["Claim/c1", "Claim/c2"]
    assert keys(first, "include") == ["Patient/p1"]
    next_url = next(link["url"] for link in first["link"] if link["relation"] == "next")
    assert ("_include", "Claim:patient") in parse_qsl(urlsplit(next_url).query)
    second = await searchset(client, next_url)
    assert keys(second, "match") == ["Claim/c3"]
    assert keys(second, "include") == ["Patient/p2"]


async def test_search_include_skips_deleted_and_missing_targets(client: httpx.AsyncClient) -> None:
    """search.html#include: only resources that exist are included (current, non-deleted versions)."""
    await seed(client)
    assert (await client.delete("Organization/kbh")).status_code in (200, 204)
    body = await searchset(client, "Claim?_id=c1,c3&_include=Claim:provider&_include=Claim:insurer")
    assert keys(body, "include") == ["Organization/nhif"]
    assert (await client.delete("Claim/c3")).status_code in (200, 204)
    body = await searchset(client, "Patient?_id=p2&_revinclude=Claim:patient")
    assert keys(body, "include") == []


async def test_search_include_respects_summary_and_count(client: httpx.AsyncClient) -> None:
    """search.html#include with #summary: included resources are subsetted like the matches;
    ``_summary=count`` returns no resources at all."""
    await seed(client)
    body = await searchset(client, "Claim?_id=c1&_include=Claim:patient&_summary=true")
    [included] = [e["resource"] for e in body["entry"] if e["search"]["mode"] == "include"]
    assert any(t["code"] == "SUBSETTED" for t in included["meta"]["tag"])
    body = await searchset(client, "Claim?_include=Claim:patient&_summary=count")
    assert body["total"] == 3 and "entry" not in body


async def test_search_include_unknown_parameter_lenient_and_strict(client: httpx.AsyncClient) -> None:
    """search.html#include and #errors: an unknown include parameter is ignored and reported
    (lenient) or refused (``Prefer: handling=strict``); a non-reference parameter is an error."""
    await seed(client)
    body = await searchset(client, "Claim?_id=c1&_include=Claim:nope&_include=Claim:patient")
    assert keys(body, "include") == ["Patient/p1"]
    [issue] = outcome_issues(body)
    assert issue["code"] == "not-supported" and "_include=Claim:nope" in issue["diagnostics"]
    r = await client.get("Claim?_include=Claim:nope", headers={"Prefer": "handling=strict"})
    assert r.status_code == 400
    r = await client.get("Claim?_include=Claim:status")
    assert r.status_code == 400


async def test_capability_statement_search_include_and_revinclude(client: httpx.AsyncClient) -> None:
    """search.html#include: the CapabilityStatement lists searchInclude and searchRevInclude."""
    statement = (await client.get("metadata")).json()
    by_type = {r["type"]: r for r in statement["rest"][0]["resource"]}
    assert {"Claim:patient", "Claim:provider", "Claim:*"} <= set(by_type["Claim"]["searchInclude"])
    assert {"Coverage:beneficiary", "Claim:patient"} <= set(by_type["Patient"]["searchRevInclude"])
    assert "Provenance:target" in by_type["Claim"]["searchRevInclude"]
