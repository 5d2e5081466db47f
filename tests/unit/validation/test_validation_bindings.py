"""Required bindings on code, Coding and CodeableConcept, wherever the element sits."""

from __future__ import annotations

from typing import Any

import pytest

from fhir_server.definitions import load
from fhir_server.errors import Issue
from fhir_server.validation import validate_resource
from fhir_server.validation.bindings import CodeableConceptCheck, CodingCheck
from fhir_server.validation.walker import Finding

GENDER = "http://hl7.org/fhir/ValueSet/administrative-gender"
CLINICAL = "http://hl7.org/fhir/ValueSet/condition-clinical"
CLINICAL_SYSTEM = "http://terminology.hl7.org/CodeSystem/condition-clinical"


def issues(resource: dict[str, Any]) -> list[tuple[str, tuple[str, ...]]]:
    return [(i.code, i.expression) for i in validate_resource(resource)]


def bad(path: str) -> list[tuple[str, tuple[str, ...]]]:
    return [("code-invalid", (path,))]


def test_code_in_the_value_set_is_fine() -> None:
    assert validate_resource({"resourceType": "Patient", "gender": "female"}) == []


def test_code_outside_the_value_set() -> None:
    [issue] = validate_resource({"resourceType": "Patient", "gender": "F"})
    assert issue == Issue(
        "error",
        "code-invalid",
        f"Code 'F' is not in the required value set {GENDER} (allowed: female, male, other, unknown)",
        ("Patient.gender",),
    )


def test_codes_are_case_sensitive() -> None:
    assert issues({"resourceType": "Patient", "gender": "Female"}) == bad("Patient.gender")


def test_a_code_fhirkit_refused_is_not_reported_again() -> None:
    assert issues({"resourceType": "Patient", "gender": "x y "}) == [("value", ("Patient.gender",))]


@pytest.mark.parametrize(
    ("resource", "path"),
    [
        ({"name": [{"use": "formal"}]}, "Patient.name[0].use"),  # HumanName.use
        ({"telecom": [{"system": "mobile", "value": "1"}]}, "Patient.telecom[0].system"),  # ContactPoint
        ({"telecom": [{"use": "cell", "value": "1"}]}, "Patient.telecom[0].use"),
        ({"identifier": [{"use": "primary"}]}, "Patient.identifier[0].use"),  # Identifier.use
        ({"address": [{"type": "home"}]}, "Patient.address[0].type"),  # Address.type
        (
            {"text": {"status": "done", "div": '<div xmlns="http://www.w3.org/1999/xhtml">x</div>'}},
            "Patient.text.status",
        ),
        ({"contact": [{"gender": "f"}]}, "Patient.contact[0].gender"),  # backbone element
        ({"contact": [{"name": {"use": "x"}}]}, "Patient.contact[0].name.use"),  # datatype in a backbone
        ({"link": [{"type": "same", "other": {"reference": "Patient/1"}}]}, "Patient.link[0].type"),
        ({"communication": [{"language": {"text": "x"}, "_preferred": {}}], "language": "xx"}, None),
    ],
)
def test_bound_codes_in_datatypes_and_backbones(resource: dict[str, Any], path: str | None) -> None:
    found = issues({"resourceType": "Patient", **resource})
    assert found == ([] if path is None else bad(path))  # Resource.language is preferred-bound


def test_quantity_comparator_in_a_choice_and_in_an_extension() -> None:
    observation = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"text": "weight"},
        "valueQuantity": {"value": 1, "comparator": "~"},
        "extension": [{"url": "http://example.org/x", "valueAge": {"value": 3, "comparator": "=<"}}],
    }
    assert issues(observation) == bad("Observation.valueQuantity.comparator") + bad(
        "Observation.extension[0].valueAge.comparator"
    )


def test_status_of_a_resource() -> None:
    observation = {"resourceType": "Observation", "status": "done", "code": {"text": "x"}}
    assert issues(observation) == bad("Observation.status")


def test_repeating_code_elements() -> None:
    sp = {
        "resourceType": "SearchParameter",
        "url": "http://example.org/sp",
        "name": "x",
        "status": "draft",
        "description": "x",
        "code": "x",
        "base": ["Patient", "Pateint"],
        "type": "token",
    }
    assert issues(sp) == bad("SearchParameter.base[1]")


def test_backbone_by_content_reference() -> None:
    questionnaire = {
        "resourceType": "Questionnaire",
        "status": "draft",
        "item": [{"linkId": "1", "type": "group", "item": [{"linkId": "1.1", "type": "text-box"}]}],
    }
    assert issues(questionnaire) == bad("Questionnaire.item[0].item[0].type")


