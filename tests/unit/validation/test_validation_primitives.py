"""id syntax and calendar-valid dates: what fhirkit catches, what we add, and the exact issues."""

from __future__ import annotations

from typing import Any

import fhirkit
import pytest

from fhir_server.errors import Issue
from fhir_server.validation import validate_resource
from fhir_server.validation.primitives import date_problem, datetime_problem, id_problem, instant_problem


def fhirkit_accepts(resource: dict[str, Any]) -> bool:
    return not fhirkit.validate(resource)


def issues(resource: dict[str, Any]) -> list[tuple[str, tuple[str, ...]]]:
    return [(i.code, i.expression) for i in validate_resource(resource)]


# --- what fhirkit does on its own (pinned: if a new fhirkit starts catching these, our
# --- checks stay correct because an element is never reported twice) ---------------------


def test_fhirkit_lets_impossible_calendar_dates_through() -> None:
    assert fhirkit_accepts({"resourceType": "Patient", "birthDate": "2021-02-29"})
    assert fhirkit_accepts({"resourceType": "Patient", "birthDate": "2021-04-31"})
    assert fhirkit_accepts({"resourceType": "Patient", "deceasedDateTime": "2021-02-29T10:00:00Z"})
    assert fhirkit_accepts({"resourceType": "Patient", "meta": {"lastUpdated": "2021-02-29T10:00:00Z"}})
    assert fhirkit_accepts({"resourceType": "Patient", "birthDate": "0000-01-01"})


def test_fhirkit_checks_date_syntax_and_instant_precision() -> None:
    assert not fhirkit_accepts({"resourceType": "Patient", "birthDate": "2021-13-01"})
    assert not fhirkit_accepts({"resourceType": "Patient", "meta": {"lastUpdated": "2021-02-28T10:00:00"}})
    assert not fhirkit_accepts({"resourceType": "Patient", "meta": {"lastUpdated": "2021-02-28T10:00Z"}})
    assert not fhirkit_accepts({"resourceType": "Patient", "meta": {"lastUpdated": "2021-02-28"}})


def test_fhirkit_checks_id_typed_elements_but_not_resource_id() -> None:
    assert fhirkit_accepts({"resourceType": "Patient", "id": "a b"})
    assert fhirkit_accepts({"resourceType": "Patient", "id": "a" * 65})
    assert not fhirkit_accepts({"resourceType": "Patient", "meta": {"versionId": "a b"}})


# --- resource ids -------------------------------------------------------------------------


@pytest.mark.parametrize("good", ["a", "A-1.b", "123", "a" * 64, "f81d4fae-7dec-11d0-a765-00a0c91e6bf6"])
def test_valid_ids(good: str) -> None:
    assert validate_resource({"resourceType": "Patient", "id": good}) == []


@pytest.mark.parametrize("bad", ["a b", "a_b", "a" * 65, "ä", "a/b", "a:b"])
def test_invalid_resource_id(bad: str) -> None:
    [issue] = validate_resource({"resourceType": "Patient", "id": bad})
    assert issue == Issue(
        "error",
        "value",
        f"'{bad}' is not a valid id: 1 to 64 characters from A-Z, a-z, 0-9, '-' and '.'",
        ("Patient.id",),
    )


def test_empty_resource_id_is_reported_once() -> None:
    assert issues({"resourceType": "Patient", "id": ""}) == [("value", ("Patient.id",))]


def test_contained_and_bundled_resource_ids() -> None:
    patient = {"resourceType": "Patient", "contained": [{"resourceType": "Organization", "id": "org 1"}]}
    assert issues(patient) == [("value", ("Patient.contained[0].id",))]
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": {"resourceType": "Patient", "id": "ok"}}, {"resource": patient}],
    }
    assert issues(bundle) == [("value", ("Bundle.entry[1].resource.contained[0].id",))]


def test_element_ids_are_strings_in_r4() -> None:
    # Element.id is a string (http://hl7.org/fhir/R4/element.html): no id pattern applies.
    assert validate_resource({"resourceType": "Patient", "name": [{"id": "name 1_a", "family": "x"}]}) == []


def test_id_typed_elements_are_reported_once() -> None:
    assert issues({"resourceType": "Patient", "meta": {"versionId": "a_b"}}) == [
        ("value", ("Patient.meta.versionId",))
    ]


# --- dates ----------------------------------------------------------------------------------


def test_february_29th_in_a_leap_year_is_fine() -> None:
    assert validate_resource({"resourceType": "Patient", "birthDate": "2020-02-29"}) == []
    assert validate_resource({"resourceType": "Patient", "birthDate": "2000-02-29"}) == []


def test_february_29th_in_a_common_year_is_refused() -> None:
    [issue] = validate_resource({"resourceType": "Patient", "birthDate": "2021-02-29"})
    assert issue == Issue(
        "error",
        "value",
        "'2021-02-29' is not a valid date: February 2021 has 28 days",
        ("Patient.birthDate",),
    )
    assert issues({"resourceType": "Patient", "birthDate": "1900-02-29"}) == [
        ("value", ("Patient.birthDate",))
    ]


