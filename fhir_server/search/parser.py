"""Query string -> search IR (``search/ir.py``), per http://hl7.org/fhir/R4/search.html.

``parse_search`` takes the already URL-decoded ``(name, value)`` pairs in order.
Repeated parameters are ANDed, comma-separated values ORed (``\\,`` escapes a comma,
``\\|`` and ``\\$`` likewise). Unknown parameters and unsupported modifiers are collected
in ``SearchQuery.ignored`` (lenient, the default) or refused with InvalidError naming
the parameter (strict, ``Prefer: handling=strict``). Bad values are always refused
(InvalidError, issue code "value", expression = the parameter name).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Literal, cast

from ..errors import InvalidError
from . import contained as contained_t
from .ir import (
    Chain,
    Clause,
    Criterion,
    DateValue,
    HasClause,
    IdClause,
    Include,
    LastUpdatedClause,
    MissingValue,
    ParamRef,
    ReferenceValue,
    SearchQuery,
    SortKey,
    Value,
)
from .registry import SearchParamDef, SearchRegistry
from .targets import targets_on
from .types import ParseContext, ValueParseError, split_unescaped, token_terminology, unescape
from .types import composite as composite_t
from .types import date as date_t
from .types import near as near_t
from .types import number as number_t
from .types import quantity as quantity_t
from .types import reference as reference_t
from .types import string as string_t
from .types import token as token_t
from .types import uri as uri_t

__all__ = ["SORTABLE_TYPES", "parse_search"]

SORTABLE_TYPES = frozenset({"string", "token", "reference", "date", "number", "quantity", "uri"})
SUMMARY_VALUES = frozenset({"true", "text", "data", "count", "false"})
TOTAL_VALUES = frozenset({"none", "estimate", "accurate"})
_IGNORED_HTTP = frozenset({"_format", "_pretty"})
_UNSUPPORTED = frozenset({"_text", "_content", "_list", "_query", "_filter"})
_MODIFIERS: dict[str, frozenset[str]] = {
    "string": string_t.MODIFIERS,
    "token": token_t.MODIFIERS,
    "reference": reference_t.MODIFIERS,
    "date": date_t.MODIFIERS,
    "number": number_t.MODIFIERS,
    "quantity": quantity_t.MODIFIERS,
    "uri": uri_t.MODIFIERS,
    "composite": composite_t.MODIFIERS,
}


_COMPONENT_PARSERS: dict[str, composite_t.ValueParser] = {
    "token": token_t.parse,
    "string": string_t.parse,
    "date": date_t.parse,
    "quantity": quantity_t.parse,
}

_PARSERS: dict[str, Callable[[str, str | None, ParseContext], Value]] = {
    "string": string_t.parse,
    "token": token_t.parse,
    "number": number_t.parse,
    "quantity": quantity_t.parse,
    "uri": uri_t.parse,
}


class _Skip(Exception):
    """The parameter is unknown or unsupported: ignored (lenient) or refused (strict)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _unsupported_modifier(name: str, message: str) -> InvalidError:
    """A known parameter with a modifier it does not take is refused, in lenient handling too:
    ignoring the modifier would widen the search (``name:exact`` read as ``name``). R4's own
    example of a search error is this case (operationoutcome-example-searchfail: "The "name"
    parameter has the modifier "exact" which is not supported by this server")."""
    return cast(InvalidError, InvalidError(message, name, issue_code="not-supported"))


def _bad(name: str, message: str) -> InvalidError:
    return cast(InvalidError, InvalidError(message, name, issue_code="value"))


