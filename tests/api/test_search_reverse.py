"""Over HTTP, on both backends, with the examples loaded: reverse chaining (search.html#has),
multi-level chains (search.html#chaining) and compartment search
(compartmentdefinition.html, http.html#search: ``GET [base]/Patient/[id]/[type]`` and
``GET [base]/Patient/[id]/*``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from fhir_server.app import create_app
from fhir_server.config import Settings

from .conftest import BASE, issue_codes, make_settings
from .test_custom_search_params import load_examples
from .test_mongo_backend import mongo_store

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
ZOE = "Patient/zoe-mwakasege"


@pytest.fixture(params=["sqlite", "mongo"])
async def loaded(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    if request.param == "sqlite":
        app = create_app(make_settings(tmp_path))
    else:
        store = mongo_store()
        store.chain_limit = 5
        app = create_app(
            Settings(store="mongodb://unused", base_url=BASE, policy_expiry_interval=0), store=store
        )
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE + "/")
    async with app.router.lifespan_context(app), client as c:
        await load_examples(c)
        c.headers["x-backend"] = request.param
        yield c


async def bundle(client: httpx.AsyncClient, url: str, params: dict[str, str] | None = None) -> dict[str, Any]:
    r = await client.get(url, params=params)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    assert body["type"] == "searchset"
    return body


def keys(b: dict[str, Any]) -> set[str]:
    return {
        f"{e['resource']['resourceType']}/{e['resource']['id']}"
        for e in b.get("entry", [])
        if e["search"]["mode"] == "match"
    }


def link(b: dict[str, Any], relation: str) -> str | None:
    return next((li["url"] for li in b["link"] if li["relation"] == relation), None)


# ---------------------------------------------------------------------------- search.html#has


async def test_search_has_reverse_chaining(loaded: httpx.AsyncClient) -> None:
    b = await bundle(loaded, "Patient", {"_has:Claim:patient:_id": "clm-kbh-2024-0001"})
    assert keys(b) == {ZOE}
    b = await bundle(loaded, "Patient", {"_has:Coverage:beneficiary:status": "active,draft"})
    assert ZOE in keys(b) and all(k.startswith("Patient/") for k in keys(b))
    # combined with another criterion on the Patient
    b = await bundle(loaded, "Patient", {"_has:Claim:patient:status": "active", "gender": "female"})
    assert ZOE in keys(b) and "Patient/jose-kimaro" not in keys(b)


async def test_search_has_nested(loaded: httpx.AsyncClient) -> None:
    """search.html#has: "The _has parameter can be more than one level deep"."""
    complete = {"_has:Claim:patient:_has:ClaimResponse:request:outcome": "complete"}
    assert keys(await bundle(loaded, "Patient", complete)) == {ZOE, "Patient/baraka-mwakasege"}
    # ClaimResponse/clmr-kbh-2024-0004 refers to Claim/clm-kbh-2024-0004/_history/1
    error = {"_has:Claim:patient:_has:ClaimResponse:request:outcome": "error"}
    assert keys(await bundle(loaded, "Patient", error)) == {ZOE}
    # a modifier on the inner parameter
    not_queued = {"_has:Claim:patient:_has:ClaimResponse:request:outcome:not": "queued,error"}
    assert keys(await bundle(loaded, "Patient", not_queued)) == {ZOE, "Patient/baraka-mwakasege"}


async def test_search_has_on_system_search_is_refused(loaded: httpx.AsyncClient) -> None:
    r = await loaded.get("", params={"_has:Claim:patient:status": "active"})
    assert r.status_code == 400
    assert issue_codes(r.json()) == ["not-supported"]
    r = await loaded.get("Patient", params={"_has:Claim:status:status": "active"})
    assert r.status_code == 400 and "not a reference" in r.text


# ---------------------------------------------------------------------------- search.html#chaining


async def test_search_chaining_two_levels(loaded: httpx.AsyncClient) -> None:
    want = {"ClaimResponse/clmr-kbh-2024-0001", "ClaimResponse/clmr-kbh-2024-0004"}
    assert keys(await bundle(loaded, "ClaimResponse", {"request.patient.name": "zoe"})) == want
    typed = {"request:Claim.patient:Patient.name:exact": "Zoë"}
    assert keys(await bundle(loaded, "ClaimResponse", typed)) == want
    typed = {"request:Claim.patient:Patient.name:exact": "zoë"}  # :exact is case-sensitive
    assert keys(await bundle(loaded, "ClaimResponse", typed)) == set()
    typed = {"request:Claim.patient:Patient.family:exact": "Mwakasege"}
    got = keys(await bundle(loaded, "ClaimResponse", typed))
    assert want <= got and "ClaimResponse/clmr-mkc-2024-0003" not in got