def test_day_31_in_a_30_day_month_is_refused() -> None:
    [issue] = validate_resource({"resourceType": "Patient", "deceasedDateTime": "2021-04-31"})
    assert issue.expression == ("Patient.deceasedDateTime",)
    assert issue.diagnostics == "'2021-04-31' is not a valid dateTime: April 2021 has 30 days"


def test_datetime_with_time_on_an_impossible_day() -> None:
    resource = {"resourceType": "Observation", "status": "final", "code": {"text": "x"}}
    resource["effectiveDateTime"] = "2021-06-31T10:00:00+02:00"
    assert issues(resource) == [("value", ("Observation.effectiveDateTime",))]


def test_instant_on_an_impossible_day() -> None:
    [issue] = validate_resource({"resourceType": "Patient", "meta": {"lastUpdated": "2021-02-29T10:00:00Z"}})
    assert issue.expression == ("Patient.meta.lastUpdated",)
    assert issue.diagnostics == "'2021-02-29T10:00:00Z' is not a valid instant: February 2021 has 28 days"


def test_instant_without_seconds_or_zone_is_reported_once() -> None:
    for value in ("2021-02-28T10:00:00", "2021-02-28T10:00Z", "2021-02-28"):
        assert issues({"resourceType": "Patient", "meta": {"lastUpdated": value}}) == [
            ("value", ("Patient.meta.lastUpdated",))
        ], value


def test_year_zero_is_refused() -> None:
    [issue] = validate_resource({"resourceType": "Patient", "birthDate": "0000-01-01"})
    assert (issue.code, issue.expression) == ("value", ("Patient.birthDate",))


def test_partial_dates_are_fine() -> None:
    assert validate_resource({"resourceType": "Patient", "birthDate": "2021"}) == []
    assert validate_resource({"resourceType": "Patient", "birthDate": "2021-02"}) == []
    assert validate_resource({"resourceType": "Patient", "deceasedDateTime": "2021-02"}) == []


def test_dates_in_nested_datatypes_and_extensions() -> None:
    resource = {
        "resourceType": "Patient",
        "name": [{"family": "x", "period": {"start": "2019-02-29"}}],
        "extension": [{"url": "http://example.org/x", "valueDate": "2019-11-31"}],
        "_birthDate": {"extension": [{"url": "http://example.org/y", "valueDateTime": "2019-09-31"}]},
        "contact": [{"period": {"end": "2019-02-30T00:00:00Z"}}],
    }
    assert sorted(issues(resource)) == [
        ("value", ("Patient._birthDate.extension[0].valueDateTime",)),
        ("value", ("Patient.contact[0].period.end",)),
        ("value", ("Patient.extension[0].valueDate",)),
        ("value", ("Patient.name[0].period.start",)),
    ]


def test_repeating_primitive_extensions() -> None:
    resource = {
        "resourceType": "Patient",
        "name": [
            {
                "given": ["a", None],
                "_given": [
                    None,
                    {"extension": [{"url": "http://x.org", "valueInstant": "2021-02-29T00:00:00Z"}]},
                ],
            }
        ],
    }
    assert issues(resource) == [("value", ("Patient.name[0]._given[1].extension[0].valueInstant",))]


# --- the functions on their own --------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("2024", True),
        ("2024-02", True),
        ("2024-02-29", True),
        ("2023-02-29", False),
        ("2023-02-28", True),
        ("2023-11-31", False),
        ("2023-12-31", True),
        ("2100-02-29", False),
        ("2023-2-01", False),
        ("2023-02-28T10:00:00Z", False),
        ("0000", False),
    ],
)
def test_date_problem(value: str, ok: bool) -> None:
    assert (date_problem(value) is None) is ok


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("2024-02-29T23:59:60Z", True),
        ("2024-02-29T10:00:00.123456+14:00", True),
        ("2024-02-29T10:00:00+14:01", False),
        ("2024-02-30T10:00:00Z", False),
        ("2024-02-29T10:00:00", False),
        ("2024-02-29T10:00Z", False),
        ("2024-02-29", True),
        ("2024", True),
    ],
)
def test_datetime_problem(value: str, ok: bool) -> None:
    assert (datetime_problem(value) is None) is ok


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("2024-02-29T10:00:00Z", True),
        ("2024-02-29T10:00:00.5-05:00", True),
        ("2023-02-29T10:00:00Z", False),
        ("2024-02-29T10:00Z", False),
        ("2024-02-29", False),
    ],
)
def test_instant_problem(value: str, ok: bool) -> None:
    assert (instant_problem(value) is None) is ok


def test_id_problem() -> None:
    assert id_problem("a.b-C9") is None
    assert id_problem("a" * 64) is None
    assert id_problem("a" * 65) is not None
    assert id_problem("a\n") is not None