@dataclass
class _Parser:
    types: tuple[str, ...]
    registry: SearchRegistry
    strict: bool
    base_url: str | None
    now_us: int
    all_types: frozenset[str]
    near_default_km: float = near_t.DEFAULT_DISTANCE_KM
    ignored: list[str] = field(default_factory=list)

    # ------------------------------------------------------------------ lookups

    def lookup(self, types: tuple[str, ...], code: str) -> SearchParamDef | None:
        """The parameter on every type of ``types`` (same type everywhere); common
        parameters only when no type is given."""
        if not types:
            return self.registry.common(code)
        found: SearchParamDef | None = None
        for t in types:
            spd = self.registry.get(t, code)
            if spd is None or (found is not None and spd.type != found.type):
                return None
            found = found or spd
        return found

    def targets(self, types: tuple[str, ...], code: str) -> tuple[str, ...]:
        out: dict[str, None] = {}
        for t in types:
            spd = self.registry.get(t, code)
            if spd is not None:
                out.update(dict.fromkeys(targets_on(spd, t)))
        return tuple(out)

    def ctx(self, name: str, targets: tuple[str, ...] = ()) -> ParseContext:
        return ParseContext(name, targets, self.base_url, self.now_us, self.all_types)

    def skip(self, name: str, message: str) -> None:
        if self.strict:
            raise InvalidError(message, name, issue_code="not-supported")
        self.ignored.append(name)

    # ------------------------------------------------------------------ criteria

    def criterion(self, name: str, raw: str) -> Criterion:
        segments = name.split(".")
        return self.segment(name, segments, self.types, raw)

    def segment(self, name: str, segments: list[str], types: tuple[str, ...], raw: str) -> Criterion:
        head, rest = segments[0], segments[1:]
        code, _, modifier = head.partition(":")
        if not code:
            raise _Skip(f"Malformed search parameter '{name}'")
        if code == "_has":
            raise _Skip(f"_has inside a chain is not supported ('{name}')")
        if rest:
            return self.chain(name, code, modifier, rest, types, raw)
        if code == "_id":
            if modifier:
                raise _unsupported_modifier(name, f"Modifier ':{modifier}' is not supported on _id")
            ids = tuple(unescape(v) for v in split_unescaped(raw, ","))
            if not all(ids):
                raise _bad(name, f"Empty id in '{name}={raw}'")
            return IdClause(ids)
        if code == "_lastUpdated":
            if modifier:
                raise _unsupported_modifier(name, f"Modifier ':{modifier}' is not supported on _lastUpdated")
            ctx = self.ctx(name)
            return LastUpdatedClause(tuple(self.date_value(name, v, ctx) for v in split_unescaped(raw, ",")))
        spd = self.lookup(types, code)
        if spd is None:
            where = ", ".join(types) if types else "all resource types"
            raise _Skip(f"Unknown search parameter '{code}' for {where}")
        if spd.type == "special" and spd.url == near_t.URL:
            return self.near(name, ParamRef(code, "special"), modifier or None, raw)
        if spd.type not in _MODIFIERS:
            raise _Skip(f"Search parameters of type {spd.type} ('{code}') are not supported yet")
        targets = self.targets(types, code) if spd.type == "reference" else ()
        param = ParamRef(code, spd.type, targets)
        parsers: tuple[composite_t.ValueParser, ...] = ()
        if spd.type == "composite":
            ctypes = composite_t.component_types(spd, self.registry)
            if not composite_t.supported(ctypes):
                shape = "$".join(t or "unknown" for t in ctypes)
                raise _Skip(f"Composite search parameter '{code}' ({shape}) is not supported")
            parsers = tuple(_COMPONENT_PARSERS[t] for t in ctypes if t is not None)
        return self.clause(name, param, modifier or None, raw, parsers)

    def clause(
        self,
        name: str,
        param: ParamRef,
        modifier: str | None,
        raw: str,
        parsers: tuple[composite_t.ValueParser, ...] = (),
    ) -> Clause:
        ptype = param.type
        ctx = self.ctx(name, param.targets)
        pieces = split_unescaped(raw, ",")
        type_modifier: str | None = None
        if modifier in token_terminology.VALUESET_MODIFIERS and ptype != "token":
            raise InvalidError(
                f"Modifier ':{modifier}' applies to token parameters (codes), not to {ptype} "
                f"parameter '{param.code}'",
                name,
                issue_code="not-supported",
            )
        if modifier is not None and modifier not in _MODIFIERS[ptype]:
            if ptype == "reference" and modifier in self.all_types:
                if param.targets and modifier not in param.targets:
                    raise _bad(
                        name,
                        f"'{param.code}' cannot refer to {modifier} (targets: {', '.join(param.targets)})",
                    )
                type_modifier = modifier
            else:
                raise _unsupported_modifier(
                    name, f"Modifier ':{modifier}' is not supported on {ptype} parameter '{param.code}'"
                )
        values: list[Value] = []
        try:
            if modifier == "missing":
                for p in pieces:
                    if p not in ("true", "false"):
                        raise ValueParseError(f"'{name}' takes true or false, not '{p}'")
                    values.append(MissingValue(p == "true"))
            elif ptype == "reference":
                if modifier == "identifier":
                    values.extend(token_t.parse(p, None, ctx) for p in pieces)
                else:
                    values.extend(reference_t.parse(p, None, ctx, type_modifier) for p in pieces)
            elif ptype == "date":
                values.extend(self.date_value(name, p, ctx) for p in pieces)
            elif ptype == "composite":
                values.extend(composite_t.parse(p, parsers, ctx) for p in pieces)
            elif ptype == "token" and modifier in token_terminology.MODIFIERS:
                values.extend(token_terminology.parse(p, modifier, ctx) for p in pieces)
            else:
                parse = _PARSERS[ptype]
                values.extend(parse(p, modifier, ctx) for p in pieces)
        except ValueParseError as exc:
            raise _bad(name, str(exc)) from None
        return Clause(param, "type" if type_modifier else modifier, tuple(values))

    def near(self, name: str, param: ParamRef, modifier: str | None, raw: str) -> Clause:
        """``near`` on Location (``types/near.py``); values ORed, ``:missing`` allowed."""
        if modifier is not None and modifier not in near_t.MODIFIERS:
            raise _unsupported_modifier(name, f"Modifier ':{modifier}' is not supported on '{param.code}'")
        ctx = self.ctx(name)
        values: list[Value] = []
        try:
            for piece in split_unescaped(raw, ","):
                if modifier == "missing":
                    if piece not in ("true", "false"):
                        raise ValueParseError(f"'{name}' takes true or false, not '{piece}'")
                    values.append(MissingValue(piece == "true"))
                else:
                    values.append(near_t.parse(piece, self.near_default_km, ctx))
        except ValueParseError as exc:
            raise _bad(name, str(exc)) from None
        return Clause(param, modifier, tuple(values))

    def date_value(self, name: str, raw: str, ctx: ParseContext) -> DateValue:
        try:
            return date_t.parse(raw, None, ctx)
        except ValueParseError as exc:
            raise _bad(name, str(exc)) from None

    def chain(
        self, name: str, code: str, modifier: str, rest: list[str], types: tuple[str, ...], raw: str
    ) -> Clause:
        spd = self.lookup(types, code)
        if spd is None:
            raise _Skip(f"Unknown search parameter '{code}' in chain '{name}'")
        if spd.type != "reference":
            raise _bad(name, f"'{code}' is a {spd.type} parameter: only reference parameters can be chained")
        targets = self.targets(types, code) or tuple(sorted(self.all_types))
        next_code = rest[0].partition(":")[0]
        if modifier:
            if modifier not in self.all_types:
                raise _bad(name, f"'{modifier}' in '{name}' is not a resource type")
            if modifier not in targets:
                raise _bad(name, f"'{code}' cannot refer to {modifier}")
            target = modifier
        else:
            candidates = [
                t for t in targets if next_code in ("_id", "_lastUpdated") or self.registry.get(t, next_code)
            ]
            if not candidates:
                raise _Skip(f"No target of '{code}' has a search parameter '{next_code}' (in '{name}')")
            if len(candidates) > 1:
                raise _bad(
                    name,
                    f"Chain '{name}' is ambiguous: '{code}' can refer to {', '.join(candidates)}, "
                    f"which all have '{next_code}'; name the type, "
                    f"e.g. '{code}:{candidates[0]}.{'.'.join(rest)}'",
                )
            target = candidates[0]
        param = ParamRef(code, "reference", targets if spd.targets else ())
        inner = self.segment(name, rest, (target,), raw)
        if isinstance(inner, IdClause):  # subject:Patient._id=1 is subject=Patient/1
            values = tuple(ReferenceValue(f"{target}/{i}", target) for i in inner.ids)
            return Clause(param, None, values)
        if not isinstance(inner, Clause):
            raise _Skip(f"_lastUpdated is not supported in a chain ('{name}')")
        return Clause(param, None, (), Chain(target, inner))

    def has(self, name: str, rest: str, types: tuple[str, ...], raw: str) -> HasClause:
        """``rest`` is what follows ``_has:``: ``[source type]:[reference param]:[inner]``,
        where the inner parameter may carry modifiers, chain, or be another ``_has``."""
        if len(types) != 1:
            raise InvalidError(
                f"'{name}': _has is supported on searches of one resource type, not on system search",
                name,
                issue_code="not-supported",
            )
        parts = rest.split(":", 2)
        if len(parts) != 3 or not all(parts):
            raise _bad(name, f"'{name}' must be _has:[type]:[reference parameter]:[parameter]")
        source, code, inner_name = parts
        if source not in self.all_types:
            raise _bad(name, f"'{source}' in '{name}' is not a resource type")
        spd = self.registry.get(source, code)
        if spd is None:
            raise _Skip(f"Unknown search parameter '{code}' for {source} (in '{name}')")
        if spd.type != "reference":
            raise _bad(name, f"'{code}' of {source} is a {spd.type} parameter, not a reference (in '{name}')")
        if spd.targets and types[0] not in spd.targets:
            raise _bad(name, f"'{source}:{code}' cannot refer to {types[0]} (in '{name}')")
        inner: Criterion
        if inner_name.startswith("_has:"):
            inner = self.has(name, inner_name[len("_has:") :], (source,), raw)
        else:
            inner = self.segment(name, inner_name.split("."), (source,), raw)
        return HasClause(source, code, inner)

    # ------------------------------------------------------------------ result parameters

    def sort(self, name: str, raw: str) -> list[SortKey]:
        keys: list[SortKey] = []
        for item in raw.split(","):
            item = item.strip()
            if not item:
                continue
            desc = item.startswith("-")
            code = item[1:] if desc else item
            if code in ("_id", "_lastUpdated"):
                keys.append(SortKey(code, cast(Literal["_id", "_lastUpdated"], code), desc))
                continue
            spd = self.lookup(self.types, code)
            if spd is None or spd.type not in SORTABLE_TYPES:
                msg = f"Cannot sort on '{code}': " + (
                    "unknown search parameter" if spd is None else f"{spd.type} parameters are not sortable"
                )
                if self.strict:
                    raise InvalidError(msg, name, issue_code="not-supported")
                self.ignored.append(f"_sort={item}")
                continue
            keys.append(SortKey(code, spd.type, desc))
        return keys

    def include(self, name: str, raw: str, reverse: bool) -> list[Include]:
        modifier = name.partition(":")[2]
        if modifier not in ("", "iterate", "recurse"):
            raise _unsupported_modifier(
                name, f"Modifier ':{modifier}' is not supported on {name.partition(':')[0]}"
            )
        iterate = bool(modifier)
        out: list[Include] = []
        for item in split_unescaped(raw, ","):
            item = unescape(item)
            if item == "*":  # forward: every reference of the matches; reverse: every referrer
                source = self.types[0] if len(self.types) == 1 and not reverse else "*"
                out.append(Include(source, "*", None, iterate, reverse))
                continue
            parts = item.split(":")
            if len(parts) not in (2, 3) or parts[0] not in self.all_types:
                raise _bad(
                    name, f"Invalid {name} value '{item}' (expected [type]:[parameter][:[target type]])"
                )
            source, code = parts[0], parts[1]
            target = parts[2] if len(parts) == 3 else None
            if code != "*":
                spd = self.registry.get(source, code)
                if spd is None:  # unknown: ignored and reported (lenient) or refused (strict)
                    if self.strict:
                        msg = f"Unknown search parameter '{code}' for {source} in {name}"
                        raise InvalidError(msg, name, issue_code="not-supported")
                    self.ignored.append(f"{name}={item}")
                    continue
                if spd.type != "reference":
                    raise _bad(name, f"'{code}' is not a reference search parameter of {source}")
                if target is not None and (
                    target not in self.all_types or (spd.targets and target not in spd.targets)
                ):
                    raise _bad(name, f"'{source}:{code}' cannot refer to '{target}'")
            out.append(Include(source, code, target, iterate, reverse))
        return out


