"""Every official R4 example (npm hl7.fhir.r4.examples@4.0.1) is PUT and read back unchanged.

The genuinely defective examples are refused with an OperationOutcome naming the defect.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import httpx
import msgspec
import pytest

from ..conftest import require_r4_examples

BASE = "http://testserver/fhir"
_decode = msgspec.json.Decoder(float_hook=Decimal)

# file -> the defect that makes the server refuse it (checked against the OperationOutcome)
DEFECTIVE = {
    "Bundle-v2-valuesets.json": "Bundle.entry[814].resource.concept[",  # the v2-0550 CodeSystem inside
    "CodeSystem-v2-0550.json": "CodeSystem.concept",
    "ImplementationGuide-fhir.json": "ImplementationGuide.name",  # required name/status missing
    "ig-r4.json": "ImplementationGuide.name",
    "Questionnaire-qs1.json": "linkId",  # item.linkId is required
    # a 67-character id: the id type allows 64
    "SearchParameter-questionnaireresponse-extensions-QuestionnaireResponse-item-subject.json": "id",
    # base invariants (conformance-rules.html#constraints), verified against the example text:
    # bdl-7 "FullUrl must be unique in a bundle, or else entries with the same fullUrl must
    # have different meta.versionId": the data-element Bundle repeats fullUrls (de-Quantity.value...)
    "Bundle-dataelements.json": "bdl-7",
    # sdf-4 "If the structure is not abstract, then there SHALL be a baseDefinition": these
    # logical models say abstract=false and have no baseDefinition
    **{f"StructureDefinition-{m}.json": "sdf-4" for m in ("Definition", "Event", "FiveWs", "Request")},
    **{
        f"SearchParameter-{cs}-extensions-{cs_type}-{p}.json": "SearchParameter.base"
        for cs, cs_type in (("codesystem", "CodeSystem"), ("valueset", "ValueSet"))
        for p in ("author", "effective", "end", "keyword", "workflow")
    },
}


def example_files() -> list[Path]:
    root = require_r4_examples()
    return sorted(p for p in root.glob("*.json") if p.name != "package.json")


def _strip_meta(resource: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in resource.items() if k != "meta"}


@pytest.mark.slow
async def test_every_official_example_round_trips(client: httpx.AsyncClient) -> None:
    refused: dict[str, str] = {}
    checked = 0
    for path in example_files():
        raw = path.read_bytes()
        original = _decode.decode(raw)
        if not isinstance(original, dict) or "resourceType" not in original:
            continue
        rtype = original["resourceType"]
        rid = original.get("id")
        headers = {"Content-Type": "application/fhir+json"}
        if rid:
            r = await client.put(f"{rtype}/{rid}", content=raw, headers=headers)
        else:
            r = await client.post(rtype, content=raw, headers=headers)
        if r.status_code >= 300:
            refused[path.name] = r.text
            continue
        location = r.headers["Location"].split("/_history")[0]
        got = await client.get(location)
        assert got.status_code == 200, path.name
        back = _decode.decode(got.content)
        expected = _strip_meta(original)
        if not rid:
            expected["id"] = back["id"]
        assert _strip_meta(back) == expected, path.name
        checked += 1
    assert checked > 5200
    assert set(refused) == set(DEFECTIVE), json.dumps(
        {k: v[:300] for k, v in refused.items() if k not in DEFECTIVE}, indent=1
    )
    for name, defect in DEFECTIVE.items():
        assert defect in refused[name], (name, refused[name][:500])
