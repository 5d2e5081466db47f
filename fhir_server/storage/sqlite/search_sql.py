"""Compile the search IR (``search/ir.py``) into SQLite SQL.

Each criterion becomes ``r.rid IN (SELECT x.rid FROM ix_<kind> x WHERE x.pid IN (...)
AND (<value> OR <value> ...))`` (``NOT IN`` for ``:not``, ``[NOT] EXISTS`` for
``:missing``); chains become nested subqueries on ``resources``, and so does ``_has``
(the candidate's id among the ``rid_part`` of the source resources' references to its
type: ``r.id IN (SELECT x.rid_part FROM ix_reference x WHERE x.pid IN (..) AND
x.rtype = ? AND x.rid IN (SELECT s.rid FROM resources s WHERE <inner>))``); a
compartment is one subquery on ``ix_reference`` over the (type, parameter) pids.
Subqueries never materialise result sets, so SQLite needs no cap on inner results.
Paging is keyset on the sort values plus ``rid``, never OFFSET. Without ``_sort``
results come in ``rid`` (insertion) order: the matching rids come sorted out of the
index subqueries, so a page is a seek, not a scan of the type in id order; ties under
``_sort`` also fall back to ``rid``. FHIR defines no default order. The semantics mirror the reference
matcher (``search/matcher.py``); the contract tests compare the two.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

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
from ...search.token_sets import group_codes
from ...search.types.near import bounding_box
from ...search.types.number import approx_window
from ...search.types.quantity import canonical_value
from ..cursor import decode
from .params import UNKNOWN, UNKNOWN_SHAPE, Shape

PidOf = Callable[[tuple[str, ...], str], list[int]]
ShapeOf = Callable[[int], Shape]
SQL = tuple[str, list[Any]]


@dataclass(frozen=True)
class SameEntry:
    """Clauses on one parameter whose data is single-valued (``params.Shape.multi`` is
    false: no resource has two entries for it). "An entry matches A and an entry matches
    B" is then "the entry matches A and B": one lookup on one index range
    (``created=ge2024-03-01&created=lt2024-04-01``) instead of two half-open ones."""

    clauses: tuple[Clause, ...]

    @property
    def code(self) -> str:
        return self.clauses[0].param.code


Unit = Criterion | SameEntry

TABLE = {
    "token": "ix_token",
    "string": "ix_string",
    "date": "ix_date",
    "number": "ix_number",
    "quantity": "ix_quantity",
    "reference": "ix_reference",
    "uri": "ix_uri",
    "composite": "ix_composite",
    "special": "ix_position",  # the one special parameter searched: near (Location.position)
}
TOP = "\U0010ffff"


def _marks(n: int) -> str:
    return ",".join("?" * n)


def _type_filter(alias: str, types: tuple[str, ...], indexed: bool = True) -> SQL:
    """The type condition; ``indexed=False`` writes it as ``+type`` so that SQLite drives
    the query from a ``rid IN (index subquery)`` criterion instead of scanning the type."""
    if not types:
        return "1", []
    col = f"{alias}.type" if indexed else f"+{alias}.type"
    if len(types) == 1:
        return f"{col} = ?", [types[0]]
    return f"{col} IN ({_marks(len(types))})", list(types)


def drives_by_rid(criteria: tuple[Unit, ...]) -> bool:
    """True when a criterion is a positive index lookup (``rid IN (...)``) and none is an
    id lookup, which the (type, id) index serves better."""
    if any(isinstance(c, IdClause) for c in criteria):
        return False
    return driving_index(criteria) >= 0


def date_condition(prefix: str, lo: int, hi: int, tlo: str, thi: str) -> SQL:
    """search.html#prefix for ranges: target [tlo, thi] against search value [lo, hi].

    Written in equivalent forms an index on (pid, lo) or (pid, hi) can serve (the target
    range is never empty, tlo <= thi): ``ge`` "the range above the search value
    intersects the target, or the search value contains it" is ``tlo >= lo OR thi > hi``;
    ``le`` likewise is ``tlo < lo OR thi <= hi``; ``eq`` (contained) bounds ``tlo``.
    """
    if prefix == "eq":
        return f"({tlo} >= ? AND {tlo} <= ? AND {thi} <= ?)", [lo, hi, hi]
    if prefix == "ne":
        return f"NOT ({tlo} >= ? AND {tlo} <= ? AND {thi} <= ?)", [lo, hi, hi]
    if prefix == "gt":
        return f"{thi} > ?", [hi]
    if prefix == "lt":
        return f"{tlo} < ?", [lo]
    if prefix == "ge":  # every match also has thi >= lo: a range an index can seek
        return f"({thi} >= ? AND ({tlo} >= ? OR {thi} > ?))", [lo, lo, hi]
    if prefix == "le":  # every match also has tlo <= hi
        return f"({tlo} <= ? AND ({tlo} < ? OR {thi} <= ?))", [hi, lo, hi]
    if prefix == "sa":
        return f"{tlo} > ?", [hi]
    if prefix == "eb":
        return f"{thi} < ?", [lo]
    # ap: the ranges overlap, the search range widened by 10% of its distance to now
    now = int(time.time() * 1_000_000)
    wlo = lo - abs(now - lo) // 10
    whi = hi + abs(now - hi) // 10
    return f"({tlo} <= ? AND {thi} >= ?)", [whi, wlo]


def instant_condition(prefix: str, lo: int, hi: int, col: str) -> SQL:
    """``date_condition`` for a target that is a point (meta.lastUpdated), written so that
    an index on ``col`` serves it (no OR of ranges)."""
    if prefix == "eq":
        return f"({col} >= ? AND {col} <= ?)", [lo, hi]
    if prefix == "ne":
        return f"({col} < ? OR {col} > ?)", [lo, hi]
    if prefix in ("gt", "sa"):
        return f"{col} > ?", [hi]
    if prefix in ("lt", "eb"):
        return f"{col} < ?", [lo]
    if prefix == "ge":
        return f"{col} >= ?", [lo]
    if prefix == "le":
        return f"{col} <= ?", [hi]
    return date_condition(prefix, lo, hi, col, col)


def number_condition(v: NumberValue | QuantityValue, col: str) -> SQL:
    p = v.prefix
    if p == "eq":
        return f"({col} >= ? AND {col} < ?)", [v.lo, v.hi]
    if p == "ne":
        return f"NOT ({col} >= ? AND {col} < ?)", [v.lo, v.hi]
    if p in ("gt", "sa"):
        return f"{col} > ?", [v.value]
    if p in ("lt", "eb"):
        return f"{col} < ?", [v.value]
    if p == "ge":
        return f"{col} >= ?", [v.value]
    if p == "le":
        return f"{col} <= ?", [v.value]
    low, high = approx_window(v.value)
    return f"({col} >= ? AND {col} <= ?)", [low, high]


def token_condition(value: TokenValue, system_col: str, code_col: str) -> SQL:
    parts: list[str] = []
    args: list[Any] = []
    if value.code is not None:
        parts.append(f"{code_col} = ?")
        args.append(value.code)
    if value.system == "":
        parts.append(f"{system_col} IS NULL")
    elif value.system is not None:
        parts.append(f"{system_col} = ?")
        args.append(value.system)
    return "(" + (" AND ".join(parts) or "1") + ")", args


def near_condition(value: NearValue) -> SQL:
    """``near`` (``search/types/near.py``): the bounding box, which seeks the (pid, lat, lng)
    index (longitudes in two ranges across the antimeridian, all of them around a pole),
    then the exact great-circle test as the squared chord between unit vectors, computed
    in the order ``near.chord2`` uses so that SQLite and the matcher agree to the bit."""
    lat_min, lat_max, ranges = bounding_box(value)
    lng_sql = " OR ".join("(x.lng >= ? AND x.lng <= ?)" for _ in ranges)
    chord = "((x.x - ?) * (x.x - ?) + (x.y - ?) * (x.y - ?) + (x.z - ?) * (x.z - ?))"
    args: list[Any] = [lat_min, lat_max, *(b for r in ranges for b in r)]
    args += [value.x, value.x, value.y, value.y, value.z, value.z, value.limit]
    return f"(x.lat >= ? AND x.lat <= ? AND ({lng_sql}) AND {chord} <= ?)", args


def value_condition(value: Value, modifier: str | None) -> SQL:
    if isinstance(value, StringValue):
        if modifier == "exact":
            return "x.exact = ?", [value.raw]
        if modifier == "contains":
            return "instr(x.norm, ?) > 0", [value.norm]
        return "(x.norm >= ? AND x.norm < ?)", [value.norm, value.norm + TOP]
    if isinstance(value, TokenValue):
        if modifier == "text":
            text = value.text or ""
            return "(x.text >= ? AND x.text < ?)", [text, text + TOP]
        return token_condition(value, "x.system", "x.code")
    if isinstance(value, CompositeValue):  # ix_composite: a token, then a value of its kind
        first, second = value.components
        if not isinstance(first, TokenValue):
            raise TypeError(f"composite values start with a token, not {first!r}")
        head_sql, head_args = token_condition(first, "x.t_system", "x.t_code")
        tail_sql, tail_args = value_condition(second, None)
        return f"({head_sql} AND {tail_sql})", [*head_args, *tail_args]
    if isinstance(value, DateValue):
        return date_condition(value.prefix, value.lo, value.hi, "x.lo", "x.hi")
    if isinstance(value, QuantityValue) and value.cunit is not None:  # UCUM, canonical
        sql, args = number_condition(canonical_value(value), "x.cvalue")
        written_sql, written_args = value_condition(replace(value, cunit=None), modifier)
        return (
            f"((x.cunit = ? AND {sql}) OR (x.cunit IS NULL AND {written_sql}))",
            [value.cunit, *args, *written_args],
        )
    if isinstance(value, QuantityValue):
        sql, args = number_condition(value, "x.value")
        if value.system is not None:
            sql += " AND x.system = ?"
            args.append(value.system)
        if value.code is not None:
            if value.system is None:
                sql += " AND (x.code = ? OR x.unit = ?)"
                args.extend([value.code, value.code])
            else:
                sql += " AND x.code = ?"
                args.append(value.code)
        return f"({sql})", args
    if isinstance(value, NumberValue):
        return number_condition(value, "x.value")
    if isinstance(value, ReferenceValue):
        parts: list[str] = []
        args = []
        if value.target is not None:
            parts.append("x.target = ?")
            args.append(value.target)
        else:
            if value.id is not None:
                parts.append("x.rid_part = ?")
                args.append(value.id)
            if value.type is not None:
                parts.append("x.rtype = ?")
                args.append(value.type)
        if value.version is not None:
            parts.append("x.version = ?")
            args.append(value.version)
        return "(" + (" AND ".join(parts) or "1") + ")", args
    if isinstance(value, NearValue):
        return near_condition(value)
    if isinstance(value, UriValue):
        if modifier == "below":
            return "(x.value >= ? AND x.value < ?)", [value.value, value.value + TOP]
        if modifier == "above":
            return "(substr(?, 1, length(x.value)) = x.value)", [value.value]
        return "x.value = ?", [value.value]
    raise TypeError(f"unsupported search value {value!r}")


def mergeable(c: Criterion) -> bool:
    """A positive clause on the parameter's own entries (what ``SameEntry`` can combine)."""
    return (
        isinstance(c, Clause)
        and c.modifier is None
        and c.chain is None
        and c.param.type in TABLE
        and bool(c.values)
        and not isinstance(c.values[0], MissingValue)
    )


