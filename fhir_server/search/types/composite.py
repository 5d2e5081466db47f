"""``composite`` parameters (search.html R4, Composite Search Parameters).

A composite parameter (``Observation?code-value-quantity=http://loinc.org|8480-6$lt60``)
combines the values of its components, each typed by the SearchParameter its
``component.definition`` names, separated by ``$`` (``\\$`` escapes a dollar inside a
part); every component must match within the same element: the same Observation for
``code-value-quantity``, the same ``Observation.component`` for
``component-code-value-quantity``.

Supported shapes (``SHAPES``): two components, a token then a token, quantity, date or
string: every official R4 composite except DocumentReference ``relationship``
(reference$token) and the MolecularSequence coordinates (three components, one read
from ``%resource``). Other composites are ignored and reported (lenient) or refused
(strict) by the parser, and not extracted.

Extraction (``extract``): per element the composite expression yields, the entries of
each component (by the component type's own extraction, on the component's relative
path) and one ``CompositeEntry`` per combination; code-less token entries (a
CodeableConcept's text, only for ``:text``) are left out.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import product

from ..index import CompositeEntry, DateEntry, Entry, QuantityEntry, StringEntry, TokenEntry
from ..ir import CompositeValue, DateValue, QuantityValue, StringValue, TokenValue
from ..registry import SearchParamDef, SearchRegistry
from . import ExtractContext, Node, ParseContext, ValueParseError, split_unescaped

MODIFIERS = frozenset({"missing"})

SHAPES = frozenset({("token", "token"), ("token", "quantity"), ("token", "date"), ("token", "string")})

ComponentValue = TokenValue | StringValue | DateValue | QuantityValue
ComponentEntry = TokenEntry | StringEntry | DateEntry | QuantityEntry
Converter = Callable[[Node, ExtractContext, list[Entry]], None]
ValueParser = Callable[[str, str | None, ParseContext], ComponentValue]
_ENTRY_TYPES = (TokenEntry, StringEntry, DateEntry, QuantityEntry)


def supported(types: Sequence[str | None]) -> bool:
    return tuple(types) in SHAPES


def component_types(spd: SearchParamDef, registry: SearchRegistry) -> tuple[str | None, ...]:
    """The type of each component (None when its definition is unknown)."""
    out: list[str | None] = []
    for definition, _ in spd.components:
        comp = registry.by_url(definition)
        out.append(comp.type if comp is not None else None)
    return tuple(out)


def extract(
    node: Node,
    components: Sequence[tuple[Callable[[Node], list[Node]], Converter]],
    ctx: ExtractContext,
    out: list[Entry],
) -> None:
    """The CompositeEntry values of one element (``node``)."""
    per_component: list[list[ComponentEntry]] = []
    for program, convert in components:
        found: list[Entry] = []
        for child in program(node):
            convert(child, ctx, found)
        kept = [
            e._replace(text=None) if isinstance(e, TokenEntry) else e  # :text is not for composites
            for e in dict.fromkeys(found)
            if isinstance(e, _ENTRY_TYPES) and not (isinstance(e, TokenEntry) and e.code is None)
        ]
        kept = list(dict.fromkeys(kept))
        if not kept:
            return
        per_component.append(kept)
    out.extend(CompositeEntry(combo) for combo in product(*per_component))


def parse(raw: str, parsers: Sequence[ValueParser], ctx: ParseContext) -> CompositeValue:
    """``part$part``: each part (escapes kept) parsed by its component's parser."""
    parts = split_unescaped(raw, "$")
    if len(parts) != len(parsers):
        raise ValueParseError(
            f"Composite parameter '{ctx.code}' takes {len(parsers)} values separated by '$', not '{raw}'"
        )
    return CompositeValue(
        tuple(parse_part(p, None, ctx) for p, parse_part in zip(parts, parsers, strict=True))
    )


def match_value(
    value: CompositeValue, entry: CompositeEntry, component_matches: Callable[[ComponentValue, Entry], bool]
) -> bool:
    """Every component value matches the component entry at its position."""
    if len(value.components) != len(entry.components):
        return False
    return all(component_matches(v, e) for v, e in zip(value.components, entry.components, strict=True))


__all__ = ["MODIFIERS", "SHAPES", "component_types", "extract", "match_value", "parse", "supported"]
