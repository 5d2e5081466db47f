"""Every official R4 example goes through the validator; exactly the defective ones are refused.

The examples package (npm ``hl7.fhir.r4.examples@4.0.1``) holds 5,306 resources (files),
19,263 counting the resources nested in Bundles, ``contained`` and Parameters. A handful
are genuinely wrong against the R4 definitions; each is listed in ``DEFECTIVE`` with why.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from fhir_server import fhirjson
from fhir_server.errors import Issue
from fhir_server.validation import has_errors, validate_resource
from tests.conftest import require_r4_examples

_BASE_MISSING = ("required", "SearchParameter.base")

# file -> (issue code, expression) of its first error. Each is wrong per the R4 spec:
DEFECTIVE: dict[str, tuple[str, str]] = {
    # concept codes with a trailing non-breaking space (mojibake "CHESTÂ\xa0"), which the code
    # type forbids (regex [^\s]+(\s[^\s]+)*): found by fhirkit.
    "CodeSystem-v2-0550.json": ("value", "CodeSystem.concept[74].code"),
    "Bundle-v2-valuesets.json": ("value", "Bundle.entry[814].resource.concept[74].code"),  # same one
    # ImplementationGuide.name and .status are 1..1 and absent (the same IG twice).
    "ImplementationGuide-fhir.json": ("required", "ImplementationGuide.name"),
    "ig-r4.json": ("required", "ImplementationGuide.name"),
    # Questionnaire.item.linkId is 1..1; 32 nested items have none.
    "Questionnaire-qs1.json": ("required", "Questionnaire.item[0].item[0].linkId"),
    # SearchParameter.base is 1..*; the ten extension search parameters have none.
    "SearchParameter-codesystem-extensions-CodeSystem-author.json": _BASE_MISSING,
    "SearchParameter-codesystem-extensions-CodeSystem-effective.json": _BASE_MISSING,
    "SearchParameter-codesystem-extensions-CodeSystem-end.json": _BASE_MISSING,
    "SearchParameter-codesystem-extensions-CodeSystem-keyword.json": _BASE_MISSING,
    "SearchParameter-codesystem-extensions-CodeSystem-workflow.json": _BASE_MISSING,
    "SearchParameter-valueset-extensions-ValueSet-author.json": _BASE_MISSING,
    "SearchParameter-valueset-extensions-ValueSet-effective.json": _BASE_MISSING,
    "SearchParameter-valueset-extensions-ValueSet-end.json": _BASE_MISSING,
    "SearchParameter-valueset-extensions-ValueSet-keyword.json": _BASE_MISSING,
    "SearchParameter-valueset-extensions-ValueSet-workflow.json": _BASE_MISSING,
    # Found by our id check (fhirkit does not check Resource.id): the id
    # "questionnaireresponse-extensions-QuestionnaireResponse-item-subject" has 67 characters;
    # the id type allows 1 to 64 (http://hl7.org/fhir/R4/datatypes.html#id). It is not in
    # Bundle-searchParams.json, so no Bundle repeats it.
    "SearchParameter-questionnaireresponse-extensions-QuestionnaireResponse-item-subject.json": (
        "value",
        "SearchParameter.id",
    ),
    # Base invariants (fhir_server/validation/invariants.py), each checked against the text:
    # bdl-7 "FullUrl must be unique in a bundle, or else entries with the same fullUrl must
    # have different meta.versionId": de-Quantity.value and others appear twice.
    "Bundle-dataelements.json": ("invariant", "Bundle"),
    # sdf-4 "If the structure is not abstract, then there SHALL be a baseDefinition": these
    # logical models have abstract=false and no baseDefinition.
    **{
        f"StructureDefinition-{m}.json": ("invariant", "StructureDefinition")
        for m in ("Definition", "Event", "FiveWs", "Request")
    },
}
# The binding and date checks find nothing else: every required-bound code, Coding and
# CodeableConcept in the examples (173,877 codes, 63 CodeableConcepts) and every date,
# dateTime and instant (31,151) is valid.


def _count_resources(node: object) -> int:
    """Resources in ``node``, nested ones included."""
    count, stack = 0, [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            count += isinstance(item.get("resourceType"), str)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return count


@pytest.fixture(scope="module")
def examples() -> list[tuple[str, dict[str, object]]]:
    folder: Path = require_r4_examples()
    return [
        (f.name, fhirjson.loads(f.read_bytes()))
        for f in sorted(folder.glob("*.json"))
        if f.name != "package.json"
    ]


@pytest.mark.slow
def test_exactly_the_defective_examples_are_refused(
    examples: list[tuple[str, dict[str, object]]],
) -> None:
    validate_resource(examples[0][1])  # warm up: compile the plans outside the timing
    refused: dict[str, list[Issue]] = {}
    started = time.perf_counter()
    for name, resource in examples:
        issues = validate_resource(resource)
        if has_errors(issues):
            refused[name] = issues
    elapsed = time.perf_counter() - started

    nested = sum(_count_resources(r) for _, r in examples)
    print(
        f"\n{len(examples)} examples ({nested} resources with nested ones) in {elapsed:.2f} s: "
        f"{len(examples) / elapsed:.0f} files/s, {nested / elapsed:.0f} resources/s"
    )
    for name, issues in sorted(refused.items()):
        print(f"  refused {name}: {len(issues)} issues, first {issues[0].expression}")

    assert sorted(refused) == sorted(DEFECTIVE)
    for name, (code, expression) in DEFECTIVE.items():
        first = refused[name][0]
        assert (first.code, first.expression) == (code, (expression,)), name
    assert len(refused["Questionnaire-qs1.json"]) == 32
    assert {i.expression[0] for i in refused["ImplementationGuide-fhir.json"]} == {
        "ImplementationGuide.name",
        "ImplementationGuide.status",
    }


def test_the_examples_carry_no_warnings_either(examples: list[tuple[str, dict[str, object]]]) -> None:
    subset = [(n, r) for n, r in examples if n.startswith(("Patient-", "Observation-", "Claim"))]
    assert len(subset) > 50
    for name, resource in subset:
        assert validate_resource(resource) == [], name