def _count(name: str, raw: str, max_count: int) -> int:
    if not (raw.strip().isascii() and raw.strip().isdigit()):
        raise _bad(name, f"_count must be a non-negative integer, not '{raw}'")
    return min(int(raw), max_count)


_LOWER = frozenset({"ge", "gt", "sa"})
_UPPER = frozenset({"le", "lt", "eb"})


def implicit_sort(criteria: Iterable[Criterion]) -> list[SortKey]:
    """An order a backend may give a search without ``_sort`` (FHIR defines none): when the
    query bounds a date parameter on both sides (``eq``, or a lower and an upper prefix:
    "claims created in March"), that parameter ascending, a period read chronologically.
    The SQLite backend uses it to serve a page from the index range without first
    collecting every match (``storage/sqlite/sort_scan.py``)."""
    lower: set[str] = set()
    upper: set[str] = set()
    for c in criteria:
        if not (isinstance(c, Clause) and c.param.type == "date" and c.modifier is None and c.chain is None):
            continue
        if not c.values or not all(isinstance(v, DateValue) for v in c.values):
            continue
        prefixes = {cast(DateValue, v).prefix for v in c.values}
        code = c.param.code
        if prefixes == {"eq"}:
            return [SortKey(code, "date")]
        if prefixes <= _LOWER:
            lower.add(code)
        elif prefixes <= _UPPER:
            upper.add(code)
        if code in lower and code in upper:
            return [SortKey(code, "date")]
    return []


