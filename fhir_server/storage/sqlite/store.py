"""SQLiteStore: the embedded default backend.

Durability: WAL with ``synchronous=FULL`` (configurable), so an acknowledged write is
on disk before the response leaves. Current version, the new history version and the
index rows are written in one SQLite transaction. Units of work buffer their writes;
concurrent units are committed together (group commit: one transaction and one fsync,
a savepoint per unit, so a unit that fails fails alone), and a unit that needs a
consistent view of the store takes the write lock and its own transaction.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

from ...search.ir import SearchQuery
from ..cursor import encode
from ..protocol import (
    ESTIMATE_BOUND,
    HistoryRequest,
    Page,
    StoredReference,
    StoredVersion,
    VersionConflict,
    WriteOp,
)
from . import sort_scan
from .connections import Connections
from .groupcommit import GroupCommitter
from .history import history_page
from .params import ParamIds
from .references import references_of
from .rows import COLUMNS, INSERT, index_rows
from .rows import stored_row as _row
from .schema import ADDED_COLUMNS, AFTER_COLUMNS, DDL, INDEX_TABLES, SCHEMA_VERSION
from .search_sql import Compiler, compile_search, count_sql

CONTENTION_SECONDS = 2.0
T = TypeVar("T")


def apply_write(conn: sqlite3.Connection, params: ParamIds, op: WriteOp) -> None:
    row = conn.execute(
        "SELECT rid, version FROM resources WHERE type = ? AND id = ?", (op.resource_type, op.id)
    ).fetchone()
    current = row[1] if row else 0
    if current != op.expected_version:
        raise VersionConflict(op.resource_type, op.id, op.expected_version, current)
    deleted = 1 if op.deleted else 0
    if row:
        rid = row[0]
        conn.execute(
            "UPDATE resources SET version = ?, lu = ?, lu_text = ?, deleted = ?, body = ? WHERE rid = ?",
            (op.version, op.last_updated_us, op.last_updated, deleted, op.body, rid),
        )
        for table in INDEX_TABLES:
            conn.execute(f"DELETE FROM {table} WHERE rid = ?", (rid,))
    else:
        cur = conn.execute(
            f"INSERT INTO resources ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (op.resource_type, op.id, op.version, op.last_updated_us, op.last_updated, deleted, op.body),
        )
        rid = cur.lastrowid or 0
    conn.execute(
        f"INSERT INTO versions ({COLUMNS}, method) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            op.resource_type,
            op.id,
            op.version,
            op.last_updated_us,
            op.last_updated,
            deleted,
            op.body,
            op.method,
        ),
    )
    if not op.deleted and op.index:
        rows = index_rows(op.index, rid, lambda code: params.get_or_create(conn, op.resource_type, code))
        for table, values in rows.items():
            conn.executemany(INSERT[table], values)
        params.observe_rows(conn, rows)


def apply_all(conn: sqlite3.Connection, params: ParamIds, ops: list[WriteOp]) -> None:
    for op in ops:
        apply_write(conn, params, op)


class SQLiteTransaction:
    """A unit of work (see the module docstring and ``groupcommit.py``).

    Until the unit needs a consistent view (``search_keys``, or a read after its own
    writes) it holds no lock: reads go to the reader pool and writes are buffered, each
    naming the version it replaces, so the commit re-checks them (optimistic
    concurrency). Such units are committed together by the group committer. A unit that
    needs a consistent view takes the store's write lock and opens ``BEGIN IMMEDIATE``
    on the writer connection until it ends.
    """

    def __init__(self, store: SQLiteStore) -> None:
        self._store = store
        self._pending: list[WriteOp] = []
        self._begun = False

    async def _locked(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn`` inside this unit's SQLite transaction, in one trip to the writer thread:
        ``BEGIN IMMEDIATE`` the first time (after taking the write lock), then the buffered
        writes, then ``fn`` — so they see each other. The lock is released by commit/rollback."""
        store = self._store
        first = not self._begun
        if first:
            await store.write_lock.acquire()
            self._begun = True
        ops, self._pending = self._pending, []

        def job(c: sqlite3.Connection) -> T:
            if first:
                c.execute("BEGIN IMMEDIATE")
            apply_all(c, store.params, ops)
            return fn(c)

        return await store.conns.write(job)

    async def read(self, resource_type: str, id: str) -> StoredVersion | None:
        if not self._begun and not self._pending and not self._store.is_contended(resource_type, id):
            # optimistic: whatever is written after this read names the version it saw
            return await self._store.read(resource_type, id)
        return await self._locked(lambda c: self._store._read(c, resource_type, id))

    async def search_keys(self, query: SearchQuery, limit: int) -> list[tuple[str, str]]:
        def job(c: sqlite3.Connection) -> list[tuple[str, str]]:
            sql, args = compile_search(query, self._store.params.lookup(c), limit=limit, keys_only=True)
            return [(r[0], r[1]) for r in c.execute(sql, args)]

        return await self._locked(job)

    async def write(self, op: WriteOp) -> None:
        self._pending.append(op)

    async def commit(self) -> None:
        store = self._store
        ops, self._pending = self._pending, []
        if not self._begun:
            if ops:
                await store.group.commit(ops)
            return

        def job(c: sqlite3.Connection) -> None:
            try:
                for op in ops:
                    apply_write(c, store.params, op)
                c.execute("COMMIT")
            except BaseException:
                if c.in_transaction:
                    c.execute("ROLLBACK")
                store.params.forget_uncommitted()
                raise
            store.params.commit()

        try:
            await store.conns.write(job)
        finally:
            self._begun = False
            store.write_lock.release()

    async def rollback(self) -> None:
        self._pending = []
        if not self._begun:
            return
        store = self._store

        def job(c: sqlite3.Connection) -> None:
            if c.in_transaction:
                c.execute("ROLLBACK")
            store.params.forget_uncommitted()

        try:
            await store.conns.write(job)
        finally:
            self._begun = False
            store.write_lock.release()


