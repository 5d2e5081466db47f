"""Interned (resource type, parameter code) -> small integer ids for index rows."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable

UNKNOWN = -1


class ParamIds:
    def __init__(self) -> None:
        self._ids: dict[tuple[str, str], int] = {}
        self._uncommitted: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()

    def load(self, conn: sqlite3.Connection) -> None:
        with self._lock:
            self._ids = {(t, c): pid for pid, t, c in conn.execute("SELECT pid, type, code FROM params")}

    def get_or_create(self, conn: sqlite3.Connection, resource_type: str, code: str) -> int:
        """Writer thread only, inside a transaction."""
        key = (resource_type, code)
        pid = self._ids.get(key) or self._uncommitted.get(key)
        if pid is not None:
            return pid
        conn.execute("INSERT OR IGNORE INTO params (type, code) VALUES (?, ?)", key)
        pid = int(conn.execute("SELECT pid FROM params WHERE type = ? AND code = ?", key).fetchone()[0])
        self._uncommitted[key] = pid
        return pid

    def commit(self) -> None:
        with self._lock:
            self._ids.update(self._uncommitted)
        self._uncommitted = {}

    def forget_uncommitted(self) -> None:
        self._uncommitted = {}

    def lookup(self, conn: sqlite3.Connection) -> Callable[[tuple[str, ...], str], list[int]]:
        """A resolver for queries: the pids of ``code`` on the given types (all types when empty).

        Pairs not cached are read from the table (another process may have added them);
        unknown ones give ``UNKNOWN``, which matches no index row.
        """

        def resolve(types: tuple[str, ...], code: str) -> list[int]:
            if not types:
                rows = conn.execute("SELECT pid FROM params WHERE code = ?", (code,)).fetchall()
                return [int(r[0]) for r in rows] or [UNKNOWN]
            out = []
            for t in types:
                pid = self._ids.get((t, code))
                if pid is None:
                    row = conn.execute(
                        "SELECT pid FROM params WHERE type = ? AND code = ?", (t, code)
                    ).fetchone()
                    pid = int(row[0]) if row else UNKNOWN
                out.append(pid)
            return out

        return resolve
