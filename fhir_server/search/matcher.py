"""The in-memory reference matcher: it STATES the search semantics every backend must
reproduce (the storage contract tests compare each backend with it over the examples).

A resource is a *record* ``(type, id, last_updated_us, entries)`` with the index entries
of ``extract.py``. Rules (search.html R4, with the per-type details in ``types/*``):

* criteria are ANDed; the values of one clause are ORed; a clause matches when ANY entry
  of its parameter matches ANY of its values (for ``ne`` too: per entry);
* ``:missing=true`` matches resources with NO entry for the parameter, ``false`` those
  with at least one (Reference.identifier tokens do not count);
* ``:not`` (token) negates the whole clause: no entry matches any value, so resources
  without the element match too;
* ``:identifier`` (reference) applies token semantics to the "<code>:identifier" entries;
* a composite value matches when each of its component values matches the component
  entry at the same position of ONE CompositeEntry (the same element);
* ``:of-type`` (token) applies token semantics to the "<code>:of-type" entries
  (``types/token.extract_of_type``);
* a chained clause matches when an entry of the reference parameter is a local reference
  to ``chain.target_type`` whose resource (``resolve("Type/id")``) matches the inner clause;
* ``_has:S:p:inner`` matches when some record of type S (``of_type("S")``) has a
  reference entry of ``p`` to the candidate (``Type/id``, local) and matches ``inner``;
* a compartment clause matches when one of the type's compartment parameters has a
  reference entry to the compartment (``{def}``: the resource is the compartment);
* ``near`` (Location): a position whose great-circle distance to the point is at most the
  distance, inclusive (``types/near.py``);
* ``_id`` matches the logical id, ``_lastUpdated`` the point ``[lu, lu]`` with date rules;
* ``ap`` on dates is widened at match time by 10% of the distance to now.

Sorting (``search``): each key takes, per resource, the smallest value of the parameter
ascending and the largest descending (dates: the earliest ``lo`` ascending, the latest
``hi`` descending; strings: the normalised form; tokens: the code; references: the
target); resources without a value sort LAST in both directions; ties, and the order
without ``_sort``, are by id ascending, then type.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from .index import (
    CompositeEntry,
    DateEntry,
    Entry,
    IndexEntries,
    NumberEntry,
    PositionEntry,
    QuantityEntry,
    ReferenceEntry,
    StringEntry,
    TokenEntry,
    UriEntry,
)
from .ir import (
    Clause,
    CompartmentClause,
    CompositeValue,
    Criterion,
    DateValue,
    HasClause,
    IdClause,
    LastUpdatedClause,
    MissingValue,
    NearValue,
    NumberValue,
    QuantityValue,
    ReferenceValue,
    SearchQuery,
    SortKey,
    StringValue,
    TokenValue,
    UriValue,
    Value,
)
from .types import composite as composite_t
from .types import date as date_t
from .types import near as near_t
from .types import number as number_t
from .types import quantity as quantity_t
from .types import reference as reference_t
from .types import string as string_t
from .types import token as token_t
from .types import uri as uri_t

__all__ = ["OfType", "Record", "Resolver", "matches", "search", "sort_records"]

Record = tuple[str, str, int, IndexEntries]  # (type, id, last_updated_us, entries)
Resolver = Callable[[str], "Record | None"]
OfType = Callable[[str], Sequence["Record"]]  # the current records of a type (for _has)


@dataclass(frozen=True)
class _Env:
    resolve: Resolver | None
    of_type: OfType | None
    now_us: int


_SORT_KEYS: dict[str, Callable[[list[Entry], bool], Any]] = {
    "string": string_t.sort_key,
    "token": token_t.sort_key,
    "date": date_t.sort_key,
    "number": number_t.sort_key,
    "quantity": quantity_t.sort_key,
    "reference": reference_t.sort_key,
    "uri": uri_t.sort_key,
}


def value_matches(value: Value, modifier: str | None, entry: Entry, now_us: int) -> bool:
    """One OR-value against one index entry."""
    if isinstance(value, StringValue):
        return isinstance(entry, StringEntry) and string_t.match_value(value, modifier, entry)
    if isinstance(value, TokenValue):
        return isinstance(entry, TokenEntry) and token_t.match_value(value, modifier, entry)
    if isinstance(value, DateValue):
        return isinstance(entry, DateEntry) and date_t.match_value(value, entry, now_us)
    if isinstance(value, QuantityValue):
        return isinstance(entry, QuantityEntry) and quantity_t.match_value(value, entry)
    if isinstance(value, NumberValue):
        return isinstance(entry, NumberEntry) and number_t.match_value(value, entry)
    if isinstance(value, ReferenceValue):
        return isinstance(entry, ReferenceEntry) and reference_t.match_value(value, entry)
    if isinstance(value, UriValue):
        return isinstance(entry, UriEntry) and uri_t.match_value(value, modifier, entry)
    if isinstance(value, NearValue):
        return isinstance(entry, PositionEntry) and near_t.match_value(value, entry)
    if isinstance(value, CompositeValue):
        return isinstance(entry, CompositeEntry) and composite_t.match_value(
            value, entry, lambda v, e: value_matches(v, None, e, now_us)
        )
    return False


def _clause(c: Clause, entries: IndexEntries, env: _Env) -> bool:
    code = c.param.code
    now_us = env.now_us
    if c.chain is not None:
        target_type = c.chain.target_type
        for e in entries.get(code, ()):
            if not isinstance(e, ReferenceEntry) or e.type != target_type or env.resolve is None:
                continue
            rec = env.resolve(e.target)
            if rec is not None and rec[0] == target_type and _criterion(c.chain.clause, rec, env):
                return True
        return False
    values = c.values
    if values and isinstance(values[0], MissingValue):
        present = bool(entries.get(code))
        return any(isinstance(v, MissingValue) and v.missing != present for v in values)
    modifier = c.modifier
    if modifier in ("identifier", "of-type"):
        found = entries.get(f"{code}:{modifier}", ())
        hit = any(value_matches(v, None, e, now_us) for v in values for e in found)
        return hit
    inner_modifier = None if modifier in ("not", "type") else modifier
    found = entries.get(code, ())
    hit = any(value_matches(v, inner_modifier, e, now_us) for v in values for e in found)
    return not hit if modifier == "not" else hit


def _refers(entries: IndexEntries, codes: Iterable[str], rtype: str, target: str) -> bool:
    """Some entry of ``codes`` is a local reference to ``target`` ("Type/id")."""
    return any(
        isinstance(e, ReferenceEntry) and e.type == rtype and e.target == target
        for code in codes
        for e in entries.get(code, ())
    )


def _has(c: HasClause, rec: Record, env: _Env) -> bool:
    if env.of_type is None:
        return False
    target = f"{rec[0]}/{rec[1]}"
    return any(
        _refers(src[3], (c.reference_param,), rec[0], target) and _criterion(c.clause, src, env)
        for src in env.of_type(c.source_type)
    )


def _in_compartment(c: CompartmentClause, rec: Record) -> bool:
    codes = c.codes(rec[0])
    if "{def}" in codes and f"{rec[0]}/{rec[1]}" == c.target:
        return True
    return _refers(rec[3], codes, c.target.partition("/")[0], c.target)


def _criterion(c: Criterion, rec: Record, env: _Env) -> bool:
    if isinstance(c, IdClause):
        return (rec[1] in c.ids) != c.negate
    if isinstance(c, LastUpdatedClause):
        lu = rec[2]
        return any(date_t.match_value(v, DateEntry(lu, lu), env.now_us) for v in c.values)
    if isinstance(c, HasClause):
        return _has(c, rec, env)
    if isinstance(c, CompartmentClause):
        return _in_compartment(c, rec)
    return _clause(c, rec[3], env)


def matches(
    query_or_criteria: SearchQuery | Sequence[Criterion],
    resource_type: str,
    id: str,
    last_updated_us: int,
    entries: IndexEntries,
    resolve: Resolver | None = None,
    *,
    now_us: int | None = None,
    of_type: OfType | None = None,
) -> bool:
    """Whether the resource matches. ``resolve("Patient/1")`` returns the record of a
    referenced resource (or None) and is needed for chained clauses; ``of_type("Claim")``
    the current records of a type, for ``_has``. A SearchQuery also
    checks the resource type against ``query.resource_types`` (empty: any type)."""
    now = now_us if now_us is not None else int(time.time() * 1_000_000)
    if isinstance(query_or_criteria, SearchQuery):
        types = query_or_criteria.resource_types
        if types and resource_type not in types:
            return False
        criteria: Sequence[Criterion] = query_or_criteria.criteria
    else:
        criteria = query_or_criteria
    rec: Record = (resource_type, id, last_updated_us, entries)
    env = _Env(resolve, of_type, now)
    return all(_criterion(c, rec, env) for c in criteria)


def _sort_value(rec: Record, key: SortKey) -> Any:
    if key.type == "_id":
        return rec[1]
    if key.type == "_lastUpdated":
        return rec[2]
    fn = _SORT_KEYS.get(key.type)
    return fn(rec[3].get(key.param, []), key.descending) if fn else None


def sort_records(records: Iterable[Record], keys: Sequence[SortKey]) -> list[Record]:
    """Records in search order (see the module docstring)."""
    out = sorted(records, key=lambda r: (r[1], r[0]))
    for key in reversed(keys):
        # stable sorts from the last key to the first; reverse=True keeps stability
        out.sort(key=_key_function(key), reverse=key.descending)
    return out


def _key_function(key: SortKey) -> Callable[[Record], tuple[bool, Any]]:
    def ascending(rec: Record) -> tuple[bool, Any]:
        v = _sort_value(rec, key)
        return (v is None, 0 if v is None else v)  # missing last

    def descending(rec: Record) -> tuple[bool, Any]:
        v = _sort_value(rec, key)
        return (v is not None, 0 if v is None else v)  # reversed: present first, missing last

    return descending if key.descending else ascending


def search(
    query: SearchQuery,
    corpus: Iterable[Record],
    resolve: Resolver | None = None,
    *,
    now_us: int | None = None,
) -> list[tuple[str, str]]:
    """All matching ``(type, id)`` in order (no paging). Without ``resolve`` chains resolve
    within the corpus; ``_has`` always looks within the corpus."""
    records = list(corpus)
    if resolve is None:
        by_ref = {f"{r[0]}/{r[1]}": r for r in records}
        resolve = by_ref.get
    by_type: dict[str, list[Record]] = {}
    for r in records:
        by_type.setdefault(r[0], []).append(r)

    def of_type(rtype: str) -> Sequence[Record]:
        return by_type.get(rtype, [])

    now = now_us if now_us is not None else int(time.time() * 1_000_000)
    hits = [
        r for r in records if matches(query, r[0], r[1], r[2], r[3], resolve, now_us=now, of_type=of_type)
    ]
    return [(r[0], r[1]) for r in sort_records(hits, query.sort)]
