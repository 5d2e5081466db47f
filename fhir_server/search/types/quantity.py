"""``quantity`` parameters (search.html R4 3.1.1.4.5).

Spec: "[parameter]=[prefix][number]|[system]|[code]"; "GET
[base]/Observation?value-quantity=5.4|http://unitsofmeasure.org|mg Search for all the
observations with a value of 5.4(+/-0.05) mg where mg is understood as a UCUM unit
(system/code)"; "value-quantity=5.4||mg ... where the unit - either the code (code) or
the stated human unit (unit) are "mg""; "value-quantity=5.4 ... (irrespective of the
unit)". The numeric part follows the number rules (``number.match_number``).

Extraction: Quantity and its profiles (Age, Count, Distance, Duration, SimpleQuantity),
Money (value, currency as code in ``urn:iso:std:iso:4217``), Range (one entry per bound).
UCUM: a Quantity with system ``http://unitsofmeasure.org`` and a code ``search/ucum.py``
converts also stores its canonical value and unit; a search value with the UCUM system
and such a code matches entries that have one on the canonical values in the same
canonical unit (so ``5.4|http://unitsofmeasure.org|mg`` finds ``5400 ug``); entries
without one (not convertible, or indexed before) and other values compare as written.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, cast

from ..index import Entry, QuantityEntry
from ..ir import Prefix, QuantityValue
from ..ucum import UCUM_SYSTEM, to_canonical
from . import ExtractContext, Node, ParseContext, ValueParseError, split_prefix, split_unescaped, unescape
from .number import implicit_range, match_number, parse_number, to_decimal
from .number import sort_key as sort_key

MODIFIERS = frozenset({"missing"})

CURRENCY_SYSTEM = "urn:iso:std:iso:4217"


def _str(v: Any) -> str | None:
    return v if isinstance(v, str) and v else None


def _quantity(q: dict[str, Any], out: list[Entry]) -> None:
    d = to_decimal(q.get("value"))
    if d is None:
        return
    lo, hi = implicit_range(d)
    system, code = _str(q.get("system")), _str(q.get("code"))
    value = float(d)
    canon = to_canonical((value,), code) if system == UCUM_SYSTEM else None
    cvalue, cunit = (canon[0][0], canon[1]) if canon else (None, None)
    out.append(QuantityEntry(value, lo, hi, system, code, _str(q.get("unit")), cvalue, cunit))


def extract(node: Node, ctx: ExtractContext, out: list[Entry]) -> None:
    value, fhir_type, _ = node
    if isinstance(value, dict):
        if fhir_type == "Range" or (fhir_type is None and ("low" in value or "high" in value)):
            for bound in (value.get("low"), value.get("high")):
                if isinstance(bound, dict):
                    _quantity(bound, out)
        elif fhir_type == "Money" or (fhir_type is None and "currency" in value):
            d = to_decimal(value.get("value"))
            if d is not None:
                lo, hi = implicit_range(d)
                currency = _str(value.get("currency"))
                out.append(
                    QuantityEntry(float(d), lo, hi, CURRENCY_SYSTEM if currency else None, currency, None)
                )
        elif fhir_type == "SampledData":
            return
        else:
            _quantity(value, out)
        return
    d = to_decimal(value)
    if d is not None:
        lo, hi = implicit_range(d)
        out.append(QuantityEntry(float(d), lo, hi, None, None, None))


def parse(raw: str, modifier: str | None, ctx: ParseContext) -> QuantityValue:
    parts = split_unescaped(raw, "|")
    if len(parts) not in (1, 3):
        raise ValueParseError(
            f"Invalid quantity '{raw}' for parameter '{ctx.code}' (expected [prefix]number[|system|code])"
        )
    prefix, number = split_prefix(unescape(parts[0]), ctx.code)
    d = parse_number(number, ctx.code)
    lo, hi = implicit_range(d)
    system = unescape(parts[1]) if len(parts) == 3 else ""
    code = unescape(parts[2]) if len(parts) == 3 else ""
    value = QuantityValue(cast(Prefix, prefix), float(d), lo, hi, system or None, code or None)
    if system == UCUM_SYSTEM:
        canon = to_canonical((value.value, lo, hi), code)
        if canon is not None:
            (cvalue, clo, chi), cunit = canon
            value = replace(value, cvalue=cvalue, clo=clo, chi=chi, cunit=cunit)
    return value


def canonical_value(value: QuantityValue) -> QuantityValue:
    """The search value on the canonical scale (value, lo, hi), for the compilers."""
    assert value.cvalue is not None and value.clo is not None and value.chi is not None
    return replace(value, value=value.cvalue, lo=value.clo, hi=value.chi)


def match_value(value: QuantityValue, entry: QuantityEntry) -> bool:
    """Number semantics on the value; with a system: system and code equal; with a code
    only: code or unit equal. A UCUM value with a canonical form against an entry with one:
    canonical units equal, number semantics on the canonical values (an entry without one,
    indexed before canonicalisation or not convertible, is compared as written)."""
    if value.cunit is not None and entry.cunit is not None:
        c = canonical_value(value)
        return (
            entry.cunit == value.cunit
            and entry.cvalue is not None
            and match_number(c.prefix, c.value, c.lo, c.hi, entry.cvalue)
        )
    if value.system is not None:
        if entry.system != value.system:
            return False
        if value.code is not None and entry.code != value.code:
            return False
    elif value.code is not None and value.code != entry.code and value.code != entry.unit:
        return False
    return match_number(value.prefix, value.value, value.lo, value.hi, entry.value)


__all__ = ["CURRENCY_SYSTEM", "MODIFIERS", "canonical_value", "extract", "match_value", "parse", "sort_key"]
