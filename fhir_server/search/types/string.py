"""``string`` parameters (search.html R4 3.1.1.4.7).

Spec: "By default, a field matches a string query if the value of the field equals or
starts with the supplied parameter value, after both have been normalized by case and
accent." ":exact ... the search parameter returns resources that have a value that
exactly matches the supplied parameter (the whole string, including casing and
accents)". ":contains ... the search parameter returns resources that include the
supplied parameter value anywhere within the field being searched" (case and accent
insensitive here too).

Extraction (search.html, Search Types and FHIR types): string, markdown (and other
primitive text); HumanName: family, given, prefix, suffix and text each; Address: line,
city, district, state, postalCode, country and text each.
"""

from __future__ import annotations

from typing import Any

from ..index import Entry, StringEntry
from ..ir import StringValue
from ..normalize import norm
from . import ExtractContext, Node, ParseContext, ValueParseError, unescape

MODIFIERS = frozenset({"exact", "contains", "missing"})

_NAME_PARTS = ("family", "given", "prefix", "suffix", "text")
_ADDRESS_PARTS = ("line", "city", "district", "state", "postalCode", "country", "text")


def _add(value: Any, out: list[Entry]) -> None:
    if isinstance(value, str):
        if value:
            out.append(StringEntry(norm(value), value))
    elif isinstance(value, list):
        for v in value:
            if isinstance(v, str) and v:
                out.append(StringEntry(norm(v), v))


def extract(node: Node, ctx: ExtractContext, out: list[Entry]) -> None:
    value, fhir_type, _ = node
    if isinstance(value, str):
        _add(value, out)
        return
    if not isinstance(value, dict):
        return
    if fhir_type == "HumanName" or (fhir_type is None and ("family" in value or "given" in value)):
        for part in _NAME_PARTS:
            _add(value.get(part), out)
    elif fhir_type == "Address" or (fhir_type is None and ("line" in value or "city" in value)):
        for part in _ADDRESS_PARTS:
            _add(value.get(part), out)
    elif fhir_type == "CodeableConcept" or fhir_type == "Coding":
        _add(value.get("text") or value.get("display"), out)


def parse(raw: str, modifier: str | None, ctx: ParseContext) -> StringValue:
    value = unescape(raw)
    if value == "":
        raise ValueParseError(f"Empty value for string parameter '{ctx.code}'")
    return StringValue(norm(value), value)


def match_value(value: StringValue, modifier: str | None, entry: StringEntry) -> bool:
    """Default: starts-with on the normalised form; ``:exact``: equality on the raw value;
    ``:contains``: substring of the normalised form."""
    if modifier is None:
        return entry.norm.startswith(value.norm)
    if modifier == "exact":
        return entry.exact == value.raw
    if modifier == "contains":
        return value.norm in entry.norm
    return False


def sort_key(entries: list[Entry], descending: bool) -> str | None:
    """The smallest normalised value ascending, the largest descending."""
    keys = [e.norm for e in entries if isinstance(e, StringEntry)]
    return (max(keys) if descending else min(keys)) if keys else None