def test_contained_bundled_and_parameter_resources() -> None:
    patient = {"resourceType": "Patient", "contained": [{"resourceType": "Patient", "gender": "m"}]}
    assert issues(patient) == bad("Patient.contained[0].gender")
    bundle = {"resourceType": "Bundle", "type": "batch", "entry": [{"resource": patient}]}
    assert issues(bundle) == bad("Bundle.entry[0].resource.contained[0].gender")
    params = {
        "resourceType": "Parameters",
        "parameter": [{"name": "r", "resource": {"resourceType": "Patient", "gender": "m"}}],
    }
    assert issues(params) == bad("Parameters.parameter[0].resource.gender")
    nested = {
        "resourceType": "Parameters",
        "parameter": [{"name": "a", "part": [{"name": "b", "resource": patient}]}],
    }
    assert issues(nested) == bad("Parameters.parameter[0].part[0].resource.contained[0].gender")


def test_bundle_own_codes() -> None:
    assert issues({"resourceType": "Bundle", "type": "list"}) == bad("Bundle.type")
    bundle = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [{"request": {"method": "GO", "url": "Patient"}}],
    }
    assert issues(bundle) == bad("Bundle.entry[0].request.method")


def test_value_sets_that_could_not_be_expanded_are_skipped() -> None:
    assert "http://hl7.org/fhir/ValueSet/mimetypes" not in load().valuesets
    patient = {"resourceType": "Patient", "photo": [{"contentType": "not/a-registered-type"}]}
    assert validate_resource(patient) == []


# --- CodeableConcept (Condition.clinicalStatus is bound required in R4) ------------------------


def condition(clinical_status: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "subject": {"reference": "Patient/1"},
        "clinicalStatus": clinical_status,
    }


def test_codeable_concept_with_a_coding_from_the_value_set() -> None:
    assert validate_resource(condition({"coding": [{"system": CLINICAL_SYSTEM, "code": "active"}]})) == []


def test_codeable_concept_with_a_translation_beside_the_required_coding() -> None:
    cc = {
        "coding": [
            {"system": "http://snomed.info/sct", "code": "55561003"},
            {"system": CLINICAL_SYSTEM, "code": "active"},
        ],
        "text": "Active",
    }
    assert validate_resource(condition(cc)) == []


def test_codeable_concept_with_text_only() -> None:
    [issue] = validate_resource(condition({"text": "active"}))
    assert (issue.code, issue.expression) == ("code-invalid", ("Condition.clinicalStatus",))
    assert issue.diagnostics == (
        f"A Coding from the required value set {CLINICAL} is needed; text alone is not enough"
    )


def test_codeable_concept_with_codings_from_other_systems_only() -> None:
    [issue] = validate_resource(
        condition({"coding": [{"system": "http://snomed.info/sct", "code": "55561003"}]})
    )
    assert (issue.code, issue.expression) == ("code-invalid", ("Condition.clinicalStatus",))
    assert issue.diagnostics == f"None of the Codings is from the required value set {CLINICAL}"


def test_codeable_concept_with_a_wrong_code_of_the_value_set_system() -> None:
    cc = {
        "coding": [{"system": CLINICAL_SYSTEM, "code": "active"}, {"system": CLINICAL_SYSTEM, "code": "gone"}]
    }
    [issue] = validate_resource(condition(cc))
    assert (issue.code, issue.expression) == ("code-invalid", ("Condition.clinicalStatus.coding[1]",))
    assert issue.diagnostics.startswith(
        f"Code '{CLINICAL_SYSTEM}|gone' is not in the required value set {CLINICAL}"
    )


def test_codeable_concept_with_a_coding_without_code() -> None:
    assert issues(condition({"coding": [{"system": CLINICAL_SYSTEM}]})) == bad(
        "Condition.clinicalStatus.coding[0]"
    )


def test_codeable_concept_in_a_backbone() -> None:
    plan = {
        "resourceType": "InsurancePlan",
        "plan": [
            {
                "specificCost": [
                    {
                        "category": {"text": "x"},
                        "benefit": [
                            {
                                "type": {"text": "x"},
                                "cost": [{"type": {"text": "x"}, "applicability": {"text": "in"}}],
                            }
                        ],
                    }
                ]
            }
        ],
    }
    assert issues(plan) == bad("InsurancePlan.plan[0].specificCost[0].benefit[0].cost[0].applicability")


# --- Coding (no R4 base element has a required Coding binding; profiles will) ------------------


def test_coding_check() -> None:
    check = CodingCheck(CLINICAL, load().valuesets[CLINICAL])
    assert check({"system": CLINICAL_SYSTEM, "code": "active"}) == ()
    assert check("not a coding") == ()
    [finding] = check({"system": CLINICAL_SYSTEM, "code": "gone"})
    assert finding.code == "code-invalid" and finding.suffix == ""
    assert check({"system": "http://snomed.info/sct", "code": "1"}) == (
        Finding(
            "code-invalid", f"System 'http://snomed.info/sct' is not in the required value set {CLINICAL}"
        ),
    )
    assert check({"code": "active"})[0].diagnostics == (
        f"A Coding with system and code from the required value set {CLINICAL} is needed"
    )


def test_codeable_concept_check_tolerates_bad_shapes() -> None:
    check = CodeableConceptCheck(CLINICAL, load().valuesets[CLINICAL])
    assert check([]) == ()
    assert len(check({"coding": "x"})) == 1
    assert len(check({"coding": [None, 3]})) == 1
