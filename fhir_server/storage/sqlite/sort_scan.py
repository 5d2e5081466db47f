"""A sorted page read in the order of the sort parameter's index ("sort scan").

The general plan (``search_sql.compile_search``) computes each match's sort key and
sorts all the matches to serve one page: its cost grows with the number of matches,
on the first page as on the thousandth. When the matches are many, reading the sort
parameter's index in order and checking the other criteria per entry serves a page
after about ``page size ÷ selectivity`` entries, however large the data.

One sort key on a parameter of one resource type (``_sort=-created``, or the implicit
order of ``parser.implicit_sort``). Each resource is met once, at its key: for a
single-valued parameter (``params.Shape``) every entry is a resource's only one; else
an entry counts only when no other entry of the resource sorts before it (the minimum
ascending, the maximum descending, as the general plan's ``MIN``/``MAX``). Criteria on
the sort parameter itself apply to the entry when it is single-valued. Resources without
a value come last, in ``rid`` order (phase 2), with the general plan's sentinel as their
key, so cursors mean the same in both plans and a query may change plan between pages.

``choose`` picks the plan: the sort scan unless another criterion is selective, which a
bounded count on its index (``PROBE_BOUND``) tells cheaply.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from ...search.ir import Clause, IdClause, LastUpdatedClause, SearchQuery
from ..cursor import decode
from .params import UNKNOWN
from .search_sql import (
    SQL,
    TABLE,
    Compiler,
    SameEntry,
    Unit,
    _rank,
    _type_filter,
    _where,
    driving_index,
    instant_condition,
    mergeable,
)

PROBE_BOUND = 1000
# sort column and the index that yields entries in its order, per direction
_COLUMNS: dict[str, tuple[tuple[str, str], tuple[str, str]]] = {
    "date": (("lo", "ix_date_lo"), ("hi", "ix_date_hi")),
    "string": (("norm", "ix_string_norm"), ("norm", "ix_string_norm")),
    "token": (("code", "ix_token_code"), ("code", "ix_token_code")),
    "number": (("value", "ix_number_value"), ("value", "ix_number_value")),
    "quantity": (("value", "ix_quantity_value"), ("value", "ix_quantity_value")),
    "reference": (("target", "ix_reference_target"), ("target", "ix_reference_target")),
    "uri": (("value", "ix_uri_value"), ("value", "ix_uri_value")),
}
_COLUMNS_OUT = "r.type, r.id, r.version, r.lu, r.lu_text, r.deleted, r.body"


@dataclass(frozen=True)
class SortScan:
    pid: int
    table: str
    column: str
    index: str
    descending: bool
    single: bool  # the parameter is single-valued
    on_entry: tuple[Clause, ...]  # criteria applied to the sort entry itself
    others: tuple[Unit, ...]  # criteria checked per candidate
    sentinel: Any  # the key of resources without a value (general plan's)
    has_missing: bool  # resources without a value can match (phase 2 is needed)


def plan(query: SearchQuery, compiler: Compiler) -> SortScan | None:
    """The sort scan for ``query``, or None when it does not apply."""
    if len(query.sort) != 1 or len(query.resource_types) != 1:
        return None
    key = query.sort[0]
    cols = _COLUMNS.get(key.type)
    if cols is None:
        return None
    types = query.resource_types
    pids = compiler.pids(types, key.param)
    if len(pids) != 1 or pids[0] == UNKNOWN:
        return None
    column, index = cols[1] if key.descending else cols[0]
    single = compiler.single_valued(types, key.param)
    units = compiler.units(query.criteria, types)
    on_entry: list[Clause] = []
    others: list[Unit] = []
    positive_on_key = False
    for u in units:
        clauses = u.clauses if isinstance(u, SameEntry) else (u,) if isinstance(u, Clause) else ()
        own = bool(clauses) and all(mergeable(c) and c.param.code == key.param for c in clauses)
        if own:
            positive_on_key = True
            if single:
                on_entry.extend(clauses)
                continue
        others.append(u)
    _, _, sentinel = compiler.sort_expr(key, types)
    return SortScan(
        pid=pids[0],
        table=TABLE[key.type],
        column=column,
        index=index,
        descending=key.descending,
        single=single,
        on_entry=tuple(on_entry),
        others=tuple(others),
        sentinel=sentinel,
        has_missing=not positive_on_key,
    )


def probe_sql(unit: Unit, compiler: Compiler, types: tuple[str, ...]) -> SQL | None:
    """A count of ``unit``'s index entries, stopped at ``PROBE_BOUND``; None when ``unit`` is
    not a lookup on its own parameter's index (a chain, ``_has``, a compartment, ids): those
    are taken as selective."""
    clauses: tuple[Clause, ...] = ()
    if isinstance(unit, SameEntry):
        clauses = unit.clauses
    elif isinstance(unit, Clause) and mergeable(unit):
        clauses = (unit,)
    if not clauses:
        return None
    table, (where, args) = compiler.entries_where(clauses, types)
    return f"SELECT COUNT(*) FROM (SELECT 1 FROM {table} x WHERE {where} LIMIT ?)", [*args, PROBE_BOUND]


def choose(conn: sqlite3.Connection, query: SearchQuery, compiler: Compiler) -> SortScan | None:
    """The sort scan when it beats the general plan: no other criterion is selective."""
    scan = plan(query, compiler)
    if scan is None or any(isinstance(u, IdClause) for u in scan.others):
        return None
    for u in scan.others:
        if isinstance(u, LastUpdatedClause):
            ors, args = [], []
            for v in u.values:
                sql, a = instant_condition(v.prefix, v.lo, v.hi, "r.lu")
                ors.append(sql)
                args.extend(a)
            probe = (
                f"SELECT COUNT(*) FROM (SELECT 1 FROM resources r WHERE r.type = ? AND ({' OR '.join(ors)}) "
                "LIMIT ?)"
            )
            if (
                int(conn.execute(probe, [query.resource_types[0], *args, PROBE_BOUND]).fetchone()[0])
                < PROBE_BOUND
            ):
                return None
    driver = driving_index(scan.others)
    if driver < 0 or _rank(scan.others[driver]) >= 99:
        return scan
    count = probe_sql(scan.others[driver], compiler, query.resource_types)
    if count is None:
        return None
    found = int(conn.execute(*count).fetchone()[0])
    return scan if found >= PROBE_BOUND else None


def _on_rid(u: Unit) -> bool:
    """Whether ``u`` is compiled on ``<alias>.rid`` alone (index lookups, chains)."""
    return isinstance(u, SameEntry | Clause)


def _others(scan: SortScan, compiler: Compiler, types: tuple[str, ...]) -> tuple[SQL, SQL]:
    """The other criteria: (those on the entry's rid ``k.rid``, checked before the resource
    row is read; those that need the resource row ``r``: ids, ``_lastUpdated``, ``_has``,
    compartments)."""
    on_k: tuple[list[str], list[Any]] = (["1"], [])
    on_r: tuple[list[str], list[Any]] = (["1"], [])
    for u in scan.others:
        parts, args = on_k if _on_rid(u) else on_r
        sql, a = compiler.criterion(u, "k" if _on_rid(u) else "r", types, drive=False)
        parts.append(sql)
        args.extend(a)
    return (" AND ".join(on_k[0]), on_k[1]), (" AND ".join(on_r[0]), on_r[1])


def page_sql(scan: SortScan, query: SearchQuery, compiler: Compiler, limit: int) -> list[SQL]:
    """The statements that serve one page, run in order until ``limit`` rows are read:
    the entries in key order, then the resources without a value."""
    types = query.resource_types
    after: list[Any] | None = decode(query.cursor, 2) if query.cursor else None
    out: list[SQL] = []
    in_missing = after is not None and after[0] == scan.sentinel
    if not in_missing:
        out.append(_entries_sql(scan, compiler, types, limit, after))
    if scan.has_missing:
        out.append(_missing_sql(scan, query, compiler, limit, after if in_missing else None))
    return out


def _entries_sql(
    scan: SortScan, compiler: Compiler, types: tuple[str, ...], limit: int, after: list[Any] | None
) -> SQL:
    col = f"x.{scan.column}"
    args: list[Any] = [scan.pid]
    conds = [f"{col} IS NOT NULL"]
    for c in scan.on_entry:
        sql, a = compiler.entry_condition(c, [scan.pid])
        conds.append(sql)
        args.extend(a)
    if not scan.single:  # the resource's first entry in the order only
        cmp = ">" if scan.descending else "<"
        conds.append(
            f"NOT EXISTS (SELECT 1 FROM {scan.table} y INDEXED BY {scan.table}_rid_pid "
            f"WHERE y.rid = x.rid AND y.pid = x.pid AND (y.{scan.column} {cmp} {col} "
            f"OR (y.{scan.column} = {col} AND y.rowid < x.rowid)))"
        )
    if after is not None:
        cmp = "<" if scan.descending else ">"
        conds.append(f"({col} {cmp} ? OR ({col} = ? AND x.rid > ?))")
        args.extend([after[0], after[0], after[1]])
    (on_k, kargs), (on_r, rargs) = _others(scan, compiler, types)
    tsql, targs = _type_filter("r", types)
    direction = "DESC" if scan.descending else "ASC"
    # the entries (k) in key order, each checked against the criteria on its rid before the
    # resource row (r, with its body) is read; SQLite flattens k into the outer query
    sql = (
        f"SELECT {_COLUMNS_OUT}, k.s0 AS s0, k.rid AS rid FROM "
        f"(SELECT x.rid AS rid, {col} AS s0 FROM {scan.table} x INDEXED BY {scan.index} "
        f"WHERE x.pid = ? AND {' AND '.join(conds)}) k "
        f"CROSS JOIN resources r ON r.rid = k.rid "
        f"WHERE {on_k} AND {tsql} AND r.deleted = 0 AND {on_r} "
        f"ORDER BY k.s0 {direction}, k.rid ASC LIMIT ?"
    )
    return sql, [*args, *kargs, *targs, *rargs, limit]


def _missing_sql(
    scan: SortScan, query: SearchQuery, compiler: Compiler, limit: int, after: list[Any] | None
) -> SQL:
    where, args = _where(query, compiler)
    sql = (
        f"SELECT {_COLUMNS_OUT}, ? AS s0, r.rid AS rid FROM resources r WHERE {where} "
        f"AND NOT EXISTS (SELECT 1 FROM {scan.table} y INDEXED BY {scan.table}_rid_pid "
        f"WHERE y.rid = r.rid AND y.pid = ? AND y.{scan.column} IS NOT NULL)"
    )
    out_args: list[Any] = [scan.sentinel, *args, scan.pid]
    if after is not None:
        sql += " AND r.rid > ?"
        out_args.append(after[1])
    return f"{sql} ORDER BY r.rid LIMIT ?", [*out_args, limit]
