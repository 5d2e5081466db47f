"""``$reindex`` on SQLite: rewrite the index rows of current versions, and server state.

A batch reads up to ``limit`` current resources after the cursor (``(type, id) >
(?, ?)``, the ``UNIQUE (type, id)`` index) on a reader, extracts their entries off
the event loop, then, in ONE transaction on the writer thread (under the store's
write lock, so it is serialised with group commits and locked units), re-checks each
resource's version and replaces the rows of those whose entries differ. A resource
written in between has another version: it is skipped, its new rows stay. Nothing
else is touched (no version, no ``lu``, no row in ``versions``).

Server state (reindex jobs, pending reindexes) lives in ``meta_info`` beside
``schema_version``, under keys with a prefix.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ... import fhirjson
from ...search.contained import contained_of
from ...search.index import IndexEntries
from ..protocol import Extract, ReindexBatch, Reindexed
from .contained import delete_contained, insert_contained
from .rows import INSERT, index_rows
from .schema import INDEX_TABLES

if TYPE_CHECKING:
    from .store import SQLiteStore

# the columns of each index table, in the order index_rows() yields them
_COLUMNS = {t: re.search(r"\(([^)]*)\)", INSERT[t]).group(1) for t in INDEX_TABLES}  # type: ignore[union-attr]

Row = tuple[Any, ...]


def _select_batch(
    c: sqlite3.Connection, types: Sequence[str], after: tuple[str, str] | None, limit: int, id: str | None
) -> list[Row]:
    marks = ",".join("?" for _ in types)
    sql = f"SELECT rid, type, id, version, body FROM resources WHERE deleted = 0 AND type IN ({marks})"
    args: list[Any] = list(types)
    if id is not None:
        sql += " AND id = ?"
        args.append(id)
    if after is not None:
        sql += " AND (type, id) > (?, ?)"
        args.extend(after)
    sql += " ORDER BY type, id LIMIT ?"
    args.append(limit)
    return c.execute(sql, args).fetchall()


def _by_pid(rows: dict[str, list[Row]]) -> dict[int, list[tuple[str, Row]]]:
    """Rows (pid first, rid last) grouped by pid, each as (table, values without pid and rid)."""
    out: dict[int, list[tuple[str, Row]]] = {}
    for table, values in rows.items():
        for row in values:
            out.setdefault(int(row[0]), []).append((table, tuple(row[1:-1])))
    return {pid: sorted(v, key=repr) for pid, v in out.items()}


def _rewrite(
    store: SQLiteStore, c: sqlite3.Connection, rtype: str, rid: int, entries: IndexEntries
) -> tuple[str, ...]:
    """Replace the index rows of ``rid`` when they differ from ``entries``; the codes that changed."""
    new = index_rows(entries, rid, lambda code: store.params.get_or_create(c, rtype, code))
    old: dict[str, list[Row]] = {}
    for table in INDEX_TABLES:
        found = c.execute(f"SELECT {_COLUMNS[table]} FROM {table} WHERE rid = ?", (rid,)).fetchall()
        if found:
            old[table] = [tuple(r) for r in found]
    old_by, new_by = _by_pid(old), _by_pid(new)
    changed_pids = {p for p in old_by.keys() | new_by.keys() if old_by.get(p) != new_by.get(p)}
    if not changed_pids:
        return ()
    for table in INDEX_TABLES:
        c.execute(f"DELETE FROM {table} WHERE rid = ?", (rid,))
    for table, values in new.items():
        c.executemany(INSERT[table], values)
    store.params.observe_rows(c, new)
    # the contained resources' entries (contained.py) follow their container's
    delete_contained(c, rid)
    if contained_of(entries):
        lu = int(c.execute("SELECT lu FROM resources WHERE rid = ?", (rid,)).fetchone()[0])
        insert_contained(c, rid, lu, entries, lambda t, code: store.params.get_or_create(c, t, code))
    marks = ",".join("?" for _ in changed_pids)
    codes = c.execute(f"SELECT code FROM params WHERE pid IN ({marks})", sorted(changed_pids)).fetchall()
    return tuple(sorted(str(r[0]) for r in codes))


async def reindex_batch(
    store: SQLiteStore,
    types: Sequence[str],
    after: tuple[str, str] | None,
    limit: int,
    extract: Extract,
    id: str | None = None,
) -> ReindexBatch:
    types = sorted(set(types))
    rows = await store.conns.read(lambda c: _select_batch(c, types, after, limit, id))
    if not rows:
        return ReindexBatch(0, [], 0, after, True)

    def extract_all() -> list[tuple[int, str, str, int, IndexEntries]]:
        return [(r[0], r[1], r[2], r[3], extract(fhirjson.loads(bytes(r[4])))) for r in rows]

    extracted = await asyncio.to_thread(extract_all)

    def job(c: sqlite3.Connection) -> tuple[list[Reindexed], int]:
        changed: list[Reindexed] = []
        skipped = 0
        c.execute("BEGIN IMMEDIATE")
        try:
            for rid, rtype, rid_id, version, entries in extracted:
                now = c.execute("SELECT version, deleted FROM resources WHERE rid = ?", (rid,)).fetchone()
                if now is None or now[0] != version or now[1]:
                    skipped += 1  # written meanwhile: its own rows are the current ones
                    continue
                codes = _rewrite(store, c, rtype, rid, entries)
                if codes:
                    changed.append(Reindexed(rtype, rid_id, version, codes))
            c.execute("COMMIT")
        except BaseException:
            if c.in_transaction:
                c.execute("ROLLBACK")
            store.params.forget_uncommitted()
            raise
        store.params.commit()
        return changed, skipped

    async with store.write_lock:
        changed, skipped = await store.conns.write(job)
    last = (str(rows[-1][1]), str(rows[-1][2]))
    return ReindexBatch(len(rows), changed, skipped, last, len(rows) < limit or id is not None)


# ---------------------------------------------------------------- server state


async def read_state(store: SQLiteStore, key: str) -> str | None:
    def job(c: sqlite3.Connection) -> str | None:
        row = c.execute("SELECT value FROM meta_info WHERE key = ?", (key,)).fetchone()
        return str(row[0]) if row else None

    return await store.conns.read(job)


async def write_state(store: SQLiteStore, key: str, value: str | None) -> None:
    def job(c: sqlite3.Connection) -> None:
        if value is None:
            c.execute("DELETE FROM meta_info WHERE key = ?", (key,))
        else:
            c.execute("INSERT OR REPLACE INTO meta_info (key, value) VALUES (?, ?)", (key, value))

    async with store.write_lock:  # the writer connection may be inside a locked unit otherwise
        await store.conns.write(job)


async def list_state(store: SQLiteStore, prefix: str) -> dict[str, str]:
    def job(c: sqlite3.Connection) -> dict[str, str]:
        rows = c.execute(
            "SELECT key, value FROM meta_info WHERE substr(key, 1, ?) = ? ORDER BY key", (len(prefix), prefix)
        ).fetchall()
        return {str(k): str(v) for k, v in rows}

    return await store.conns.read(job)
