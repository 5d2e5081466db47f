"""One module per search parameter type, each holding that type's three concerns:

* ``extract(node, ctx, out)``: index entries (``search/index.py``) from one FHIR value;
* ``parse(raw, modifier, ctx)``: one OR-value of a query string into an IR value
  (``search/ir.py``), raising ``ValueParseError`` (the parser names the parameter);
* ``match_value(value, entry, ...)``: the in-memory semantics every backend reproduces,
  and ``sort_key(entries, descending)``.

A *node* is what the path walker yields: ``(json_value, fhir_type, binding)`` where
``fhir_type`` is the FHIR type name when known statically ("CodeableConcept", "date",
"Reference", a resource type for ``Resource`` elements) and ``binding`` is the
required ValueSet of a ``code`` element (used for the implicit code system).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "PREFIXES",
    "ExtractContext",
    "Node",
    "ParseContext",
    "ValueParseError",
    "split_prefix",
    "split_unescaped",
    "unescape",
]

Node = tuple[Any, "str | None", "str | None"]


class ValueParseError(ValueError):
    """A query value that cannot be parsed; the parser turns it into InvalidError."""


@dataclass(frozen=True)
class ExtractContext:
    base_url: str | None = None  # without trailing slash
    valuesets: dict[str, dict[str, frozenset[str]]] = field(default_factory=dict)
    resource_types: frozenset[str] = frozenset()


@dataclass(frozen=True)
class ParseContext:
    code: str  # the parameter code, for messages
    targets: tuple[str, ...] = ()
    base_url: str | None = None
    now_us: int = 0
    resource_types: frozenset[str] = frozenset()


def split_unescaped(text: str, sep: str, maxsplit: int = -1) -> list[str]:
    """Split on ``sep`` where it is not preceded by a backslash escape (search.html, Escaping
    Search Parameters: "\\," "\\$" "\\|" and "\\\\"). Pieces keep their escapes."""
    if "\\" not in text:
        return text.split(sep, maxsplit)
    parts: list[str] = []
    buf: list[str] = []
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c == "\\" and i + 1 < n:
            buf.append(text[i : i + 2])
            i += 2
            continue
        if c == sep and (maxsplit < 0 or len(parts) < maxsplit):
            parts.append("".join(buf))
            buf = []
        else:
            buf.append(c)
        i += 1
    parts.append("".join(buf))
    return parts


def unescape(text: str) -> str:
    """Remove search escapes: ``\\,`` -> ``,``, ``\\|`` -> ``|``, ``\\$`` -> ``$``, ``\\\\`` -> ``\\``."""
    if "\\" not in text:
        return text
    out: list[str] = []
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c == "\\" and i + 1 < n and text[i + 1] in ",|$\\":
            out.append(text[i + 1])
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


PREFIXES = frozenset({"eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap"})


def split_prefix(raw: str, code: str) -> tuple[str, str]:
    """``"ge2020"`` -> ``("ge", "2020")``; no prefix -> ``("eq", raw)`` (search.html, Prefixes:
    "If no prefix is present, the prefix eq is assumed")."""
    if len(raw) >= 2 and raw[0].isalpha() and raw[1].isalpha():
        prefix = raw[:2]
        if prefix not in PREFIXES:
            raise ValueParseError(f"Unknown prefix '{prefix}' in value '{raw}' of parameter '{code}'")
        return prefix, raw[2:]
    return "eq", raw