class SQLiteStore:
    name = "sqlite"
    supports_transactions = True

    def __init__(self, path: str | Path, *, synchronous: str = "FULL", readers: int = 4) -> None:
        self.path = Path(path)
        self.conns = Connections(self.path, readers=readers, synchronous=synchronous)
        self.params = ParamIds()
        self.write_lock = asyncio.Lock()
        self.group = GroupCommitter(self.conns, self.write_lock, self._apply_group)
        # resources that just lost an optimistic race: their next readers take the write lock
        self._contended: dict[tuple[str, str], float] = {}

    def is_contended(self, resource_type: str, id: str) -> bool:
        since = self._contended.get((resource_type, id))
        if since is None:
            return False
        if time.monotonic() - since > CONTENTION_SECONDS:
            self._contended.pop((resource_type, id), None)
            return False
        return True

    def _apply_group(
        self, conn: sqlite3.Connection, units: list[list[WriteOp]]
    ) -> list[BaseException | None]:
        """One SQLite transaction for several units, each in its own savepoint."""
        results: list[BaseException | None] = []
        conn.execute("BEGIN IMMEDIATE")
        try:
            for ops in units:
                conn.execute("SAVEPOINT unit")
                try:
                    for op in ops:
                        apply_write(conn, self.params, op)
                except Exception as exc:  # this unit fails alone
                    if isinstance(exc, VersionConflict):
                        self._contended[(exc.resource_type, exc.id)] = time.monotonic()
                    conn.execute("ROLLBACK TO unit")
                    self.params.forget_uncommitted()
                    results.append(exc)
                else:
                    results.append(None)
                conn.execute("RELEASE unit")
            conn.execute("COMMIT")
        except BaseException as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            self.params.forget_uncommitted()
            return [exc] * len(units)
        self.params.commit()
        return results

    async def start(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.conns.open_writer()

        def init(c: sqlite3.Connection) -> None:
            c.executescript(DDL)
            added = set()
            for table, column, ctype in ADDED_COLUMNS:
                present = {row[1] for row in c.execute(f"PRAGMA table_info({table})")}
                if column not in present:  # a database from before the column (rows get NULL)
                    c.execute(f"ALTER TABLE {table} ADD COLUMN {column} {ctype}")
                    added.add((table, column))
            c.executescript(AFTER_COLUMNS)
            if ("params", "multi") in added:
                ParamIds.learn_all(c, INDEX_TABLES)
            c.execute(
                "INSERT OR IGNORE INTO meta_info (key, value) VALUES ('schema_version', ?)",
                (str(SCHEMA_VERSION),),
            )
            self.params.load(c)

        await self.conns.write(init)

    async def close(self) -> None:
        self.conns.close()

    async def ready(self) -> bool:
        try:
            await self.conns.read(lambda c: c.execute("SELECT 1").fetchone())
        except sqlite3.Error:
            return False
        return True

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[SQLiteTransaction]:
        tx = SQLiteTransaction(self)
        try:
            yield tx
        except BaseException:
            await tx.rollback()
            raise
        await tx.commit()

    @staticmethod
    def _read(c: sqlite3.Connection, resource_type: str, id: str) -> StoredVersion | None:
        row = c.execute(
            f"SELECT {COLUMNS} FROM resources WHERE type = ? AND id = ?", (resource_type, id)
        ).fetchone()
        return _row(row) if row else None

    async def read(self, resource_type: str, id: str) -> StoredVersion | None:
        return await self.conns.read(lambda c: self._read(c, resource_type, id))

    async def vread(self, resource_type: str, id: str, version: int) -> StoredVersion | None:
        def job(c: sqlite3.Connection) -> StoredVersion | None:
            row = c.execute(
                f"SELECT {COLUMNS}, method FROM versions WHERE type = ? AND id = ? AND version = ?",
                (resource_type, id, version),
            ).fetchone()
            return _row(row, row[7]) if row else None

        return await self.conns.read(job)

    async def read_many(self, keys: Sequence[tuple[str, str]]) -> list[StoredVersion]:
        if not keys:
            return []

        def job(c: sqlite3.Connection) -> list[StoredVersion]:
            out: list[StoredVersion] = []
            for start in range(0, len(keys), 400):
                chunk = keys[start : start + 400]
                cond = " OR ".join("(type = ? AND id = ?)" for _ in chunk)
                args = [v for k in chunk for v in k]
                out.extend(
                    _row(r)
                    for r in c.execute(
                        f"SELECT {COLUMNS} FROM resources WHERE deleted = 0 AND ({cond})", args
                    )
                )
            return out

        return await self.conns.read(job)

    async def history(self, request: HistoryRequest) -> Page:
        return await self.conns.read(lambda c: history_page(c, request))

    async def references_of(
        self, keys: Sequence[tuple[str, str]], params: Sequence[str] | None
    ) -> list[StoredReference]:
        if not keys or (params is not None and not params):
            return []
        return await self.conns.read(lambda c: references_of(c, keys, params))

    def _page_statements(self, c: sqlite3.Connection, query: SearchQuery) -> list[tuple[str, list[Any]]]:
        """The statements serving one page (``limit`` the last argument of each): the sort
        scan's (``sort_scan.py``) when it applies and pays, else the general plan's one."""
        lookup = self.params.lookup(c)
        limit = query.count + 1
        if query.sort:
            compiler = Compiler(lookup, self.params.shape)
            scan = sort_scan.choose(c, query, compiler)
            if scan is not None:
                return sort_scan.page_sql(scan, query, compiler, limit)
        return [compile_search(query, lookup, limit=limit, shape_of=self.params.shape)]

    async def search(self, query: SearchQuery) -> Page:
        def job(c: sqlite3.Connection) -> Page:
            lookup = self.params.lookup(c)
            rows: list[Any] = []
            for sql, args in self._page_statements(c, query):
                args[-1] = query.count + 1 - len(rows)
                rows.extend(c.execute(sql, args).fetchall())
                if len(rows) > query.count:
                    break
            next_cursor = None
            if len(rows) > query.count:
                rows = rows[: query.count]
                next_cursor = encode(list(rows[-1][7:])) if rows else None
            total, capped = None, False
            if query.total == "estimate":
                csql, cargs = count_sql(query, lookup, bound=ESTIMATE_BOUND, shape_of=self.params.shape)
                total = int(c.execute(csql, cargs).fetchone()[0])
                total, capped = min(total, ESTIMATE_BOUND), total > ESTIMATE_BOUND
            elif query.total == "accurate" or query.summary == "count":
                csql, cargs = count_sql(query, lookup, shape_of=self.params.shape)
                total = int(c.execute(csql, cargs).fetchone()[0])
            return Page([_row(r) for r in rows], next_cursor, total, capped)

        return await self.conns.read(job)

    async def explain(self, query: SearchQuery) -> dict[str, Any]:
        """The SQL of one page of ``query`` (and of its count when ``_total`` asks for one),
        with its arguments and SQLite's ``EXPLAIN QUERY PLAN`` rows."""

        def plan(c: sqlite3.Connection, sql: str, args: list[Any]) -> dict[str, Any]:
            rows = c.execute(f"EXPLAIN QUERY PLAN {sql}", args).fetchall()
            steps = [{"id": r[0], "parent": r[1], "detail": r[3]} for r in rows]
            return {"sql": sql, "argument": [repr(a) for a in args], "queryPlan": steps}

        def job(c: sqlite3.Connection) -> dict[str, Any]:
            lookup = self.params.lookup(c)
            statements = self._page_statements(c, query)
            out: dict[str, Any] = {"backend": self.name, "search": plan(c, *statements[0])}
            if len(statements) > 1:
                out["searchWithoutValue"] = plan(c, *statements[1])
            if query.total != "none" or query.summary == "count":
                bound = ESTIMATE_BOUND if query.total == "estimate" else None
                out["count"] = plan(c, *count_sql(query, lookup, bound=bound, shape_of=self.params.shape))
            return out

        return await self.conns.read(job)

    async def reverse_references(
        self, source_type: str, param: str | None, targets: Sequence[str], limit: int
    ) -> list[StoredVersion]:
        if not targets:
            return []

        def job(c: sqlite3.Connection) -> list[StoredVersion]:
            any_type = source_type == "*"
            args: list[Any] = [] if any_type else [source_type]
            pid_clause = ""
            if param is not None and not any_type:
                pids = self.params.lookup(c)((source_type,), param)
                pid_clause = "AND x.pid = ?"
                args.append(pids[0])
            marks = ",".join("?" for _ in targets)
            args.extend([*targets, limit])
            type_clause = "" if any_type else "r.type = ? AND "
            sql = (
                f"SELECT {', '.join('r.' + col.strip() for col in COLUMNS.split(','))} FROM resources r "
                f"WHERE {type_clause}r.deleted = 0 AND r.rid IN (SELECT x.rid FROM ix_reference x "
                f"WHERE 1 {pid_clause} AND x.target IN ({marks})) ORDER BY r.rid LIMIT ?"
            )
            return [_row(r) for r in c.execute(sql, args)]

        return await self.conns.read(job)
