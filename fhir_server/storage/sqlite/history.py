"""History on SQLite (http.html#history): instance, type and system, newest first.

Keyset paging on (lastUpdated, vid) descending; ``_since`` keeps versions written at or
after the instant; ``_at`` keeps, per resource, the version current at that instant.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from ..cursor import decode, encode
from ..protocol import HistoryRequest, Page
from .rows import stored_row


def history_page(c: sqlite3.Connection, request: HistoryRequest) -> Page:
    where: list[str] = []
    args: list[Any] = []
    if request.resource_type:
        where.append("v.type = ?")
        args.append(request.resource_type)
    if request.id is not None:
        where.append("v.id = ?")
        args.append(request.id)
    if request.since_us is not None:
        where.append("v.lu >= ?")
        args.append(request.since_us)
    if request.at_us is not None:
        where.append(
            "v.lu <= ? AND NOT EXISTS (SELECT 1 FROM versions w WHERE w.type = v.type "
            "AND w.id = v.id AND w.version > v.version AND w.lu <= ?)"
        )
        args.extend([request.at_us, request.at_us])
    base_where = list(where)
    base_args = list(args)
    if request.cursor:
        lu, vid = decode(request.cursor, 2)
        where.append("(v.lu < ? OR (v.lu = ? AND v.vid < ?))")
        args.extend([lu, lu, vid])
    clause = ("WHERE " + " AND ".join(where)) if where else ""
    rows = c.execute(
        f"SELECT v.type, v.id, v.version, v.lu, v.lu_text, v.deleted, v.body, v.method, v.vid "
        f"FROM versions v {clause} ORDER BY v.lu DESC, v.vid DESC LIMIT ?",
        [*args, request.count + 1],
    ).fetchall()
    next_cursor = None
    if len(rows) > request.count:
        rows = rows[: request.count]
        next_cursor = encode([rows[-1][3], rows[-1][8]])
    total_clause = ("WHERE " + " AND ".join(base_where)) if base_where else ""
    total = c.execute(f"SELECT COUNT(*) FROM versions v {total_clause}", base_args).fetchone()[0]
    return Page([stored_row(r, r[7]) for r in rows], next_cursor, total)
