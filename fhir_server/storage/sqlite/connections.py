"""Threads that own SQLite connections: one writer, a pool of readers.

SQLite allows one writer at a time; WAL lets readers proceed while it writes. The
writer connection lives on one dedicated thread (every write job runs there, in
order); readers run on a small thread pool, each thread with its own read-only
connection. Blocking SQLite calls never run on the event loop.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


def connect(path: Path, *, readonly: bool, synchronous: str) -> sqlite3.Connection:
    if readonly:
        conn = sqlite3.connect(
            f"file:{path}?mode=ro", uri=True, isolation_level=None, check_same_thread=False
        )
    else:
        conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={synchronous}")
    conn.execute("PRAGMA busy_timeout=10000")
    conn.execute("PRAGMA cache_size=-65536")
    conn.execute("PRAGMA temp_store=MEMORY")
    # map the file (up to SQLite's usual compile-time ceiling of 2 GiB): pages are read from
    # the OS cache without a read() call each; beyond the map SQLite reads as usual
    conn.execute("PRAGMA mmap_size=2147418112")
    return conn


class Connections:
    def __init__(self, path: Path, *, readers: int = 4, synchronous: str = "FULL") -> None:
        self.path = path
        self.synchronous = synchronous
        self._writer_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-writer")
        self._reader_pool = ThreadPoolExecutor(max_workers=readers, thread_name_prefix="sqlite-reader")
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self.writer: sqlite3.Connection | None = None

    def open_writer(self) -> sqlite3.Connection:
        self.writer = connect(self.path, readonly=False, synchronous=self.synchronous)
        return self.writer

    def _reader(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = connect(self.path, readonly=True, synchronous=self.synchronous)
            self._local.conn = conn
            with self._lock:
                self._readers.append(conn)
        return conn

    async def write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        writer = self.writer
        assert writer is not None, "store not started"
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._writer_pool, fn, writer)

    async def read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._reader_pool, lambda: fn(self._reader()))

    def close(self) -> None:
        self._writer_pool.shutdown(wait=True)
        self._reader_pool.shutdown(wait=True)
        for conn in self._readers:
            conn.close()
        if self.writer is not None:
            self.writer.close()
            self.writer = None
