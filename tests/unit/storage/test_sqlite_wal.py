"""SQLite specifics the contract suite cannot state: WAL, synchronous=FULL, readers not blocked."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

from fhir_server.storage.protocol import WriteOp
from fhir_server.storage.sqlite.store import SQLiteStore


def _op(id: str, version: int = 1) -> WriteOp:
    return WriteOp(
        "Patient", id, version, version - 1, "2026-01-01T00:00:00Z", 1, b'{"resourceType":"Patient"}'
    )


async def test_wal_and_full_sync_by_default(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "a.db")
    await store.start()
    try:
        assert store.conns.writer is not None
        assert store.conns.writer.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert store.conns.writer.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    finally:
        await store.close()


async def test_readers_are_not_blocked_by_an_open_write_transaction(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "b.db")
    await store.start()
    try:
        async with store.transaction() as tx:
            await tx.write(_op("p1"))
        # another process holds the write lock for a while
        other = sqlite3.connect(str(tmp_path / "b.db"), isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        other.execute("UPDATE resources SET lu = lu + 1")
        t0 = time.perf_counter()
        got = await asyncio.wait_for(store.read("Patient", "p1"), timeout=2)
        assert got is not None and got.version == 1
        assert time.perf_counter() - t0 < 1.0
        other.execute("ROLLBACK")
        other.close()
    finally:
        await store.close()


async def test_a_failed_unit_of_work_leaves_nothing(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "c.db")
    await store.start()
    try:
        try:
            async with store.transaction() as tx:
                await tx.write(_op("p1"))
                await tx.read("Patient", "p1")  # flushes the write inside the transaction
                raise RuntimeError("boom")
        except RuntimeError:
            pass
        assert await store.read("Patient", "p1") is None
        assert store.conns.writer is not None
        assert store.conns.writer.execute("SELECT COUNT(*) FROM versions").fetchone()[0] == 0
    finally:
        await store.close()


async def test_group_commit_isolates_a_failing_unit(tmp_path: Path) -> None:
    """Concurrent units share commits; a unit whose expected version is stale fails alone."""
    from fhir_server.storage.protocol import VersionConflict

    store = SQLiteStore(tmp_path / "d.db")
    await store.start()
    try:
        async with store.transaction() as tx:
            await tx.write(_op("exists"))

        async def unit(i: int) -> str:
            try:
                async with store.transaction() as tx:
                    # unit 7 claims to create a resource that already exists
                    await tx.write(_op("exists" if i == 7 else f"p{i}"))
            except VersionConflict:
                return "conflict"
            return "ok"

        outcomes = await asyncio.gather(*(unit(i) for i in range(20)))
        assert outcomes.count("conflict") == 1 and outcomes[7] == "conflict"
        for i in range(20):
            if i != 7:
                assert await store.read("Patient", f"p{i}") is not None
        assert store.conns.writer is not None
        assert store.conns.writer.execute("SELECT COUNT(*) FROM versions").fetchone()[0] == 20
        # the loser's key is now served pessimistically (write lock) for a while
        assert store.is_contended("Patient", "exists")
    finally:
        await store.close()
