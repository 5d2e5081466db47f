"""Interned (resource type, parameter code) -> small integer ids for index rows, and the
shape of each parameter's data.

The shape is learnt from the data as it is written: whether any resource ever had more
than one index entry for the parameter (``multi``), and the widest date range an entry
covered (``span``, microseconds). The search compiler uses it to bound date ranges on
an index and, for single-valued parameters, to apply several criteria to the same entry
and to read results in the order of that parameter's index (``search_sql.py``). Both
only ever grow: a value learnt from a write that is then rolled back stays (it is merely
cautious), and the table keeps the committed truth for the next start.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

UNKNOWN = -1


@dataclass(frozen=True)
class Shape:
    multi: bool  # some resource has several entries for the parameter
    span: int | None  # widest hi - lo of a date entry (None: no date entries, or unknown)


UNKNOWN_SHAPE = Shape(multi=True, span=None)


class ParamIds:
    def __init__(self) -> None:
        self._ids: dict[tuple[str, str], int] = {}
        self._uncommitted: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()
        self._shapes: dict[int, Shape] = {}

    def load(self, conn: sqlite3.Connection) -> None:
        with self._lock:
            rows = conn.execute("SELECT pid, type, code, multi, span FROM params").fetchall()
            self._ids = {(t, c): pid for pid, t, c, _, _ in rows}
            self._shapes = {pid: Shape(bool(m), span) for pid, _, _, m, span in rows}

    @staticmethod
    def learn_all(conn: sqlite3.Connection, tables: tuple[str, ...]) -> None:
        """Recompute every parameter's shape from the index tables (a database written
        before shapes were recorded)."""
        conn.execute("UPDATE params SET multi = 0, span = NULL")
        for table in tables:
            conn.execute(
                f"UPDATE params SET multi = 1 WHERE pid IN "
                f"(SELECT pid FROM {table} GROUP BY pid, rid HAVING COUNT(*) > 1)"
            )
        conn.execute(
            "UPDATE params SET span = (SELECT MAX(x.hi - x.lo) FROM ix_date x WHERE x.pid = params.pid)"
        )

    def shape(self, pid: int) -> Shape:
        return self._shapes.get(pid, UNKNOWN_SHAPE)

    def observe_rows(self, conn: sqlite3.Connection, rows: dict[str, list[tuple[Any, ...]]]) -> None:
        """Learn the shape from one resource's index rows (``rows.index_rows``; the pid first,
        for dates ``(pid, lo, hi, rid)``). Writer thread only, inside the write's transaction."""
        shapes = self._shapes
        for table, values in rows.items():
            counts: dict[int, int] = {}
            for row in values:
                counts[row[0]] = counts.get(row[0], 0) + 1
            spans: dict[int, int] = {}
            if table == "ix_date":
                for row in values:
                    width = row[2] - row[1]
                    if width > spans.get(row[0], -1):
                        spans[row[0]] = width
            for pid, n in counts.items():
                span = spans.get(pid)
                old = shapes.get(pid)
                if (
                    old is not None
                    and (old.multi or n == 1)
                    and (span is None or (old.span is not None and span <= old.span))
                ):
                    continue
                self.observe(conn, pid, n, span)

    def observe(self, conn: sqlite3.Connection, pid: int, entries: int, span: int | None) -> None:
        old = self._shapes.get(pid, Shape(False, None))
        multi = old.multi or entries > 1
        if span is not None and old.span is not None:
            span = max(span, old.span)
        elif span is None:
            span = old.span
        new = Shape(multi, span)
        if new != old:
            conn.execute("UPDATE params SET multi = ?, span = ? WHERE pid = ?", (int(multi), span, pid))
            with self._lock:
                self._shapes[pid] = new

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
