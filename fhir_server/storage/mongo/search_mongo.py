"""Compile the search IR (``search/ir.py``) to a MongoDB filter on ``resources``.

Spec: http://hl7.org/fhir/R4/search.html. The semantics are those of the reference
matcher (``search/matcher.py``); per parameter type:

* every value is one ``$elemMatch`` on the entry array of its kind, bound to the param
  code (``{"tok": {"$elemMatch": {"p": code, ...}}}``); a clause's values are ORed
  (``$or``), clauses are ANDed (``$and``);
* string: default starts-with on the normalised ``n`` as a range
  (``$gte prefix``, ``$lt`` the prefix's successor), never an unanchored
  case-insensitive regex; ``:exact`` equality on ``e``; ``:contains`` an escaped regex
  on ``n``;
* token: ``code`` (any system), ``system|code``, ``|code`` (no system), ``system|``;
  ``:text`` starts-with on ``t``; ``:not`` no entry matches any value;
  ``:identifier`` on a reference: token semantics on the ``<code>:identifier`` entries;
  ``:of-type`` likewise on the ``<code>:of-type`` entries (type system, "type code|value");
* reference: ``Type/id`` equality on ``r`` (and ``v`` when a version is given); a plain
  id matches a local reference ``T/id`` of any known type T (indexed id part ``i``);
  ``:[type]`` restricts the type; chains resolve the inner clause first (capped by the
  store's ``chain_limit``, TooCostlyError naming the parameter above it);
* ``_has:S:p:inner``: the S resources matching ``inner`` are fetched first (same cap),
  and the candidate's ``id`` must be one of the local ids their ``p`` references point
  to (of the candidate's type);
* compartment: ``$or`` over the compartment's types of ``{type: T, ref: {$elemMatch:
  {p: {$in: codes}, r: "Patient/1"}}}`` (``{def}``: the resource itself);
* date: entries and values are closed microsecond ranges; with entry ``[lo, hi]`` and
  value ``[V.lo, V.hi]`` (search.html, "prefixes"):
  eq ``lo >= V.lo and hi <= V.hi``; ne not eq; gt ``hi > V.hi``; lt ``lo < V.lo``;
  ge "the range above the search value intersects the target, or the search range
  fully contains it" = ``hi > V.hi or lo >= V.lo``; le = ``lo < V.lo or hi <= V.hi``;
  sa ``lo > V.hi``; eb ``hi < V.lo``; ap: the entry overlaps the value's range widened
  on each side by 10 % of the gap between now and that bound (``approximate``);
* number and quantity on the entry value ``v`` with the search value's implicit range
  ``[V.lo, V.hi)``: eq ``V.lo <= v < V.hi``; ne not eq; gt/sa ``v > V.value``;
  lt/eb ``v < V.value``; ge/le against V.value; ap ``|v - V.value| <= 10 % of |V.value|``;
  quantity also matches the unit: with a system ``s == system and c == code``,
  without one ``c == code or u == code``; a UCUM value with a canonical form matches
  ``cu`` (canonical unit) and the canonical value ``cv`` instead, on entries that have
  them (the others, ``cu`` absent, as written);
* composite: one ``$elemMatch`` on ``cmp`` with each component's condition on its
  sub-document (``a.``, ``b.``), so all components match the same element;
* uri: equality; ``:below`` starts-with; ``:above`` the entry is a prefix of the value;
* ``:missing=true``: no entry of the param; ``false``: at least one;
* ``near`` (Location.position): ``search_near.py``.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from typing import Any

from ...errors import InvalidError, NotSupportedError
from ...search.index import MAX_INSTANT, MIN_INSTANT
from ...search.ir import (
    Clause,
    CompartmentClause,
    CompositeValue,
    Criterion,
    DateValue,
    HasClause,
    IdClause,
    LastUpdatedClause,
    MissingValue,
    NumberValue,
    ParamType,
    QuantityValue,
    ReferenceValue,
    StringValue,
    TokenValue,
    UriValue,
    Value,
    criterion_name,
)
from ...search.token_sets import group_codes
from ...search.types.number import approx_window
from ...search.types.quantity import canonical_value
from .documents import COMPONENT_FIELDS, COMPOSITE, DATE, NUMBER, QUANTITY, REFERENCE, STRING, TOKEN, URI
from .search_near import near_filter

Filter = dict[str, Any]
# (resource type, filter on that type, parameter name for messages, with references?)
# -> the matching documents, "_id" ("Type/id") and, when asked, "ref" (capped by the store)
ChainLookup = Callable[[str, Filter, str, bool], Awaitable[list[dict[str, Any]]]]


def approximate(lo: int, hi: int, now_us: int) -> tuple[int, int]:
    """The ``ap`` window for dates: each bound moves away by 10 % of its distance to now
    (search.html, Prefixes: "10% of the gap between now and the date")."""
    return max(MIN_INSTANT, lo - abs(now_us - lo) // 10), min(MAX_INSTANT, hi + abs(now_us - hi) // 10)


ARRAY_OF: dict[ParamType, str] = {
    "string": STRING,
    "token": TOKEN,
    "reference": REFERENCE,
    "date": DATE,
    "number": NUMBER,
    "quantity": QUANTITY,
    "uri": URI,
    "composite": COMPOSITE,
}
NOTHING: Filter = {"_id": {"$in": []}}
NO_ENTRY: Filter = {"p": {"$in": []}}  # inside $elemMatch: matches no entry


def successor(prefix: str) -> str | None:
    """The least string greater than every string starting with ``prefix`` (code point order)."""
    while prefix:
        last = ord(prefix[-1]) + 1
        if 0xD800 <= last <= 0xDFFF:  # surrogates cannot be encoded; skip to U+E000
            last = 0xE000
        if last <= 0x10FFFF:
            return prefix[:-1] + chr(last)
        prefix = prefix[:-1]
    return None


def starts_with(prefix: str) -> Filter:
    """Operators for "starts with ``prefix``" as an index range."""
    upper = successor(prefix)
    if upper is None:
        return {"$type": "string"}
    return {"$gte": prefix, "$lt": upper}


def and_(*parts: Filter) -> Filter:
    """AND of filters: merged into one document where their keys do not collide."""
    merged: Filter = {}
    rest: list[Filter] = []
    for part in parts:
        if not part:
            continue
        if any(k in merged for k in part) or "$and" in part:
            rest.append(part)
        else:
            merged.update(part)
    if rest:
        if not merged:
            return rest[0] if len(rest) == 1 else {"$and": rest}
        return {"$and": [merged, *rest]}
    return merged


def or_(parts: Sequence[Filter]) -> Filter:
    if not parts:
        return dict(NOTHING)
    if len(parts) == 1:
        return parts[0]
    return {"$or": list(parts)}


# ---------------------------------------------------------------------------- dates


def date_condition(v: DateValue, lo: str, hi: str, now_us: int) -> Filter:
    """Entry range ``[lo, hi]`` (field names; may be the same field) against ``v``."""

    def f(field: str, op: str, value: int) -> Filter:
        return {field: {op: value}}

    def both(a: Filter, b: Filter) -> Filter:
        if lo == hi:  # one scalar field (lastUpdated): merge the operators
            return {lo: {**a[lo], **b[hi]}}
        return {**a, **b}

    p = v.prefix
    if p == "eq":
        return both(f(lo, "$gte", v.lo), f(hi, "$lte", v.hi))
    if p == "ne":
        return {"$or": [f(lo, "$lt", v.lo), f(hi, "$gt", v.hi)]}
    if p == "gt":
        return f(hi, "$gt", v.hi)
    if p == "lt":
        return f(lo, "$lt", v.lo)
    if p == "ge":
        return {"$or": [f(hi, "$gt", v.hi), f(lo, "$gte", v.lo)]}
    if p == "le":
        return {"$or": [f(lo, "$lt", v.lo), f(hi, "$lte", v.hi)]}
    if p == "sa":
        return f(lo, "$gt", v.hi)
    if p == "eb":
        return f(hi, "$lt", v.lo)
    if p == "ap":
        wide_lo, wide_hi = approximate(v.lo, v.hi, now_us)
        return both(f(lo, "$lte", wide_hi), f(hi, "$gte", wide_lo))
    raise InvalidError(f"unknown prefix {p!r}")


# ---------------------------------------------------------------------------- numbers


def number_condition(v: NumberValue | QuantityValue, f: str = "v") -> Filter:
    p = v.prefix
    if p == "eq":
        return {f: {"$gte": v.lo, "$lt": v.hi}}
    if p == "ne":
        return {"$or": [{f: {"$lt": v.lo}}, {f: {"$gte": v.hi}}]}
    if p in ("gt", "sa"):
        return {f: {"$gt": v.value}}
    if p in ("lt", "eb"):
        return {f: {"$lt": v.value}}
    if p == "ge":
        return {f: {"$gte": v.value}}
    if p == "le":
        return {f: {"$lte": v.value}}
    if p == "ap":
        low, high = approx_window(v.value)
        return {f: {"$gte": low, "$lte": high}}
    raise InvalidError(f"unknown prefix {p!r}")


def quantity_condition(v: QuantityValue) -> Filter:
    if v.cunit is not None:  # UCUM with a canonical form: canonical unit and value
        canonical = {"cu": v.cunit, **number_condition(canonical_value(v), "cv")}
        written = and_({"cu": None}, quantity_condition(replace(v, cunit=None)))
        return {"$or": [canonical, written]}
    cond = number_condition(v)
    unit: Filter = {}
    if v.system is not None:
        unit = {"s": v.system}
        if v.code is not None:
            unit["c"] = v.code
    elif v.code is not None:
        unit = {"$or": [{"c": v.code}, {"u": v.code}]}
    if "$or" in cond and "$or" in unit:
        return {"$and": [cond, unit]}
    return {**cond, **unit}


# ---------------------------------------------------------------------------- tokens, refs


def token_condition(v: TokenValue, modifier: str | None) -> Filter:
    if modifier == "text":
        return NO_ENTRY if v.text is None else {"t": starts_with(v.text)}
    if v.system is None and v.code is None:
        return NO_ENTRY
    cond: Filter = {}
    if v.system == "":
        cond["s"] = None
    elif v.system is not None:
        cond["s"] = v.system
    if v.code is not None:
        cond["c"] = v.code
    return cond


def reference_condition(v: ReferenceValue) -> Filter:
    cond: Filter = {}
    if v.target is not None:
        cond["r"] = v.target
    elif v.id is not None:  # a local reference of any (known) type with that id
        cond["i"] = v.id
        if v.type is not None:
            cond["t"] = v.type
    elif v.type is not None:
        cond["t"] = v.type
    else:
        return NO_ENTRY
    if v.version is not None:
        cond["v"] = v.version
    return cond


def prefixed(f: Filter, prefix: str) -> Filter:
    """``f`` on the fields of a sub-document: ``{"c": x}`` -> ``{"a.c": x}``."""
    out: Filter = {}
    for k, v in f.items():
        if k in ("$or", "$and", "$nor"):
            out[k] = [prefixed(x, prefix) for x in v]
        else:
            out[prefix + k] = v
    return out


# ---------------------------------------------------------------------------- clauses


class Compiler:
    """Compiles criteria; chains call back into the store (``chain_lookup``)."""

    def __init__(self, chain_lookup: ChainLookup, now_us: int) -> None:
        self.chain_lookup = chain_lookup
        self.now_us = now_us
        self.outer: str | None = None  # the whole parameter of the chain or _has being compiled

    async def inner(self, c: Clause | HasClause, rtype: str, inner: Criterion) -> tuple[Filter, str]:
        """The filter of ``inner`` (on ``rtype``) and the name of the whole parameter."""
        outer = self.outer
        name = outer or criterion_name(c)
        self.outer = name
        try:
            return await self.criteria_of(rtype, (inner,)), name
        finally:
            self.outer = outer

    async def criteria(self, criteria: Sequence[Criterion]) -> Filter:
        return and_(*[await self.criterion(c) for c in criteria])

    async def criterion(self, c: Criterion) -> Filter:
        if isinstance(c, IdClause):
            ids = list(c.ids)
            return {"id": {"$nin": ids}} if c.negate else {"id": {"$in": ids}}
        if isinstance(c, LastUpdatedClause):
            return or_([date_condition(v, "lu_us", "lu_us", self.now_us) for v in c.values])
        if isinstance(c, HasClause):
            raise InvalidError("_has needs the candidate type: use criteria_of")
        if isinstance(c, CompartmentClause):
            return compartment(c)
        if c.chain is not None:
            return await self.chain(c)
        return self.clause(c)

    async def criteria_of(self, rtype: str, criteria: Sequence[Criterion]) -> Filter:
        """Criteria on resources of one known type (``_has`` needs it)."""
        parts = [
            await self.has(c, rtype) if isinstance(c, HasClause) else await self.criterion(c)
            for c in criteria
        ]
        return and_(*parts)

    async def chain(self, c: Clause) -> Filter:
        assert c.chain is not None
        inner, name = await self.inner(c, c.chain.target_type, c.chain.clause)
        docs = await self.chain_lookup(c.chain.target_type, inner, name, False)
        keys = [str(d["_id"]) for d in docs]
        return {REFERENCE: {"$elemMatch": {"p": c.param.code, "r": {"$in": keys}}}}

    async def has(self, c: HasClause, rtype: str) -> Filter:
        inner, name = await self.inner(c, c.source_type, c.clause)
        docs = await self.chain_lookup(c.source_type, inner, name, True)
        ids = {
            str(e["i"])
            for d in docs
            for e in d.get(REFERENCE, ())
            if e.get("p") == c.reference_param and e.get("t") == rtype and e.get("i") is not None
        }
        return {"id": {"$in": sorted(ids)}}

    def clause(self, c: Clause) -> Filter:
        ptype, code, mod = c.param.type, c.param.code, c.modifier
        if ptype == "special":  # near, the one special parameter searched
            return near_filter(c)
        if ptype not in ARRAY_OF:
            raise NotSupportedError(
                f"search on {ptype} parameter '{code}' is not supported", expression=(code,)
            )
        array = ARRAY_OF[ptype]
        if mod == "missing" or (c.values and isinstance(c.values[0], MissingValue)):
            return or_([self.missing(array, code, v) for v in c.values])
        if mod == "identifier":
            if ptype != "reference":
                raise InvalidError(f":identifier applies to reference parameters, not '{code}'")
            array, code = TOKEN, f"{code}:identifier"
        elif mod == "of-type":
            if ptype != "token":
                raise InvalidError(f":of-type applies to token parameters, not '{code}'")
            array, code, mod = TOKEN, f"{code}:of-type", None
        values: list[Value] = list(c.values)
        matches: list[Filter] = []
        if ptype == "token" and mod in (None, "not"):  # large system|code sets (token_sets.py)
            groups, values = group_codes(values)
            for system, codes in groups.items():
                matches.append({array: {"$elemMatch": {"p": code, "s": system, "c": {"$in": codes}}}})
        conds = [self.value_condition(ptype, mod, v, code) for v in values]
        matches.extend({array: {"$elemMatch": {"p": code, **cond}}} for cond in conds)
        if mod == "not":
            if ptype != "token":
                raise NotSupportedError(f":not is supported on token parameters, not '{code}'")
            return {"$nor": matches} if matches else {}
        return or_(matches)

    @staticmethod
    def missing(array: str, code: str, v: Value) -> Filter:
        if not isinstance(v, MissingValue):
            raise InvalidError(f":missing on '{code}' takes true or false")
        return {f"{array}.p": {"$ne": code}} if v.missing else {f"{array}.p": code}

    def value_condition(self, ptype: str, mod: str | None, v: Value, code: str) -> Filter:
        if isinstance(v, StringValue) and ptype == "string":
            if mod == "exact":
                return {"e": v.raw}
            if mod == "contains":
                return {"n": {"$regex": re.escape(v.norm)}}
            if mod is None:
                return {"n": starts_with(v.norm)}
        elif isinstance(v, TokenValue) and ptype in ("token", "reference"):
            if mod in (None, "not", "text", "identifier"):
                return token_condition(v, mod)
        elif isinstance(v, ReferenceValue) and ptype == "reference":
            if mod in (None, "type"):
                return reference_condition(v)
        elif isinstance(v, DateValue) and ptype == "date":
            if mod is None:
                return date_condition(v, "lo", "hi", self.now_us)
        elif isinstance(v, QuantityValue) and ptype == "quantity":
            if mod is None:
                return quantity_condition(v)
        elif isinstance(v, NumberValue) and ptype == "number":
            if mod is None:
                return number_condition(v)
        elif isinstance(v, CompositeValue) and ptype == "composite":
            if mod is None:
                parts = [
                    prefixed(self.component_condition(c, code), name + ".")
                    for name, c in zip(COMPONENT_FIELDS, v.components, strict=True)
                ]
                return and_(*parts)
        elif isinstance(v, UriValue) and ptype == "uri":
            if mod is None:
                return {"v": v.value}
            if mod == "below":
                return {"v": starts_with(v.value)}
            if mod == "above":
                prefixes = [v.value[:n] for n in range(1, len(v.value) + 1)]
                return {"v": {"$in": prefixes}}
        else:
            raise InvalidError(f"value {v!r} does not fit {ptype} parameter '{code}'", expression=(code,))
        raise NotSupportedError(
            f"modifier :{mod} is not supported on {ptype} parameter '{code}'", expression=(code,)
        )

    def component_condition(self, v: Value, code: str) -> Filter:
        if isinstance(v, TokenValue):
            return token_condition(v, None)
        if isinstance(v, QuantityValue):
            return quantity_condition(v)
        if isinstance(v, DateValue):
            return date_condition(v, "lo", "hi", self.now_us)
        if isinstance(v, StringValue):
            return {"n": starts_with(v.norm)}
        raise NotSupportedError(f"composite component {v!r} of '{code}' is not supported", expression=(code,))


def compartment(c: CompartmentClause) -> Filter:
    ctype, _, cid = c.target.partition("/")
    ors: list[Filter] = []
    for rtype, codes in c.params:
        if "{def}" in codes:
            ors.append({"type": rtype, "id": cid})
        refs = [code for code in codes if code != "{def}"]
        if refs:
            elem = {"p": {"$in": refs}, "r": c.target, "t": ctype}
            ors.append({"type": rtype, REFERENCE: {"$elemMatch": elem}})
    return or_(ors)


def type_filter(resource_types: Sequence[str]) -> Filter:
    if not resource_types:
        return {}
    if len(resource_types) == 1:
        return {"type": resource_types[0]}
    return {"type": {"$in": list(resource_types)}}
