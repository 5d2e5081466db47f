"""GET [base]/metadata and /health."""

from __future__ import annotations

import httpx


async def test_capability_statement_reflects_what_runs(client: httpx.AsyncClient) -> None:
    r = await client.get("metadata")
    assert r.status_code == 200
    cs = r.json()
    assert cs["resourceType"] == "CapabilityStatement"
    assert cs["fhirVersion"] == "4.0.1"
    rest = cs["rest"][0]
    types = {res["type"]: res for res in rest["resource"]}
    assert len(types) == 146
    patient_params = {p["name"] for p in types["Patient"]["searchParam"]}
    assert {"identifier", "name", "birthdate", "_id", "_lastUpdated"} <= patient_params
    assert {"code": "transaction"} in rest["interaction"]


async def test_health(client: httpx.AsyncClient) -> None:
    r = await client.get("http://testserver/health")
    assert r.status_code == 200
    assert r.json()["ready"] is True
    assert "x-request-id" in (await client.get("metadata")).headers


async def test_supported_composites_are_listed_and_others_not(client: httpx.AsyncClient) -> None:
    body = (await client.get("metadata")).json()
    by_type = {r["type"]: {p["name"]: p for p in r["searchParam"]} for r in body["rest"][0]["resource"]}
    assert by_type["Observation"]["component-code-value-quantity"]["type"] == "composite"
    assert "relationship" not in by_type["DocumentReference"]  # reference$token: not searched


async def test_the_special_and_result_parameters_every_search_takes_are_listed(
    client: httpx.AsyncClient,
) -> None:
    """Every parameter a search takes besides the type's own is in ``rest.searchParam``, with
    what we support of it; a client reading the statement learns about ``_explain``,
    ``_list``, ``_contained`` and the include limits."""
    rest = (await client.get("metadata")).json()["rest"][0]
    listed = {p["name"]: p for p in rest["searchParam"]}
    for name in (
        "_count",
        "_sort",
        "_total",
        "_summary",
        "_elements",
        "_include",
        "_revinclude",
        "_has",
        "_list",
        "_contained",
        "_containedType",
        "_explain",
    ):
        assert listed[name]["type"] == "special" and listed[name]["documentation"], name
    # each one is really taken: a search with it is not answered with "ignored"
    r = await client.get("Patient", params={"_list": "nothing", "_explain": "false", "_contained": "false"})
    assert r.status_code == 200
    issues = [
        i
        for e in r.json().get("entry", [])
        if e["search"]["mode"] == "outcome"
        for i in e["resource"]["issue"]
    ]
    assert not [i for i in issues if "not supported" in i.get("diagnostics", "")], issues
