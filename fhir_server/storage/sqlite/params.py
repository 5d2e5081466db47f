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

    def lookup(self, conn: sqlite3.Connection) -> Callable[[str, str], int]:
        """A resolver for queries; unknown pairs are re-read once, then give UNKNOWN."""

        def resolve(resource_type: str, code: str) -> int:
            key = (resource_type, code)
            pid = self._ids.get(key)
            if pid is None:
                row = conn.execute("SELECT pid FROM params WHERE type = ? AND code = ?", key).fetchone()
                pid = row[0] if row else UNKNOWN
            return pid

        return resolve