class Compiler:
    def __init__(self, pid_of: PidOf, shape_of: ShapeOf | None = None) -> None:
        self.pid_of = pid_of
        self.shape_of = shape_of

    def pids(self, types: tuple[str, ...], code: str) -> list[int]:
        return self.pid_of(types, code)

    def shapes(self, pids: list[int]) -> list[Shape]:
        if self.shape_of is None:
            return [UNKNOWN_SHAPE for _ in pids]
        return [UNKNOWN_SHAPE if p == UNKNOWN else self.shape_of(p) for p in pids]

    def single_valued(self, types: tuple[str, ...], code: str) -> bool:
        pids = self.pids(types, code)
        return bool(pids) and not any(s.multi for s in self.shapes(pids))

    def span(self, pids: list[int]) -> int | None:
        """The widest date entry of these parameters (None when unknown)."""
        spans = [s.span for s in self.shapes(pids)]
        if not spans or any(v is None for v in spans):
            return None
        return max(v for v in spans if v is not None)

    def units(self, criteria: tuple[Criterion, ...], types: tuple[str, ...]) -> list[Unit]:
        """The criteria, with those on the same single-valued parameter merged (``SameEntry``)."""
        groups: dict[tuple[str, str], list[Clause]] = {}
        for c in criteria:
            if isinstance(c, Clause) and mergeable(c):
                groups.setdefault((c.param.code, c.param.type), []).append(c)
        merged = {
            key: SameEntry(tuple(cs))
            for key, cs in groups.items()
            if len(cs) > 1 and self.single_valued(types, key[0])
        }
        out: list[Unit] = []
        for c in criteria:
            if isinstance(c, Clause) and (key := (c.param.code, c.param.type)) in merged:
                if c is merged[key].clauses[0]:
                    out.append(merged[key])
                continue
            out.append(c)
        return out

    def criterion(self, c: Unit, alias: str, types: tuple[str, ...], drive: bool = True) -> SQL:
        if isinstance(c, SameEntry):
            return self.same_entry(c, alias, types, drive)
        if isinstance(c, IdClause):
            op = "NOT IN" if c.negate else "IN"
            return f"{alias}.id {op} ({_marks(len(c.ids))})", list(c.ids)
        if isinstance(c, LastUpdatedClause):
            ors, args = [], []
            for v in c.values:
                sql, a = instant_condition(v.prefix, v.lo, v.hi, f"{alias}.lu")
                ors.append(sql)
                args.extend(a)
            return "(" + " OR ".join(ors) + ")", args
        if isinstance(c, HasClause):
            return self.has(c, alias, types, drive)
        if isinstance(c, CompartmentClause):
            return self.compartment(c, alias)
        return self.clause(c, alias, types, drive)

    def has(self, c: HasClause, alias: str, types: tuple[str, ...], drive: bool = True) -> SQL:
        """``_has:Source:param:inner``. Driving: the candidates' rids from the sources that
        match (``rid IN``); otherwise, per candidate, the sources referencing it through the
        (pid, target) index, each checked against the inner criterion (nothing materialised)."""
        if len(types) != 1:
            raise TypeError("_has needs exactly one candidate resource type")
        src = alias + "h"
        pids = self.pids((c.source_type,), c.reference_param)
        marks = _marks(len(pids))
        if not drive:
            inner_sql, inner_args = self.criterion(c.clause, src, (c.source_type,), drive=False)
            sql = (
                f"EXISTS (SELECT 1 FROM ix_reference x JOIN resources {src} ON {src}.rid = x.rid "
                f"WHERE x.pid IN ({marks}) AND x.target = ? || {alias}.id "
                f"AND {src}.type = ? AND {src}.deleted = 0 AND {inner_sql})"
            )
            return sql, [*pids, f"{types[0]}/", c.source_type, *inner_args]
        inner_sql, inner_args = self.criterion(c.clause, src, (c.source_type,))
        src_type = f"+{src}.type" if drives_by_rid((c.clause,)) else f"{src}.type"
        cand = alias + "t"
        sql = (
            f"{alias}.rid IN (SELECT {cand}.rid FROM resources {cand} WHERE {cand}.type = ? AND {cand}.id IN "
            f"(SELECT x.rid_part FROM ix_reference x WHERE x.pid IN ({marks}) "
            f"AND x.rtype = ? AND x.rid IN (SELECT {src}.rid FROM resources {src} "
            f"WHERE {src_type} = ? AND {src}.deleted = 0 AND {inner_sql})))"
        )
        return sql, [types[0], *pids, types[0], c.source_type, *inner_args]

    def compartment(self, c: CompartmentClause, alias: str) -> SQL:
        ctype, _, cid = c.target.partition("/")
        pids: list[int] = []
        ors: list[str] = []
        args: list[Any] = []
        for rtype, codes in c.params:
            for code in codes:
                if code == "{def}":
                    ors.append(f"({alias}.type = ? AND {alias}.id = ?)")
                    args.extend([rtype, cid])
                else:
                    pids.extend(self.pids((rtype,), code))
        if pids:
            ors.append(
                f"{alias}.rid IN (SELECT x.rid FROM ix_reference x WHERE x.pid IN ({_marks(len(pids))}) "
                "AND x.target = ? AND x.rtype = ?)"
            )
            args.extend([*pids, c.target, ctype])
        return ("(" + " OR ".join(ors) + ")" if ors else "0"), args

    def clause(self, c: Clause, alias: str, types: tuple[str, ...], drive: bool = True) -> SQL:
        kind = c.param.type
        code = c.param.code
        if c.modifier in ("identifier", "of-type"):
            kind, code = "token", f"{code}:{c.modifier}"
        table = TABLE.get(kind)
        if table is None:
            raise TypeError(f"parameter type {kind} is not searchable here")
        pids = self.pids(types, code)
        pid_sql = f"x.pid IN ({_marks(len(pids))})"
        if c.values and isinstance(c.values[0], MissingValue):
            wanted = {v.missing for v in c.values if isinstance(v, MissingValue)}
            if len(wanted) > 1:  # ":missing=true,false" (OR): every resource
                return "1", []
            exists = "NOT EXISTS" if True in wanted else "EXISTS"
            return (
                f"{exists} (SELECT 1 FROM {table} x INDEXED BY {table}_rid_pid "
                f"WHERE x.rid = {alias}.rid AND {pid_sql})",
                list(pids),
            )
        if c.chain is not None:
            inner_alias = alias + "c"
            inner_sql, inner_args = self.criterion(c.chain.clause, inner_alias, (c.chain.target_type,))
            indexed = not drives_by_rid((c.chain.clause,))
            inner_type = f"{inner_alias}.type" if indexed else f"+{inner_alias}.type"
            sql = (
                f"{alias}.rid IN (SELECT x.rid FROM ix_reference x WHERE {pid_sql} AND x.rtype = ? "
                f"AND x.rid_part IN (SELECT {inner_alias}.id FROM resources {inner_alias} "
                f"WHERE {inner_type} = ? AND {inner_alias}.deleted = 0 AND {inner_sql}))"
            )
            return sql, [*pids, c.chain.target_type, c.chain.target_type, *inner_args]
        cond, cond_args = self.entry_condition(c, pids)
        args: list[Any] = [*pids, *cond_args]
        if c.modifier != "not" and not drive:
            # checked per candidate through the (rid, pid) index, not materialised
            return (
                f"EXISTS (SELECT 1 FROM {table} x INDEXED BY {table}_rid_pid WHERE x.rid = {alias}.rid "
                f"AND {pid_sql} AND {cond})",
                args,
            )
        op = "NOT IN" if c.modifier == "not" else "IN"
        return f"{alias}.rid {op} (SELECT x.rid FROM {table} x WHERE {pid_sql} AND {cond})", args

    def entry_condition(self, c: Clause, pids: list[int]) -> SQL:
        """What one index entry ``x`` of ``c``'s parameter must satisfy (values ORed).
        Date conditions that bound ``x.hi`` from below also bound ``x.lo`` by the widest
        entry seen (``Shape.span``), so that with an upper bound they read one index range."""
        modifier = None if c.modifier in ("not", "identifier", "of-type") else c.modifier
        span = self.span(pids) if c.param.type == "date" else None
        ors: list[str] = []
        args: list[Any] = []
        values: list[Value] = list(c.values)
        if c.param.type == "token" and modifier is None:  # large system|code sets (token_sets.py)
            groups, values = group_codes(values)
            for system, codes in groups.items():
                ors.append("(x.system = ? AND x.code IN (SELECT value FROM json_each(?)))")
                args.extend([system, json.dumps(codes)])
        for v in values:
            sql, a = value_condition(v, modifier)
            if span is not None and isinstance(v, DateValue) and v.prefix in ("ge", "gt"):
                sql = f"(x.lo >= ? AND {sql})"
                a = [(v.lo if v.prefix == "ge" else v.hi) - span, *a]
            ors.append(sql)
            args.extend(a)
        if not ors:  # an empty set (e.g. an empty ValueSet): no entry matches
            ors.append("0")
        return "(" + " OR ".join(ors) + ")", args

    def entries_where(self, clauses: tuple[Clause, ...], types: tuple[str, ...]) -> tuple[str, SQL]:
        """(index table, condition on its entry ``x``) for clauses on one parameter, all
        applied to the same entry (one clause, or a ``SameEntry``)."""
        pids = self.pids(types, clauses[0].param.code)
        conds: list[str] = []
        args: list[Any] = list(pids)
        for clause in clauses:
            sql, a = self.entry_condition(clause, pids)
            conds.append(sql)
            args.extend(a)
        where = f"x.pid IN ({_marks(len(pids))}) AND " + " AND ".join(conds)
        return TABLE[clauses[0].param.type], (where, args)

    def same_entry(self, c: SameEntry, alias: str, types: tuple[str, ...], drive: bool) -> SQL:
        table, (where, args) = self.entries_where(c.clauses, types)
        if not drive:
            return (
                f"EXISTS (SELECT 1 FROM {table} x INDEXED BY {table}_rid_pid WHERE x.rid = {alias}.rid "
                f"AND {where})",
                args,
            )
        return f"{alias}.rid IN (SELECT x.rid FROM {table} x WHERE {where})", args

    def sort_expr(self, key: SortKey, types: tuple[str, ...]) -> tuple[str, list[Any], Any]:
        """(expression, args, sentinel for missing values so that they sort last)."""
        if key.type == "_id":
            return "r.id", [], None
        if key.type == "_lastUpdated":
            return "r.lu", [], None
        column, low, high = {
            "string": ("norm", "", TOP * 2),
            "token": ("code", "", TOP * 2),
            "uri": ("value", "", TOP * 2),
            "reference": ("target", "", TOP * 2),
            "number": ("value", -1e308, 1e308),
            "quantity": ("value", -1e308, 1e308),
            "date": ("lo", MIN_INSTANT - 1, MAX_INSTANT + 1),
        }[key.type]
        if key.type == "date" and key.descending:
            column = "hi"
        agg = "MAX" if key.descending else "MIN"
        table = TABLE[key.type]
        pids = self.pids(types, key.param)
        sentinel = low if key.descending else high
        expr = (
            f"COALESCE((SELECT {agg}(s.{column}) FROM {table} s INDEXED BY {table}_rid_pid "
            f"WHERE s.rid = r.rid "
            f"AND s.pid IN ({_marks(len(pids))})), ?)"
        )
        return expr, [*pids, sentinel], sentinel


