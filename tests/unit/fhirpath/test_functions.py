"""What ``fhir_server.fhirpath`` adds to or fixes in fhirpathpy, one behaviour per test (the
official suite covers the rest: test_fhirpath_suite.py)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from fhir_server.fhirpath import FhirPathError, compile_expression, evaluate
from fhir_server.fhirpath.corrections import corrected
from fhir_server.fhirpath.functions import set_conforms_to, set_member_of

BIRTH_TIME = "http://hl7.org/fhir/StructureDefinition/patient-birthTime"
PATIENT: dict[str, Any] = {
    "resourceType": "Patient",
    "id": "p1",
    "active": True,
    "birthDate": "1974-12-25",
    "_birthDate": {"extension": [{"url": BIRTH_TIME, "valueDateTime": "1974-12-25T14:35:45-05:00"}]},
    "name": [{"family": "Chalmers", "given": ["Peter", "James"]}, {"family": "Windsor"}],
    "extension": [
        {"url": "http://x/a", "valueString": "one"},
        {"url": "http://x/b", "valueString": "other"},
        {"url": "http://x/a", "valueString": "two"},
    ],
    "contained": [{"resourceType": "Organization", "id": "org", "name": "Acme"}],
    "managingOrganization": {"reference": "#org"},
}


@pytest.fixture
def hooks() -> Iterator[None]:
    yield
    set_member_of(None)
    set_conforms_to(None)


def ev(expression: str, resource: Any = None) -> list[Any]:
    return evaluate(PATIENT if resource is None else resource, expression)


# -- primitives with a value and extensions ----------------------------------------------------


def test_primitive_with_extension_is_one_item() -> None:
    assert ev("Patient.birthDate.count()") == [1]  # fhirpathpy alone: 2
    assert ev("Patient.birthDate = @1974-12-25") == [True]  # fhirpathpy alone: false
    assert ev("Patient.birthDate.hasValue()") == [True]
    assert ev(f"Patient.birthDate.extension('{BIRTH_TIME}').value") == ["1974-12-25T14:35:45-05:00"]


def test_has_value_and_get_value() -> None:
    only_ext = {"resourceType": "Patient", "_birthDate": {"extension": [{"url": "u", "valueString": "x"}]}}
    assert ev("Patient.birthDate.hasValue()", only_ext) == [False]
    assert ev("Patient.birthDate.exists()", only_ext) == [True]
    assert ev("Patient.name.hasValue()") == [False]  # not a primitive
    assert ev("Patient.active.getValue()") == [True]


def test_ele1_counts_extension_only_primitives_as_children() -> None:
    """ele-1 on a Timing whose only content is ``_event`` (R4 example heart-valve-replacement)."""
    timing = {"resourceType": "Basic", "x": {"_event": [{"extension": [{"url": "u", "valueString": "x"}]}]}}
    assert ev("x.select(hasValue() or (children().count() > id.count()))", timing) == [True]


# -- FHIR functions and variables ---------------------------------------------------------------


def test_extension_returns_every_match() -> None:
    assert ev("Patient.extension('http://x/a').value") == ["one", "two"]  # fhirpathpy alone: "one"
    assert ev("Patient.extension('http://x/none')") == []


def test_resolve_contained_and_bundle_entries() -> None:
    assert ev("Patient.managingOrganization.resolve().name") == ["Acme"]
    assert ev("Patient.managingOrganization.resolve() is Organization") == [True]
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"fullUrl": "http://s/fhir/Patient/1", "resource": {"resourceType": "Patient", "id": "1"}},
            {
                "fullUrl": "urn:uuid:0f1",
                "resource": {"resourceType": "Encounter", "subject": {"reference": "Patient/1"}},
            },
        ],
    }
    assert ev("Bundle.entry.resource.subject.resolve().id", bundle) == ["1"]
    assert ev("Patient.link.other.resolve()") == []  # not held by the context: nothing


def test_fhir_environment_variables() -> None:
    assert ev("%ucum") == ["http://unitsofmeasure.org"]
    assert ev("%sct") == ["http://snomed.info/sct"]
    assert ev("%loinc") == ["http://loinc.org"]
    assert ev("%`vs-administrative-gender`") == ["http://hl7.org/fhir/ValueSet/administrative-gender"]
    assert ev("%`ext-patient-birthTime`") == [BIRTH_TIME]
    assert ev("%resource.id") == ["p1"]
    with pytest.raises(FhirPathError, match="undefined environment variable"):
        ev("%nope")


def test_conforms_to_core_types_unknown_profile_and_hook(hooks: None) -> None:
    assert ev("conformsTo('http://hl7.org/fhir/StructureDefinition/Patient')") == [True]
    assert ev("conformsTo('http://hl7.org/fhir/StructureDefinition/DomainResource')") == [True]
    assert ev("conformsTo('http://hl7.org/fhir/StructureDefinition/Person')") == [False]
    with pytest.raises(FhirPathError, match="unknown profile"):
        ev("conformsTo('https://openimis.org/fhir/StructureDefinition/insuree')")
    set_conforms_to(lambda url, res: res.get("active") is True if url.endswith("/insuree") else None)
    assert ev("conformsTo('https://openimis.org/fhir/StructureDefinition/insuree')") == [True]


def test_member_of_goes_through_the_hook(hooks: None) -> None:
    with pytest.raises(FhirPathError, match="terminology"):
        ev("Patient.name.family.first().memberOf('http://vs')")
    seen: list[tuple[str, Any]] = []

    def member_of(url: str, value: Any) -> bool | None:
        seen.append((url, value))
        return None if url == "http://unknown" else value == "Chalmers"

    set_member_of(member_of)
    assert ev("Patient.name.family.first().memberOf('http://vs')") == [True]
    assert ev("Patient.name.family.last().memberOf('http://vs')") == [False]
    assert ev("Patient.name.family.first().memberOf('http://unknown')") == []
    assert seen[0] == ("http://vs", "Chalmers")


def test_html_checks() -> None:
    ok = {
        "resourceType": "Basic",
        "text": {"div": '<div xmlns="http://www.w3.org/1999/xhtml"><p>x</p></div>'},
    }
    script = {"resourceType": "Basic", "text": {"div": "<div><script>alert(1)</script></div>"}}
    handler = {"resourceType": "Basic", "text": {"div": '<div><p onclick="x()">a</p></div>'}}
    assert ev("text.div.htmlChecks()", ok) == [True]
    assert ev("text.div.htmlChecks()", script) == [False]
    assert ev("text.div.htmlChecks()", handler) == [False]


def test_trace_logs_instead_of_printing(
    caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    with caplog.at_level(logging.DEBUG, logger="fhir_server.fhirpath"):
        assert ev("Patient.name.family.trace('fam').count()") == [2]
    assert "fam" in caplog.text and "Chalmers" in caplog.text
    assert "TRACE" not in capsys.readouterr().out


# -- quantities, dates, numbers ------------------------------------------------------------------


def test_quantity_ordering_with_units() -> None:
    """fhirpathpy alone raises TypeError on any quantity order comparison (rng-2, ...)."""
    assert ev("1 'kg' > 900 'g'") == [True]
    assert ev("6 days < 1 week") == [True]
    assert ev("1 'kg' < 1 'm'") == []  # not comparable
    obs = {
        "resourceType": "Observation",
        "valueQuantity": {"value": 185, "system": "http://unitsofmeasure.org", "code": "[lb_av]"},
    }
    assert ev("Observation.value < 200 '[lb_av]'", obs) == [True]
    rng = {
        "resourceType": "Basic",
        "r": {
            "low": {"value": 5, "code": "mg", "system": "http://unitsofmeasure.org"},
            "high": {"value": 1, "code": "g", "system": "http://unitsofmeasure.org"},
        },
    }
    assert ev("r.select(low <= high)", rng) == [True]


def test_date_time_equality_respects_precision_and_timezone() -> None:
    assert ev("@2012-04-15 = @2012-04-15T10:00:00") == []
    assert ev("@2012-04-15 = @2012-04-16T10:00:00") == [False]
    assert ev("@2012-04-15T15:00:00Z = @2012-04-15T10:00:00") == []
    assert ev("@2012-04-15T15:30:31 = @2012-04-15T15:30:31.0") == [True]
    assert ev("Patient.birthDate != @1974-12-25T12:34:00Z") == []


def test_boundaries_and_precision() -> None:
    assert ev("1.587.lowBoundary()") == [Decimal("1.58650000")]
    assert ev("1.587.highBoundary(2)") == [Decimal("1.59")]
    assert [str(v) for v in ev("@2014.highBoundary(6)")] != []
    assert ev("@2014-01-05T10:30:00.000.precision()") == [17]
    assert ev("1.58700.precision()") == [5]
    assert ev("1.0.is(Decimal)") == [True] and ev("1.0.toString()") == ["1.0"]


def test_period_invariant_per1() -> None:
    expr = "start.hasValue().not() or end.hasValue().not() or (start <= end)"
    good = {"resourceType": "Basic", "p": {"start": "2020-01-01", "end": "2020-02-01T10:00:00Z"}}
    bad = {"resourceType": "Basic", "p": {"start": "2021-01-01", "end": "2020-02-01"}}
    assert ev(f"p.select({expr})", good) == [True]
    assert ev(f"p.select({expr})", bad) == [False]


# -- collections and control -----------------------------------------------------------------------


def test_sort_iif_aggregate_repeat_and_strings() -> None:
    assert ev("Patient.name.family.sort(-$this)") == ["Windsor", "Chalmers"]
    assert ev("(3 | 1 | 2).sort()") == [1, 2, 3]
    assert ev("iif(Patient.active, 'yes', 'no')") == ["yes"]
    assert ev("(1 | 2 | 3).aggregate($this + $total, 0)") == [6]
    q = {"resourceType": "Questionnaire", "item": [{"linkId": "1", "item": [{"linkId": "1.1"}]}]}
    assert ev("Questionnaire.repeat(item).linkId", q) == ["1", "1.1"]
    assert ev("'abc'.matchesFull('a.c')") == [True] and ev("'xabc'.matchesFull('a.c')") == [False]
    assert ev("true.toString()") == ["true"]
    assert ev("(1 | 2 | 3) ~ (3 | 2 | 1)") == [True]


def test_errors_on_collections_where_a_single_item_is_required() -> None:
    for expr in ("Patient.name.single()", "(1 | 2).not()", "('a' | 'b').iif(true, 1, 2)"):
        with pytest.raises(FhirPathError):
            ev(expr)


def test_compile_is_cached_and_syntax_errors_raise() -> None:
    assert compile_expression("Patient.id") is compile_expression("Patient.id")
    with pytest.raises(FhirPathError):
        compile_expression("Patient.name.where(")


def test_corrected_base_invariants() -> None:
    published = "operator = 'exists' implies (answer is Boolean)"
    assert corrected("que-7", published) == "operator = 'exists' implies (answer is boolean)"
    assert corrected("pat-1", "x") == "x"
    when = {"question": "1", "operator": "exists", "answerBoolean": True}
    q = {"resourceType": "Questionnaire", "status": "draft", "item": [{"linkId": "2", "enableWhen": [when]}]}
    path = "Questionnaire.item.enableWhen"
    assert ev(f"{path}.select({published})", q) == [False]  # as published: System.Boolean
    assert ev(f"{path}.select({corrected('que-7', published)})", q) == [True]
