"""resourceType checks and what fhirkit reports, mapped to our issues (expression, code)."""

from __future__ import annotations

from typing import Any

import pytest

from fhir_server.errors import Issue
from fhir_server.validation import validate_resource
from fhir_server.validation.structure import issue_code


def found(resource: Any, expected_type: str | None = None) -> list[tuple[str, tuple[str, ...]]]:
    return [(i.code, i.expression) for i in validate_resource(resource, expected_type=expected_type)]


def test_a_minimal_valid_resource_has_no_issues() -> None:
    assert validate_resource({"resourceType": "Patient", "id": "p-1.a"}) == []


def test_missing_resource_type_is_required() -> None:
    [issue] = validate_resource({"id": "x"})
    assert (issue.severity, issue.code, issue.expression) == ("error", "required", ())
    assert "resourceType is missing" in issue.diagnostics


def test_missing_resource_type_names_the_expected_type() -> None:
    [issue] = validate_resource({"id": "x"}, expected_type="Patient")
    assert issue.diagnostics == "resourceType is missing: expected a Patient"


@pytest.mark.parametrize("rtype", ["Foo", "patient", "DomainResource", "Resource", "HumanName"])
def test_unknown_resource_type_is_invalid(rtype: str) -> None:
    [issue] = validate_resource({"resourceType": rtype})
    assert (issue.code, issue.expression) == ("invalid", (rtype,))
    assert issue.diagnostics == f"'{rtype}' is not a FHIR R4 resource type"


def test_resource_type_that_is_not_a_string() -> None:
    [issue] = validate_resource({"resourceType": 12})
    assert (issue.code, issue.expression) == ("invalid", ())


def test_content_that_is_not_an_object() -> None:
    assert found(["Patient"]) == [("structure", ())]


def test_expected_type_mismatch() -> None:
    [issue] = validate_resource({"resourceType": "Observation"}, expected_type="Patient")
    assert (issue.code, issue.expression) == ("invalid", ("Observation",))
    assert issue.diagnostics == "Expected resource type Patient, found Observation"


def test_expected_type_match() -> None:
    assert validate_resource({"resourceType": "Patient"}, expected_type="Patient") == []


def test_unknown_element_is_structure() -> None:
    [issue] = validate_resource({"resourceType": "Patient", "foo": 1})
    assert issue == Issue("error", "structure", "Patient.foo: unknown element", ("Patient.foo",))


def test_wrong_json_type_is_structure() -> None:
    assert found({"resourceType": "Patient", "name": [{"family": 1}]}) == [
        ("structure", ("Patient.name[0].family",))
    ]
    assert found({"resourceType": "Patient", "active": "yes"}) == [("structure", ("Patient.active",))]
    assert found({"resourceType": "Patient", "name": {"family": "x"}}) == [("structure", ("Patient.name",))]


def test_missing_required_elements() -> None:
    assert found({"resourceType": "Observation", "code": {"text": "x"}}) == [
        ("required", ("Observation.status",))
    ]
    assert found({"resourceType": "Patient", "link": [{"type": "seealso"}]}) == [
        ("required", ("Patient.link[0].other",))
    ]


def test_primitive_syntax_is_value() -> None:
    assert found({"resourceType": "Patient", "gender": "x y "}) == [("value", ("Patient.gender",))]
    assert found({"resourceType": "Patient", "multipleBirthInteger": 2**40}) == [
        ("value", ("Patient.multipleBirthInteger",))
    ]
    assert found({"resourceType": "Patient", "name": [{"family": ""}]}) == [
        ("value", ("Patient.name[0].family",))
    ]


def test_choice_conflict_is_reported_once() -> None:
    issues = validate_resource(
        {"resourceType": "Patient", "deceasedBoolean": True, "deceasedDateTime": "2020"}
    )
    assert [(i.code, i.expression) for i in issues] == [("structure", ("Patient.deceased[x]",))]
    assert "deceasedBoolean, deceasedDateTime" in issues[0].diagnostics


def test_empty_array_and_null() -> None:
    assert found({"resourceType": "Patient", "name": []}) == [("structure", ("Patient.name",))]
    assert found({"resourceType": "Patient", "name": [None]}) == [("structure", ("Patient.name[0]",))]


def test_nested_resources_are_checked_with_their_paths() -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": {"resourceType": "Patient", "name": [{"family": 1}]}}],
    }
    assert found(bundle) == [("structure", ("Bundle.entry[0].resource.name[0].family",))]
    params = {"resourceType": "Parameters", "parameter": [{"name": "p", "resource": {"resourceType": "Foo"}}]}
    assert found(params) == [("invalid", ("Parameters.parameter[0].resource",))]
    contained = {"resourceType": "Patient", "contained": [{"id": "a"}]}
    assert found(contained) == [("required", ("Patient.contained[0]",))]


def test_content_that_is_not_json() -> None:
    issues = validate_resource({"resourceType": "Patient", "name": [{"family": object()}]})
    assert [(i.code, i.expression) for i in issues] == [("structure", ())]


@pytest.mark.parametrize(
    ("message", "code"),
    [
        ("required element missing", "required"),
        ("needs at least 2 entries, found 1", "required"),
        ("a resource needs a resourceType", "required"),
        ("unknown element", "structure"),
        ("expected a string, found a number", "structure"),
        ("expected a single value, found an array", "structure"),
        ("only one type may be given, found valueString, valueBoolean", "structure"),
        ("the key appears more than once", "structure"),
        ("an empty array is not allowed; leave the element out", "structure"),
        ("null is not allowed in an array of complex values", "structure"),
        ("null with no extension in its place", "structure"),
        ("an empty string is not allowed; leave the element out", "value"),
        ('"x y " is not a valid code', "value"),
        ('"null" is not a valid code', "value"),
        ('"expected" is not a valid date', "value"),
        ("1.5 is not a FHIR integer", "value"),
        ("0 is not a positiveInt (1 or more)", "value"),
        ("-1 is not an unsignedInt (0 or more)", "value"),
        ("4294967296 is outside the 32-bit range of a FHIR integer", "value"),
        ("Foo is not a FHIR R4 resource type this build knows", "invalid"),
        ("something new", "invalid"),
    ],
)
def test_issue_codes_from_fhirkit_messages(message: str, code: str) -> None:
    assert issue_code(message) == code
