"""Base FHIRPath invariants on every write: official examples broken on purpose."""

from __future__ import annotations

import json
from typing import Any

from fhir_server.definitions import Constraint, load
from fhir_server.validation import validate_resource
from fhir_server.validation.invariants import InvariantChecker
from tests.conftest import require_r4_examples


def _example(name: str) -> dict[str, Any]:
    return json.loads((require_r4_examples() / name).read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def keys(resource: dict[str, Any]) -> list[tuple[str, str | None, str]]:
    return [
        (i.severity, i.details_code, i.expression[0]) for i in validate_resource(resource) if i.expression
    ]


def test_the_official_patient_example_is_valid() -> None:
    assert keys(_example("Patient-example.json")) == []


def test_pat_1_contact_without_details() -> None:
    r = _example("Patient-example.json")
    r["contact"] = [{"gender": "female"}]
    assert keys(r) == [("error", "pat-1", "Patient.contact[0]")]


def test_per_1_period_ending_before_it_starts() -> None:
    r = _example("Patient-example.json")
    r["name"][0]["period"] = {"start": "2010-01-01", "end": "2002-01-01"}
    assert keys(r) == [("error", "per-1", "Patient.name[0].period")]


def test_required_binding_on_an_official_example() -> None:
    r = _example("Patient-example.json")
    r["gender"] = "hermaphrodite"
    [issue] = validate_resource(r)
    assert (issue.code, issue.expression) == ("code-invalid", ("Patient.gender",))


def test_dom_3_contained_resource_not_referenced() -> None:
    r = {"resourceType": "Patient", "contained": [{"resourceType": "Organization", "id": "o1", "name": "x"}]}
    assert keys(r) == [("error", "dom-3", "Patient")]
    r["managingOrganization"] = {"reference": "#o1"}
    assert keys(r) == []


def test_dom_2_nested_contained() -> None:
    inner = {"resourceType": "Organization", "id": "i", "name": "i"}
    outer = {"resourceType": "Organization", "id": "o", "name": "o", "contained": [inner]}
    r = {"resourceType": "Patient", "contained": [outer], "managingOrganization": {"reference": "#o"}}
    assert ("error", "dom-2", "Patient") in keys(r)


def test_ele_1_empty_element() -> None:
    assert ("error", "ele-1", "Patient.maritalStatus") in keys(
        {"resourceType": "Patient", "maritalStatus": {"id": "x"}}
    )


def test_ext_1_extension_with_value_and_extensions() -> None:
    ext = {"url": "urn:x", "valueString": "a", "extension": [{"url": "urn:y", "valueString": "b"}]}
    assert ("error", "ext-1", "Patient.extension[0]") in keys({"resourceType": "Patient", "extension": [ext]})


def test_invariants_in_bundle_entries_point_at_the_entry() -> None:
    patient = {"resourceType": "Patient", "contact": [{"gender": "male"}]}
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"fullUrl": "urn:uuid:1", "resource": patient}],
    }
    assert keys(bundle) == [("error", "pat-1", "Bundle.entry[0].resource.contact[0]")]


def test_unsupported_expressions_are_skipped_and_counted() -> None:
    bogus = Constraint("tst-1", "error", "name.noSuchFunction()", "never a false error")
    checker = InvariantChecker(load(), constraints={"Patient": [bogus]})
    assert checker.check({"resourceType": "Patient", "name": [{"family": "x"}]}) == []
    assert checker.skipped["tst-1"] == 1
    assert checker.unsupported() == ["tst-1"]


def test_narrative_invariants_are_evaluated() -> None:
    ok = {"status": "generated", "div": '<div xmlns="http://www.w3.org/1999/xhtml">x</div>'}
    assert keys({"resourceType": "Patient", "text": ok}) == []
    checker = InvariantChecker(load())
    checker.check({"resourceType": "Patient", "text": ok})
    assert not checker.skipped


def test_rng_2_range_low_above_high() -> None:
    def obs(low: int, high: int) -> dict[str, Any]:
        q = {"system": "http://unitsofmeasure.org", "code": "kg", "unit": "kg"}
        return {
            "resourceType": "Observation",
            "status": "final",
            "code": {"text": "x"},
            "valueRange": {"low": {**q, "value": low}, "high": {**q, "value": high}},
        }

    assert keys(obs(1, 2)) == []
    assert keys(obs(3, 2)) == [("error", "rng-2", "Observation.valueRange")]


def test_ref_1_local_reference_to_a_missing_contained_resource() -> None:
    r = {"resourceType": "Patient", "managingOrganization": {"reference": "#nowhere"}}
    assert keys(r) == [("error", "ref-1", "Patient.managingOrganization")]
    # '#' alone, inside a contained resource, is its container (R5's reading of ref-1, dom-3)
    org = {"resourceType": "Organization", "id": "o", "name": "o", "partOf": {"reference": "#"}}
    assert keys({"resourceType": "Patient", "contained": [org]}) == []
