"""The generic walker (rules plug in per element) and raise_if_invalid."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from fhir_server.definitions import load
from fhir_server.errors import InvalidResourceError, Issue
from fhir_server.validation import (
    Check,
    ElementContext,
    Finding,
    Validator,
    Walker,
    default_validator,
    raise_if_invalid,
)


class ShoutingStrings:
    """A made-up rule: string values may not be upper case (a warning), to show plugging in."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def check_for(self, ctx: ElementContext) -> Check | None:
        self.asked.append(f"{ctx.path}:{ctx.type_code}")
        if ctx.type_code != "string":
            return None

        def check(value: Any) -> Sequence[Finding]:
            if isinstance(value, str) and value.isupper():
                return (
                    Finding("business-rule", f"'{value}' shouts", severity="warning", details_code="x-1"),
                )
            return ()

        return check


def test_a_rule_plugs_in_and_reports_with_paths() -> None:
    rule = ShoutingStrings()
    validator = Validator(load(), rules=[rule])
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {
                "resource": {
                    "resourceType": "Patient",
                    "name": [{"family": "SMITH", "given": ["ann", "BOB"]}],
                    "contained": [{"resourceType": "Organization", "name": "ACME"}],
                }
            }
        ],
    }
    assert validator.validate(bundle) == [
        Issue(
            "warning",
            "business-rule",
            "'SMITH' shouts",
            ("Bundle.entry[0].resource.name[0].family",),
            "x-1",
        ),
        Issue(
            "warning", "business-rule", "'BOB' shouts", ("Bundle.entry[0].resource.name[0].given[1]",), "x-1"
        ),
        Issue(
            "warning",
            "business-rule",
            "'ACME' shouts",
            ("Bundle.entry[0].resource.contained[0].name",),
            "x-1",
        ),
    ]
    assert "Patient.deceased[x]:dateTime" in rule.asked  # choice elements are asked per type
    assert "Patient.contact:Patient.contact" in rule.asked  # backbone elements by path


def test_rules_are_asked_once_per_element() -> None:
    rule = ShoutingStrings()
    walker = Walker(load(), [rule])
    for _ in range(3):
        walker.walk({"resourceType": "Patient", "name": [{"family": "x"}]})
    assert rule.asked.count("HumanName.family:string") == 1


def test_plan_keys_follow_the_json_names() -> None:
    plan = default_validator().walker.plan("Observation")
    assert {"valueQuantity", "valueDateTime", "_valueDateTime", "status", "contained"} <= set(plan)
    assert "value" not in plan
    assert plan["contained"].resource and plan["contained"].many
    assert plan["valueQuantity"].child == "Quantity"
    assert plan["component"].child == "Observation.component"
    assert "valueString" not in plan  # a plain string: nothing to check there
    assert plan["_valueString"].child == "Element"


def test_shapes_fhirkit_refuses_do_not_break_the_walk() -> None:
    odd: dict[str, Any] = {
        "resourceType": "Patient",
        "gender": ["male"],
        "name": {"use": "x"},
        "birthDate": 20200101,
        "contact": [3, None, {"gender": 1}],
        "contained": [{"resourceType": 5}, "x", {"resourceType": "Nope"}],
        "_birthDate": "x",
    }
    issues = default_validator().validate(odd)
    assert issues and all(i.code in ("structure", "invalid", "required") for i in issues)


def test_raise_if_invalid_raises_with_every_issue() -> None:
    with pytest.raises(InvalidResourceError) as caught:
        raise_if_invalid({"resourceType": "Patient", "gender": "F", "birthDate": "2021-02-29"}, "Patient")
    error = caught.value
    assert error.status == 400
    assert [(i.code, i.expression) for i in error.issues] == [
        ("code-invalid", ("Patient.gender",)),
        ("value", ("Patient.birthDate",)),
    ]
    assert error.issue_code == "code-invalid"
    assert error.issues[0].to_fhir()["expression"] == ["Patient.gender"]


def test_raise_if_invalid_checks_the_expected_type() -> None:
    with pytest.raises(InvalidResourceError) as caught:
        raise_if_invalid({"resourceType": "Patient"}, expected_type="Coverage")
    assert caught.value.issues[0].diagnostics == "Expected resource type Coverage, found Patient"


def test_raise_if_invalid_returns_the_remaining_issues() -> None:
    assert raise_if_invalid({"resourceType": "Patient", "gender": "male"}) == []


def test_raise_if_invalid_puts_errors_first_and_keeps_warnings() -> None:
    validator = Validator(load(), rules=[ShoutingStrings(), *default_validator().walker.rules])
    with pytest.raises(InvalidResourceError) as caught:
        raise_if_invalid(
            {"resourceType": "Patient", "name": [{"family": "SMITH"}], "gender": "F"}, validator=validator
        )
    assert [(i.severity, i.expression) for i in caught.value.issues] == [
        ("error", ("Patient.gender",)),
        ("warning", ("Patient.name[0].family",)),
    ]
    assert caught.value.diagnostics.startswith("Code 'F'")
    warnings = raise_if_invalid(
        {"resourceType": "Patient", "name": [{"family": "SMITH"}]}, validator=validator
    )
    assert [(i.severity, i.code) for i in warnings] == [("warning", "business-rule")]
