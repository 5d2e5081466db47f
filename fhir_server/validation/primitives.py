"""Primitive values fhirkit lets through: ``id`` syntax and calendar-valid dates.

Spec: http://hl7.org/fhir/R4/datatypes.html#primitive. The regular expressions are the
ones the R4 StructureDefinitions declare (``Bundle-types.json``, extension ``regex``).

* ``id``: ``[A-Za-z0-9\\-\\.]{1,64}``. fhirkit checks elements of type ``id``
  (``Meta.versionId``...) but not ``Resource.id``, which R4's StructureDefinition declares
  as ``System.String``; http://hl7.org/fhir/R4/resource.html#id gives it type ``id``, so it
  is checked as one (for contained resources too). ``Element.id`` is a ``string`` in R4 and
  is not constrained.
* ``date``/``dateTime``/``instant``: the regexes allow day 31 in every month and 29
  February in every year ("2021-02-29", "2021-04-31"); fhirkit checks only the regexes.
  The spec: "The format is a union of the schema types gYear, gYearMonth and date" /
  "dateTime ... SHALL be valid dates", so the day must exist in that month. An ``instant``
  needs seconds and a time zone (the regex requires both; repeated here so that this
  module is complete on its own). Year 0000 is refused by the regexes (fhirkit accepts it).
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable, Sequence
from typing import Any

from .walker import Check, ElementContext, Finding

_YEAR = r"([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)"
_TIME = r"([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?"
_ZONE = r"(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00))"
_MONTH = r"(0[1-9]|1[0-2])"
_DAY = r"(0[1-9]|[1-2][0-9]|3[0-1])"

ID_RE = re.compile(r"[A-Za-z0-9\-\.]{1,64}")
DATE_RE = re.compile(rf"{_YEAR}(-{_MONTH}(-{_DAY})?)?")
DATETIME_RE = re.compile(rf"{_YEAR}(-{_MONTH}(-{_DAY}(T{_TIME}{_ZONE})?)?)?")
INSTANT_RE = re.compile(rf"{_YEAR}-{_MONTH}-{_DAY}T{_TIME}{_ZONE}")

_MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip


def _calendar_problem(value: str) -> str | None:
    """For a value that matched one of the date regexes: does its day exist?"""
    if len(value) < 10:
        return None  # year or year-month: nothing to check
    day = int(value[8:10])
    if day <= 28:
        return None
    year, month = int(value[0:4]), int(value[5:7])
    last = calendar.monthrange(year, month)[1]
    if day <= last:
        return None
    return f"{_MONTHS[month - 1]} {year} has {last} days"


def id_problem(value: str) -> str | None:
    if ID_RE.fullmatch(value):
        return None
    return f"'{value}' is not a valid id: 1 to 64 characters from A-Z, a-z, 0-9, '-' and '.'"


def date_problem(value: str) -> str | None:
    if not DATE_RE.fullmatch(value):
        return f"'{value}' is not a valid date: expected YYYY, YYYY-MM or YYYY-MM-DD"
    day = _calendar_problem(value)
    return f"'{value}' is not a valid date: {day}" if day else None


def datetime_problem(value: str) -> str | None:
    if not DATETIME_RE.fullmatch(value):
        return (
            f"'{value}' is not a valid dateTime: expected YYYY, YYYY-MM, YYYY-MM-DD or "
            "YYYY-MM-DDThh:mm:ss[.fff] with a time zone (Z or +hh:mm)"
        )
    day = _calendar_problem(value)
    return f"'{value}' is not a valid dateTime: {day}" if day else None


def instant_problem(value: str) -> str | None:
    if not INSTANT_RE.fullmatch(value):
        return (
            f"'{value}' is not a valid instant: expected YYYY-MM-DDThh:mm:ss[.fff] with seconds "
            "and a time zone (Z or +hh:mm)"
        )
    day = _calendar_problem(value)
    return f"'{value}' is not a valid instant: {day}" if day else None


PROBLEMS: dict[str, Callable[[str], str | None]] = {
    "id": id_problem,
    "date": date_problem,
    "dateTime": datetime_problem,
    "instant": instant_problem,
}


def _check(problem: Callable[[str], str | None]) -> Check:
    def check(value: Any) -> Sequence[Finding]:
        if type(value) is not str:
            return ()
        message = problem(value)
        return () if message is None else (Finding("value", message),)

    return check


_CHECKS: dict[str, Check] = {type_code: _check(fn) for type_code, fn in PROBLEMS.items()}


class PrimitiveRule:
    """Checks ``id``, ``date``, ``dateTime`` and ``instant`` values, and resource ids."""

    def check_for(self, ctx: ElementContext) -> Check | None:
        if ctx.owner_is_resource and ctx.element.name == "id":
            return _CHECKS["id"]
        return _CHECKS.get(ctx.type_code)
