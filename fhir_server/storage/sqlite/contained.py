"""Contained resources on SQLite (``search/contained.py``): their index rows on write, and
the searches with ``_contained=true|both``.

Each contained resource is a row of ``contained`` (schema.py) whose key is negative; its
index rows go to the ordinary ``ix_*`` tables under that key and under the parameter ids of
``#<type>``. A search with ``_contained`` compiles its criteria with the ordinary compiler
(``search_sql.Compiler``) on the alias ``c`` of ``contained``, with those parameter ids;
ordinary searches are compiled as before and never touch these rows. Results come in key
order (containers by rid; contained resources by their negative key, before the ordinary
resources with ``both``), paged by that key.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

from ...search.contained import contained_of
from ...search.index import IndexEntries
from ...search.ir import SearchQuery
from ..cursor import decode, encode
from ..protocol import Page, StoredVersion
from .rows import INSERT, index_rows, stored_row
from .schema import INDEX_TABLES
from .search_sql import SQL, Compiler, PidOf, _where, driving_index

CONTAINED_PREFIX = "#"


def delete_contained(conn: sqlite3.Connection, container: int) -> None:
    if conn.execute("SELECT 1 FROM contained WHERE container = ? LIMIT 1", (container,)).fetchone() is None:
        return
    for table in INDEX_TABLES:
        conn.execute(
            f"DELETE FROM {table} WHERE rid IN (SELECT rid FROM contained WHERE container = ?)", (container,)
        )
    conn.execute("DELETE FROM contained WHERE container = ?", (container,))


def insert_contained(
    conn: sqlite3.Connection,
    container: int,
    lu: int,
    index: IndexEntries,
    pid: Callable[[str, str], int],
) -> None:
    for entry in contained_of(index):
        key = int(conn.execute("SELECT COALESCE(MIN(rid), 0) - 1 FROM contained").fetchone()[0])
        conn.execute(
            "INSERT INTO contained (rid, container, type, id, lu, body) VALUES (?, ?, ?, ?, ?, ?)",
            (key, container, entry.type, entry.id, lu, entry.body),
        )
        rtype = CONTAINED_PREFIX + entry.type
        rows = index_rows(entry.entry_map(), key, lambda code, t=rtype: pid(t, code))  # type: ignore[misc]
        for table, values in rows.items():
            conn.executemany(INSERT[table], values)


def _contained_pids(pid_of: PidOf) -> PidOf:
    return lambda types, code: pid_of(tuple(CONTAINED_PREFIX + t for t in types), code)


def _inner(query: SearchQuery, pid_of: PidOf) -> SQL:
    """The condition on ``contained c`` (the criteria on the contained resources)."""
    compiler = Compiler(_contained_pids(pid_of))
    types = query.resource_types
    parts, args = ["c.type = ?"], [types[0]]
    driver = driving_index(query.criteria)
    for i, crit in enumerate(query.criteria):
        sql, a = compiler.criterion(crit, "c", types, drive=i == driver)
        parts.append(sql)
        args.extend(a)
    return " AND ".join(parts), args


_COLUMNS = "r.type, r.id, r.version, r.lu, r.lu_text, r.deleted, r.body, r.rid AS k, NULL AS container"
_CONTAINED_COLUMNS = (
    "c.type, c.id, r.version, r.lu, r.lu_text, 0, c.body, c.rid AS k, r.type || '/' || r.id AS container"
)


def matches_sql(query: SearchQuery, pid_of: PidOf) -> SQL:
    """All the rows a search with ``_contained`` returns, unordered, keyed by ``k``."""
    inner, inner_args = _inner(query, pid_of)
    if query.contained_type == "contained":
        sql = (
            f"SELECT {_CONTAINED_COLUMNS} FROM contained c JOIN resources r ON r.rid = c.container "
            f"WHERE r.deleted = 0 AND {inner}"
        )
        args: list[Any] = list(inner_args)
        if query.contained == "both":
            where, where_args = _where(query, Compiler(pid_of))
            sql = f"{sql} UNION ALL SELECT {_COLUMNS} FROM resources r WHERE {where}"
            args.extend(where_args)
        return sql, args
    containers = f"r.rid IN (SELECT c.container FROM contained c WHERE {inner})"
    if query.contained == "both":
        where, where_args = _where(query, Compiler(pid_of))
        return (
            f"SELECT {_COLUMNS} FROM resources r WHERE ({where}) OR (r.deleted = 0 AND {containers})",
            [*where_args, *inner_args],
        )
    return f"SELECT {_COLUMNS} FROM resources r WHERE r.deleted = 0 AND {containers}", list(inner_args)


def page_sql(query: SearchQuery, pid_of: PidOf) -> SQL:
    sql, args = matches_sql(query, pid_of)
    after = ""
    if query.cursor:
        after = "WHERE k > ?"
        args = [*args, decode(query.cursor, 1)[0]]
    return f"SELECT * FROM ({sql}) {after} ORDER BY k LIMIT ?", [*args, query.count + 1]


def _stored(row: tuple[Any, ...]) -> StoredVersion:
    v = stored_row(row)
    if row[8] is None:
        return v
    return StoredVersion(
        v.resource_type, v.id, v.version, v.last_updated, v.last_updated_us, False, v.body, "PUT", row[8]
    )


def search(conn: sqlite3.Connection, query: SearchQuery, pid_of: PidOf, bound: int | None) -> Page:
    sql, args = page_sql(query, pid_of)
    rows = conn.execute(sql, args).fetchall()
    next_cursor = None
    if len(rows) > query.count:
        rows = rows[: query.count]
        next_cursor = encode([rows[-1][7]]) if rows else None
    total, capped = None, False
    if query.total != "none" or query.summary == "count":
        msql, margs = matches_sql(query, pid_of)
        if query.total == "estimate" and bound is not None:
            n = int(conn.execute(f"SELECT COUNT(*) FROM ({msql} LIMIT ?)", [*margs, bound + 1]).fetchone()[0])
            total, capped = min(n, bound), n > bound
        else:
            total = int(conn.execute(f"SELECT COUNT(*) FROM ({msql})", margs).fetchone()[0])
    return Page([_stored(r) for r in rows], next_cursor, total, capped)