def _where(query: SearchQuery, compiler: Compiler) -> SQL:
    types = query.resource_types
    units = compiler.units(query.criteria, types)
    tsql, targs = _type_filter("r", types, indexed=not drives_by_rid(tuple(units)))
    parts = [tsql, "r.deleted = 0"]
    args = list(targs)
    driver = driving_index(tuple(units))
    for i, c in enumerate(units):
        sql, a = compiler.criterion(c, "r", types, drive=i == driver)
        parts.append(sql)
        args.extend(a)
    return " AND ".join(parts), args


def _rank(c: Unit) -> int:
    """How selective an index lookup for ``c`` is likely to be (lower drives the query)."""
    if isinstance(c, SameEntry):
        prefixes = {v.prefix for cl in c.clauses for v in cl.values if isinstance(v, DateValue)}
        if prefixes & {"ge", "gt", "sa"} and prefixes & {"le", "lt", "eb"}:
            return 3  # a bounded range
        return min(_rank(cl) for cl in c.clauses)
    if isinstance(c, CompartmentClause):  # references to one resource, unless {def} is ORed in
        return 99 if any("{def}" in codes for _, codes in c.params) else 1
    if isinstance(c, HasClause):  # drives only when nothing better does
        return 5
    if not isinstance(c, Clause) or c.modifier == "not":
        return 99
    if c.values and isinstance(c.values[0], MissingValue):
        return 99
    if c.chain is not None:
        return 2
    first = c.values[0] if c.values else None
    if isinstance(first, ReferenceValue | CompositeValue):
        return 1
    if isinstance(first, TokenValue):
        if c.modifier == "text":
            return 4
        return 1 if first.code is not None and first.system else 2 if first.code is not None else 5
    if isinstance(first, StringValue):
        return {"exact": 2, "contains": 6}.get(c.modifier or "", 3)
    if isinstance(first, UriValue):
        return {"above": 6, "below": 3}.get(c.modifier or "", 2)
    if isinstance(first, DateValue):
        return 3 if first.prefix == "eq" else 4
    if isinstance(first, NearValue):  # a latitude band
        return 3
    return 4


