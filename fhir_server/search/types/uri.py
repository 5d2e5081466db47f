"""``uri`` parameters (search.html R4 3.1.1.4.10).

Spec: "The uri parameter refers to an element that contains a URI (RFC 3986). By
default, matches are precise (e.g. case and accent sensitive), and the entire URI must
match." ":below ... indicate[s] that instead of an exact match, either the search term
left matches the value" ("url:below=http://acme.org/fhir/" matches every URL under it),
":above ... the value left matches the search term"
("url:above=http://acme.org/fhir/ValueSet/123/_history/5" matches
"http://acme.org/fhir/ValueSet/123").
"""

from __future__ import annotations

from ..index import Entry, UriEntry
from ..ir import UriValue
from . import ExtractContext, Node, ParseContext, ValueParseError, unescape

MODIFIERS = frozenset({"missing", "below", "above"})


def extract(node: Node, ctx: ExtractContext, out: list[Entry]) -> None:
    value = node[0]
    if isinstance(value, str) and value:
        out.append(UriEntry(value))


def parse(raw: str, modifier: str | None, ctx: ParseContext) -> UriValue:
    value = unescape(raw)
    if not value:
        raise ValueParseError(f"Empty value for uri parameter '{ctx.code}'")
    return UriValue(value)


def match_value(value: UriValue, modifier: str | None, entry: UriEntry) -> bool:
    if modifier is None:
        return entry.value == value.value
    if modifier == "below":
        return entry.value.startswith(value.value)
    if modifier == "above":
        return value.value.startswith(entry.value)
    return False


def sort_key(entries: list[Entry], descending: bool) -> str | None:
    keys = [e.value for e in entries if isinstance(e, UriEntry)]
    return (max(keys) if descending else min(keys)) if keys else None
