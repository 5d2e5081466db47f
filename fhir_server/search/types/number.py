"""``number`` parameters (search.html R4 3.1.1.4.4).

Spec examples: "[parameter]=100 Values that equal 100, to 3 significant figures
precision, so this is actually searching for values in the range [99.5 ... 100.5)";
"[parameter]=100.00 ... [99.995 ... 100.005)"; "lt100 Values that are less than exactly
100"; "le100 ... less or equal to exactly 100"; "gt100 ... greater than exactly 100";
"ge100 ... greater or equal to exactly 100"; "ne100 Values that are not equal to 100
(actually, in the range 99.5 to 100.5)".

The implicit range is half a unit of the last significant digit either side, ``[lo,
hi)``. R4 gives ``1e2`` as "[95 ... 105)", which contradicts its own "to 1 significant
figures precision" (R5 corrected it to "[50 ... 150)"); we apply the rule consistently:
``1e2`` -> ``[50, 150)``.

Semantics (``match_number``), on the target's value (a point): eq: the value lies in
the search value's implicit range ``[lo, hi)``; ne: not eq; gt/lt/ge/le: compare with
the exact search value ("greater than exactly 100"); sa ("starts after") as gt and eb
("ends before") as lt, a point having no extent; ap: within 10% of the search value
("the recommended value for the approximation is 10% of the stated value").
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any, cast

from ..index import Entry, NumberEntry, QuantityEntry
from ..ir import NumberValue, Prefix
from . import ExtractContext, Node, ParseContext, ValueParseError, split_prefix, unescape

MODIFIERS = frozenset({"missing"})

_NUMBER_RE = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def to_decimal(value: Any) -> Decimal | None:
    """Decimal from a JSON number (Decimal from msgspec, int, float); None otherwise."""
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value)) if value == value and abs(value) != float("inf") else None
    return None


def implicit_range(d: Decimal) -> tuple[float, float]:
    """``100`` -> (99.5, 100.5); ``1.50`` -> (1.495, 1.505); ``1e2`` -> (50, 150)."""
    exponent = d.as_tuple().exponent
    assert isinstance(exponent, int)
    half = Decimal(5).scaleb(exponent - 1)
    return float(d - half), float(d + half)


def number_entry(raw: Any) -> NumberEntry | None:
    d = to_decimal(raw)
    if d is None:
        return None
    lo, hi = implicit_range(d)
    return NumberEntry(float(d), lo, hi)


def extract(node: Node, ctx: ExtractContext, out: list[Entry]) -> None:
    value, fhir_type, _ = node
    if isinstance(value, dict):
        if fhir_type == "Range" or (fhir_type is None and ("low" in value or "high" in value)):
            for bound in (value.get("low"), value.get("high")):
                if isinstance(bound, dict):
                    e = number_entry(bound.get("value"))
                    if e:
                        out.append(e)
        else:
            e = number_entry(value.get("value"))
            if e:
                out.append(e)
        return
    e = number_entry(value)
    if e is not None:
        out.append(e)


def parse_number(text: str, code: str) -> Decimal:
    if not _NUMBER_RE.fullmatch(text):
        raise ValueParseError(f"Invalid number '{text}' for parameter '{code}'")
    try:
        return Decimal(text)
    except InvalidOperation:
        raise ValueParseError(f"Invalid number '{text}' for parameter '{code}'") from None


def parse(raw: str, modifier: str | None, ctx: ParseContext) -> NumberValue:
    prefix, rest = split_prefix(unescape(raw), ctx.code)
    d = parse_number(rest, ctx.code)
    lo, hi = implicit_range(d)
    return NumberValue(cast(Prefix, prefix), float(d), lo, hi)


def approx_window(value: float) -> tuple[float, float]:
    """The closed range ``ap`` accepts: the value ±10%, computed in decimal so that the
    boundaries are exact (1.0 -> [0.9, 1.1], not 1.1 excluded by float rounding). Every
    backend compiles ``ap`` with this window."""
    exact = Decimal(repr(value))
    margin = abs(exact) / 10
    return float(exact - margin), float(exact + margin)


def match_number(prefix: str, value: float, lo: float, hi: float, target: float) -> bool:
    if prefix == "eq":
        return lo <= target < hi
    if prefix == "ne":
        return not (lo <= target < hi)
    if prefix in ("gt", "sa"):
        return target > value
    if prefix in ("lt", "eb"):
        return target < value
    if prefix == "ge":
        return target >= value
    if prefix == "le":
        return target <= value
    if prefix == "ap":
        low, high = approx_window(value)
        return low <= target <= high
    return False


def match_value(value: NumberValue, entry: NumberEntry) -> bool:
    return match_number(value.prefix, value.value, value.lo, value.hi, entry.value)


def sort_key(entries: list[Entry], descending: bool) -> float | None:
    """The smallest value ascending, the largest descending."""
    keys = [e.value for e in entries if isinstance(e, (NumberEntry, QuantityEntry))]
    return (max(keys) if descending else min(keys)) if keys else None
