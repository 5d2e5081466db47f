"""Validation on every write: structure, ids, dates, required bindings.

Spec: http://hl7.org/fhir/R4/validation.html. What is checked, in order:

1. ``resourceType`` is present and a known R4 resource type (and the expected one, when the
   interaction names it: ``PUT /Patient/1`` takes a Patient; a mismatch is the only issue
   reported).
2. Structure, by fhirkit (:mod:`.structure`): unknown elements, JSON types, required
   elements, cardinality, choice conflicts, primitive syntax.
3. Our element rules, by one walk over the element tables (:mod:`.walker`):
   :class:`~.primitives.PrimitiveRule` (``id`` syntax incl. ``Resource.id``,
   calendar-valid ``date``/``dateTime``/``instant``) and
   :class:`~.bindings.RequiredBindingRule`. Nested resources (``contained``,
   ``Bundle.entry.resource``, ``Parameters.parameter.resource``) are walked with their
   own type, with paths like ``Bundle.entry[0].resource.gender``.
4. The base spec's FHIRPath invariants (``dom-3``, ``per-1``, ``pat-1``...; :mod:`.invariants`),
   when the structure is sound (an invariant over a malformed element says nothing useful).

An element fhirkit already refused is not reported twice. Profiles (StructureDefinitions,
slicing, invariants, extensible bindings as warnings) are a later layer: they plug in as
more rules (see :class:`~.walker.Rule`) on a :class:`Validator` built with them.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from typing import Any

from ..definitions import Definitions, load
from ..errors import InvalidResourceError, Issue
from .bindings import RequiredBindingRule
from .invariants import InvariantChecker
from .primitives import PrimitiveRule
from .structure import structure_issues
from .walker import Rule, Walker

ERROR_SEVERITIES = frozenset({"fatal", "error"})


class Validator:
    """Validates resources against the R4 definitions with a set of element rules."""

    def __init__(self, definitions: Definitions, rules: Iterable[Rule] | None = None) -> None:
        self.definitions = definitions
        if rules is None:
            rules = (PrimitiveRule(), RequiredBindingRule(definitions.valuesets))
        self.walker = Walker(definitions, rules)
        self.invariants = InvariantChecker(definitions)

    def validate(self, resource: Any, *, expected_type: str | None = None) -> list[Issue]:
        refused_outright = self._resource_type_issues(resource, expected_type)
        if refused_outright is not None:
            return refused_outright
        issues = structure_issues(resource)
        # One issue per element: what fhirkit refused is not reported again by our rules.
        flagged = {i.expression[0] for i in issues if i.expression and i.severity in ERROR_SEVERITIES}
        issues.extend(
            i for i in self.walker.walk(resource) if not i.expression or i.expression[0] not in flagged
        )
        if not has_errors(issues):
            issues.extend(self.invariants.check(resource))
        return issues

    def _resource_type_issues(self, resource: Any, expected_type: str | None) -> list[Issue] | None:
        if not isinstance(resource, dict):
            return [Issue("error", "structure", "A resource must be a JSON object")]
        rtype = resource.get("resourceType")
        if rtype is None:
            what = f"a {expected_type}" if expected_type else "a resource"
            return [Issue("error", "required", f"resourceType is missing: expected {what}")]
        if type(rtype) is not str or not self.definitions.is_resource_type(rtype):
            where = (rtype,) if type(rtype) is str else ()
            return [Issue("error", "invalid", f"'{rtype}' is not a FHIR R4 resource type", where)]
        if expected_type is not None and rtype != expected_type:
            # The wrong kind of resource: its details against its own type are beside the point.
            message = f"Expected resource type {expected_type}, found {rtype}"
            return [Issue("error", "invalid", message, (rtype,))]
        return None


@cache
def default_validator() -> Validator:
    """The validator with the official R4 definitions and the standard rules."""
    return Validator(load())


def validate_resource(resource: dict[str, Any], *, expected_type: str | None = None) -> list[Issue]:
    """All issues found in ``resource`` (empty when valid). Never raises for bad content."""
    return default_validator().validate(resource, expected_type=expected_type)


def has_errors(issues: Iterable[Issue]) -> bool:
    return any(i.severity in ERROR_SEVERITIES for i in issues)


def raise_if_invalid(
    resource: dict[str, Any], expected_type: str | None = None, *, validator: Validator | None = None
) -> list[Issue]:
    """Raise :class:`InvalidResourceError` (400) when any issue is an error (errors first, then
    the rest); otherwise return the issues left (warnings, information) for the response."""
    issues = (validator or default_validator()).validate(resource, expected_type=expected_type)
    if has_errors(issues):
        raise InvalidResourceError(sorted(issues, key=lambda i: i.severity not in ERROR_SEVERITIES))
    return issues