def driving_index(criteria: tuple[Unit, ...]) -> int:
    """The criterion SQLite should drive from; -1 when none is a positive index lookup."""
    best, best_rank = -1, 99
    for i, c in enumerate(criteria):
        rank = _rank(c)
        if rank < best_rank:
            best, best_rank = i, rank
    return best


def compile_search(
    query: SearchQuery,
    pid_of: PidOf,
    *,
    limit: int,
    keys_only: bool = False,
    shape_of: ShapeOf | None = None,
) -> SQL:
    compiler = Compiler(pid_of, shape_of)
    where, args = _where(query, compiler)
    select = "r.type, r.id" if keys_only else "r.type, r.id, r.version, r.lu, r.lu_text, r.deleted, r.body"
    sort_cols: list[str] = []
    sort_args: list[Any] = []
    directions: list[bool] = []
    for i, key in enumerate(query.sort):
        expr, a, _ = compiler.sort_expr(key, query.resource_types)
        sort_cols.append(f"{expr} AS s{i}")
        sort_args.extend(a)
        directions.append(key.descending)
    names = [f"s{i}" for i in range(len(sort_cols))] + ["rid"]
    directions.append(False)
    inner_cols = ", ".join([select, *sort_cols, "r.rid AS rid"])
    sql = f"SELECT {inner_cols} FROM resources r WHERE {where}"
    all_args = [*sort_args, *args]
    outer_where = ""
    if query.cursor:
        values = decode(query.cursor, len(names))
        ors = []
        for i, name in enumerate(names):
            eqs = [f"{names[j]} = ?" for j in range(i)]
            cmp = "<" if directions[i] else ">"
            ors.append("(" + " AND ".join([*eqs, f"{name} {cmp} ?"]) + ")")
            all_args.extend([*values[:i], values[i]])
        outer_where = "WHERE " + " OR ".join(ors)
    order = ", ".join(f"{n} {'DESC' if d else 'ASC'}" for n, d in zip(names, directions, strict=True))
    out_cols = "*"
    sql = f"SELECT {out_cols} FROM ({sql}) {outer_where} ORDER BY {order} LIMIT ?"
    all_args.append(limit)
    return sql, all_args