async def test_chain_cap_is_a_too_costly_outcome_naming_the_parameter(loaded: httpx.AsyncClient) -> None:
    if loaded.headers["x-backend"] != "mongo":
        pytest.skip("SQLite runs chains as subqueries, uncapped")
    r = await loaded.get("Claim", params={"patient.gender:missing": "false"})  # 9 patients > 5
    assert r.status_code == 400, r.text
    assert issue_codes(r.json()) == ["too-costly"]
    assert "patient:Patient.gender:missing" in r.text
    r = await loaded.get("Patient", params={"_has:Observation:subject:_lastUpdated": "ge2000"})  # 8 > 5
    assert r.status_code == 400 and "_has:Observation:subject:_lastUpdated" in r.text


# ---------------------------------------------------------------------------- compartments


async def test_compartment_search_of_one_type(loaded: httpx.AsyncClient) -> None:
    """``GET [base]/Patient/zoe/Claim``: the Claims whose patient or payee is Patient/zoe."""
    b = await bundle(loaded, f"{ZOE}/Claim")
    assert keys(b) == {"Claim/clm-kbh-2024-0001", "Claim/clm-kbh-2024-0004"}
    assert link(b, "self") == f"{BASE}/{ZOE}/Claim"
    b = await bundle(loaded, f"{ZOE}/Claim", {"_id": "clm-kbh-2024-0004"})
    assert keys(b) == {"Claim/clm-kbh-2024-0004"}
    r = await loaded.post(f"{ZOE}/Claim/_search", data={"_id": "clm-kbh-2024-0004"})
    assert r.status_code == 200 and keys(r.json()) == {"Claim/clm-kbh-2024-0004"}
    b = await bundle(loaded, f"{ZOE}/Coverage")
    assert keys(b) == {"Coverage/policy-mwakasege-2023", "Coverage/policy-mwakasege-2024"}


async def test_compartment_search_pages_keep_the_compartment_path(loaded: httpx.AsyncClient) -> None:
    first = await bundle(loaded, f"{ZOE}/Claim", {"_count": "1"})
    nxt = link(first, "next")
    assert nxt is not None and nxt.startswith(f"{BASE}/{ZOE}/Claim?")
    second = await bundle(loaded, nxt)
    assert link(
        second,
        "self",
    ).startswith(f"{BASE}/{ZOE}/Claim?")  # type: ignore[union-attr]
    assert keys(first) | keys(second) == {"Claim/clm-kbh-2024-0001", "Claim/clm-kbh-2024-0004"}


async def test_compartment_search_of_every_type(loaded: httpx.AsyncClient) -> None:
    """``GET [base]/Patient/zoe/*``: every resource type of the Patient compartment."""
    b = await bundle(loaded, f"{ZOE}/*", {"_count": "100"})
    got = keys(b)
    assert {"Claim/clm-kbh-2024-0001", "Coverage/policy-mwakasege-2024"} <= got
    assert "ClaimResponse/clmr-kbh-2024-0001" in got  # ClaimResponse.patient
    assert not any(k.startswith(("Organization/", "Practitioner/")) for k in got)
    meta = (await loaded.get("metadata")).json()
    assert "http://hl7.org/fhir/CompartmentDefinition/patient" in meta["rest"][0]["compartment"]
    assert "Claim/clm-mkc-2024-0003" not in got
    narrowed = await bundle(loaded, f"{ZOE}/*", {"_type": "Claim"})
    assert keys(narrowed) == {"Claim/clm-kbh-2024-0001", "Claim/clm-kbh-2024-0004"}


async def test_compartment_search_unknown_compartment_or_type(loaded: httpx.AsyncClient) -> None:
    r = await loaded.get("Organization/hf-kibosho-hospital/Claim")
    assert r.status_code == 404 and issue_codes(r.json()) == ["not-found"]
    r = await loaded.get(f"{ZOE}/NotAType")
    assert r.status_code == 404
    # a type outside the compartment has no resource in it
    assert keys(await bundle(loaded, f"{ZOE}/Organization")) == set()
    r = await loaded.delete(f"{ZOE}/Claim")
    assert r.status_code == 405
