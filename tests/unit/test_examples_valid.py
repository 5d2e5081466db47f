"""The files in ``examples/`` are valid R4 resources whose references resolve.

Every file is named ``<resourceType>-<id>.json`` after its content, validates
(``raise_if_invalid``, as on every write), keeps its decimals as written (decoding and
re-encoding gives the same bytes), and every ``Reference.reference`` points to another
example file (``Type/id``, or ``Type/id/_history/1`` for the version it was written
as), or inside a Bundle to one of its own entries (``fullUrl`` or ``Type/id``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fhir_server import fhirjson
from fhir_server.validation import raise_if_invalid
from tests.conftest import EXAMPLES

FILES = sorted(EXAMPLES.glob("*.json"))
BY_NAME = {p.name for p in FILES}


def load(path: Path) -> dict[str, Any]:
    resource = fhirjson.loads(path.read_bytes())
    assert isinstance(resource, dict)
    return resource


def references(node: Any) -> Iterator[str]:
    """Every ``reference`` string of a Reference, anywhere in the resource."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "reference" and isinstance(value, str):
                yield value
            else:
                yield from references(value)
    elif isinstance(node, list):
        for value in node:
            yield from references(value)


def bundle_targets(resource: dict[str, Any]) -> set[str]:
    """What references inside a Bundle may point to: its fullUrls and ``Type/id`` of its entries."""
    out: set[str] = set()
    for entry in resource.get("entry", []):
        if "fullUrl" in entry:
            out.add(entry["fullUrl"])
        inner = entry.get("resource") or {}
        if "id" in inner:
            out.add(f"{inner['resourceType']}/{inner['id']}")
    return out


def test_there_are_examples_of_every_insurance_resource() -> None:
    types = {p.name.split("-", 1)[0] for p in FILES}
    wanted = {
        "Organization",
        "Location",
        "Practitioner",
        "Patient",
        "Group",
        "InsurancePlan",
        "Coverage",
        "PaymentNotice",
        "CoverageEligibilityRequest",
        "CoverageEligibilityResponse",
        "Claim",
        "ClaimResponse",
        "Communication",
        "Observation",
        "Bundle",
    }
    assert wanted <= types
    assert len(FILES) >= 40


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_example_is_valid(path: Path) -> None:
    resource = load(path)
    assert path.name == f"{resource['resourceType']}-{resource['id']}.json"
    raise_if_invalid(resource)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_example_keeps_its_decimals_as_written(path: Path) -> None:
    raw = path.read_bytes()
    assert fhirjson.dumps_pretty(fhirjson.loads(raw)) + b"\n" == raw


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_example_references_resolve(path: Path) -> None:
    resource = load(path)
    local = bundle_targets(resource) if resource["resourceType"] == "Bundle" else set()
    unresolved = []
    for target in references(resource):
        if target.startswith("#") or target in local:
            continue
        rtype, rid, *version = target.split("/")
        if f"{rtype}-{rid}.json" not in BY_NAME or version not in ([], ["_history", "1"]):
            unresolved.append(target)
    assert unresolved == []