def count_sql(
    query: SearchQuery, pid_of: PidOf, bound: int | None = None, shape_of: ShapeOf | None = None
) -> SQL:
    """The number of matches; with ``bound``, counting stops after ``bound`` + 1 rows
    (``_total=estimate``: a cheap count whose cost is capped by the bound). When the only
    criterion is on one single-valued parameter of one type, the index entries are the
    matches: they are counted on the index alone (a deleted resource has no entries)."""
    compiler = Compiler(pid_of, shape_of)
    types = query.resource_types
    units = compiler.units(query.criteria, types)
    if len(types) == 1 and len(units) == 1 and (bound is None):
        only = units[0]
        clauses: tuple[Clause, ...] = ()
        if isinstance(only, SameEntry):
            clauses = only.clauses
        elif isinstance(only, Clause) and mergeable(only):
            clauses = (only,)
        if clauses and compiler.single_valued(types, clauses[0].param.code):
            table, (where, args) = compiler.entries_where(clauses, types)
            return f"SELECT COUNT(*) FROM {table} x WHERE {where}", args
    where, args = _where(query, compiler)
    if bound is None:
        return f"SELECT COUNT(*) FROM resources r WHERE {where}", args
    return f"SELECT COUNT(*) FROM (SELECT 1 FROM resources r WHERE {where} LIMIT ?)", [*args, bound + 1]