def parse_search(
    resource_types: tuple[str, ...],
    params: Iterable[tuple[str, str]],
    registry: SearchRegistry,
    *,
    strict: bool = False,
    default_count: int = 50,
    max_count: int = 1000,
    base_url: str | None = None,
    now_us: int | None = None,
    near_default_km: float = near_t.DEFAULT_DISTANCE_KM,
) -> SearchQuery:
    """Parse a search. ``resource_types``: one type (type search) or several / none (system
    search: only parameters common to all the types apply; ``_type`` narrows them).
    ``base_url`` makes absolute references to this server local; ``now_us`` is only for
    tests (``ap`` on dates is evaluated at match time); ``near_default_km`` is the distance of a
    ``near`` without one."""
    params = list(params)
    all_types = registry.resource_types
    types = tuple(resource_types)
    for name, raw in params:
        if name == "_type" and len(types) != 1:
            wanted = [t.strip() for t in raw.split(",") if t.strip()]
            for t in wanted:
                if t not in all_types:
                    raise _bad(name, f"'{t}' is not a resource type")
            types = tuple(t for t in (types or tuple(sorted(all_types))) if t in wanted)
    p = _Parser(
        types,
        registry,
        strict,
        base_url.rstrip("/") if base_url else None,
        now_us if now_us is not None else int(time.time() * 1_000_000),
        all_types,
        near_default_km,
    )
    criteria: list[Criterion] = []
    sort: list[SortKey] = []
    includes: list[Include] = []
    count = min(default_count, max_count)
    cursor: str | None = None
    total: Literal["none", "estimate", "accurate"] = "none"
    summary: str | None = None
    elements: tuple[str, ...] = ()
    contained: Literal["false", "true", "both"] = "false"
    contained_type: Literal["container", "contained"] = "container"
    for name, raw in params:
        base = name.partition(":")[0]
        if base in _IGNORED_HTTP or name == "_type":
            continue
        try:
            if name == "_count":
                count = _count(name, raw, max_count)
            elif name == "_sort":
                sort = p.sort(name, raw)
            elif name == "_total":
                if raw not in TOTAL_VALUES:
                    raise _bad(name, f"_total must be one of none, estimate, accurate; not '{raw}'")
                total = cast(Literal["none", "estimate", "accurate"], raw)
            elif name == "_summary":
                if raw not in SUMMARY_VALUES:
                    raise _bad(name, f"_summary must be one of true, text, data, count, false; not '{raw}'")
                summary = raw
            elif name == "_elements":
                elements = tuple(e.strip() for e in raw.split(",") if e.strip())
            elif name == "_cursor":
                cursor = raw
            elif name == "_contained":
                if raw not in contained_t.MODES:
                    raise _bad(name, f"_contained must be one of false, true, both; not '{raw}'")
                contained = cast(Literal["false", "true", "both"], raw)
            elif name == "_containedType":
                if raw not in contained_t.TYPES:
                    raise _bad(name, f"_containedType must be container or contained; not '{raw}'")
                contained_type = cast(Literal["container", "contained"], raw)
            elif base in ("_include", "_revinclude"):
                includes.extend(p.include(name, raw, base == "_revinclude"))
            elif base == "_has":
                if raw == "":
                    raise _Skip(f"Search parameter '{name}' has an empty value")
                criteria.append(p.has(name, name[len("_has:") :], p.types, raw))
            elif base in _UNSUPPORTED:
                raise _Skip(f"Search parameter '{base}' is not supported")
            elif raw == "":
                raise _Skip(f"Search parameter '{name}' has an empty value")
            else:
                criteria.append(p.criterion(name, raw))
        except _Skip as skip:
            p.skip(name, skip.message)
    query = SearchQuery(
        resource_types=types,
        criteria=tuple(criteria),
        sort=tuple(sort),
        count=count,
        cursor=cursor,
        total=total,
        summary=summary,
        elements=elements,
        includes=tuple(includes),
        ignored=tuple(p.ignored),
        contained=contained,
        contained_type=contained_type,
    )
    if contained != "false":
        problem = contained_t.refusal(query, query.criteria)
        if problem is not None:
            raise InvalidError(problem, "_contained", issue_code="not-supported")
    return query
