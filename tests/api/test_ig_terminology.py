"""Our IG's terminology (``terminology/``) through the terminology operations and ``:in`` search,
over HTTP: openIMIS codes looked up, validated, expanded and translated to FHIR core codes."""

from __future__ import annotations

import json
from typing import Any

import httpx

from tests.conftest import EXAMPLES

from .conftest import FHIR_JSON

CS = "https://openimis.org/fhir/CodeSystem/"
VS = "https://openimis.org/fhir/ValueSet/"
CM = "https://openimis.org/fhir/ConceptMap/"


async def get(client: httpx.AsyncClient, path: str, **params: Any) -> dict[str, Any]:
    r = await client.get(path, params=params)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def param(body: dict[str, Any], name: str) -> Any:
    for p in body.get("parameter", []):
        if p["name"] == name:
            return next(v for k, v in p.items() if k.startswith("value"))
    return None


async def test_lookup_a_rejection_reason_with_its_meaning(client: httpx.AsyncClient) -> None:
    body = await get(client, "CodeSystem/$lookup", system=CS + "claim-rejection-reasons", code="-2")
    assert param(body, "display") == "Rejected by AI evaluation"
    r = await client.get(
        "CodeSystem/$lookup", params={"system": CS + "claim-rejection-reasons", "code": "18"}
    )
    assert r.status_code in (400, 404), r.text  # 18 does not exist in openIMIS


async def test_validate_policy_status_codes(client: httpx.AsyncClient) -> None:
    ok = await get(
        client, "ValueSet/$validate-code", url=VS + "policy-status", system=CS + "policy-status", code="16"
    )
    assert param(ok, "result") is True
    bad = await get(
        client, "ValueSet/$validate-code", url=VS + "policy-status", system=CS + "policy-status", code="3"
    )
    assert param(bad, "result") is False


async def test_expand_the_rejecting_reasons(client: httpx.AsyncClient) -> None:
    body = await get(client, "ValueSet/$expand", url=VS + "claim-rejection-reasons-rejected")
    codes = {c["code"] for c in body["expansion"]["contains"]}
    assert len(codes) == 20 and "0" not in codes and {"-2", "-1", "19"} <= codes


async def test_translate_policy_status_to_coverage_status(client: httpx.AsyncClient) -> None:
    body = await get(
        client,
        "ConceptMap/$translate",
        url=CM + "policy-status-to-coverage-status",
        system=CS + "policy-status",
        code="4",
    )
    assert param(body, "result") is True
    match = next(p for p in body["parameter"] if p["name"] == "match")
    concept = next(q["valueCoding"] for q in match["part"] if q["name"] == "concept")
    assert concept["system"] == "http://hl7.org/fhir/fm-status" and concept["code"] == "cancelled"


async def test_search_claims_by_a_value_set_of_our_claim_statuses(client: httpx.AsyncClient) -> None:
    for name in ("Claim-clm-kbh-2024-0001", "Claim-clm-kbh-2024-0004", "Claim-clm-mkc-2024-0003"):
        claim = json.loads((EXAMPLES / f"{name}.json").read_text())
        r = await client.put(f"Claim/{claim['id']}", json=claim, headers=FHIR_JSON)
        assert r.status_code in (200, 201), r.text
    body = await get(client, "Claim", **{"claim-status:in": VS + "claim-status-open"})
    assert sorted(e["resource"]["id"] for e in body.get("entry", [])) == ["clm-mkc-2024-0003"]
    body = await get(client, "Claim", **{"claim-status:not-in": VS + "claim-status-open"})
    assert sorted(e["resource"]["id"] for e in body.get("entry", [])) == [
        "clm-kbh-2024-0001",
        "clm-kbh-2024-0004",
    ]
