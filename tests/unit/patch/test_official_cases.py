"""The official patch test cases (FHIR/fhir-test-cases, r4/patch).

fhir-patch-tests.xml: 33 FHIRPath Patch cases in XML, converted to JSON with
``fhir_xml``; json-patch-tests.json: 16 RFC 6902 cases. Both are applied forwards
(input + diff → output, or the expected error). The ``mode`` attribute concerns diff
generation, which a server does not do.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from fhir_server.errors import FhirError
from fhir_server.patch import apply_fhirpath_patch, apply_json_patch

from .fhir_xml import resource_to_json

SHARED = Path(__file__).resolve().parents[3].parent / "shared" / "data"
CASES = SHARED / "fhir-test-cases" / "r4" / "patch"
FHIRPATH_CASES = CASES / "fhir-patch-tests.xml"
JSON_CASES = CASES / "json-patch-tests.json"


def _require(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"{path} is absent (third-party test data lives in ../shared/data beside the clone)")
    return path


def _fhirpath_cases() -> list[Any]:
    if not FHIRPATH_CASES.exists():
        return [pytest.param(None, id="fhir-patch-tests.xml-absent")]
    root = ET.parse(FHIRPATH_CASES).getroot()
    return [pytest.param(case, id=case.get("name")) for case in root.iter("case")]


def _json_cases() -> list[Any]:
    if not JSON_CASES.exists():
        return [pytest.param(None, id="json-patch-tests.json-absent")]
    cases = json.loads(JSON_CASES.read_text(), parse_float=Decimal)
    return [pytest.param(case, id=case["comment"]) for case in cases]


def _only_resource(parent: ET.Element | None) -> dict[str, Any]:
    assert parent is not None
    return resource_to_json(next(c for c in parent if isinstance(c.tag, str)))


def _canonical(value: Any) -> Any:
    """Narrative is compared as canonical XML: the patch value and the XML differ in layout."""
    if isinstance(value, dict):
        return {
            k: ET.canonicalize(v) if k == "div" and isinstance(v, str) else _canonical(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    return value


def test_case_files_present() -> None:
    _require(FHIRPATH_CASES)
    _require(JSON_CASES)
    root = ET.parse(FHIRPATH_CASES).getroot()
    assert len(list(root.iter("case"))) == 33
    assert len(json.loads(JSON_CASES.read_text())) == 16


@pytest.mark.parametrize("case", _fhirpath_cases())
def test_fhirpath_patch_case(case: ET.Element | None) -> None:
    _require(FHIRPATH_CASES)
    assert case is not None
    source = _only_resource(case.find("input"))
    parameters = _only_resource(case.find("diff"))
    error = case.find("error")
    if error is not None:
        with pytest.raises(FhirError) as caught:
            apply_fhirpath_patch(source, parameters)
        assert caught.value.status == 422
        assert str(caught.value) == error.get("msg")
        return
    expected = _only_resource(case.find("output"))
    before = json.dumps(source, default=str)
    assert _canonical(apply_fhirpath_patch(source, parameters)) == _canonical(expected)
    assert json.dumps(source, default=str) == before  # the input is left alone


@pytest.mark.parametrize("case", _json_cases())
def test_json_patch_case(case: dict[str, Any] | None) -> None:
    _require(JSON_CASES)
    assert case is not None
    if "error" in case:
        with pytest.raises(FhirError) as caught:
            apply_json_patch(case["doc"], case["patch"])
        assert caught.value.status == 422, caught.value.diagnostics
        return
    assert apply_json_patch(case["doc"], case["patch"]) == case["expected"]
