"""The reference index entries of given resources (``Store.references_of``, for ``_include``)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from ..protocol import StoredReference

CHUNK = 400  # (type, id) pairs per statement, well under SQLite's variable limit


def references_of(
    c: sqlite3.Connection, keys: Sequence[tuple[str, str]], params: Sequence[str] | None
) -> list[StoredReference]:
    codes = sorted(set(params)) if params is not None else []
    code_clause = f"AND p.code IN ({','.join('?' for _ in codes)})" if codes else ""
    out: list[StoredReference] = []
    for start in range(0, len(keys), CHUNK):
        chunk = keys[start : start + CHUNK]
        cond = " OR ".join("(r.type = ? AND r.id = ?)" for _ in chunk)
        args: list[Any] = [v for k in chunk for v in k]
        sql = (
            "SELECT r.type, r.id, p.code, x.target, x.rtype FROM resources r "
            "JOIN ix_reference x ON x.rid = r.rid JOIN params p ON p.pid = x.pid "
            f"WHERE r.deleted = 0 AND ({cond}) {code_clause}"
        )
        out.extend(StoredReference(*row) for row in c.execute(sql, [*args, *codes]))
    return out
