"""Group commit: units of work that arrive while a commit is running share the next one.

With ``synchronous=FULL`` each SQLite commit costs an fsync. Concurrent requests queue
their buffered writes here; one flusher at a time takes everything queued, applies it
in one transaction on the writer thread (a savepoint per unit), and resolves each
unit's future with its own outcome. Under no load a unit commits alone, at once.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable

from ..protocol import WriteOp
from .connections import Connections

Apply = Callable[[sqlite3.Connection, list[list[WriteOp]]], list[BaseException | None]]


class GroupCommitter:
    def __init__(self, conns: Connections, lock: asyncio.Lock, apply: Apply) -> None:
        self._conns = conns
        self._lock = lock
        self._apply = apply
        self._queue: list[tuple[list[WriteOp], asyncio.Future[None]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def commit(self, ops: list[WriteOp]) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append((ops, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
        await future

    def _job(self, units: list[list[WriteOp]]) -> Callable[[sqlite3.Connection], list[BaseException | None]]:
        def run(conn: sqlite3.Connection) -> list[BaseException | None]:
            return self._apply(conn, units)

        return run

    async def _flush(self) -> None:
        while self._queue:
            async with self._lock:
                batch, self._queue = self._queue, []
                units = [ops for ops, _ in batch]
                try:
                    results = await self._conns.write(self._job(units))
                except BaseException as exc:  # the writer thread itself failed
                    results = [exc] * len(batch)
            for (_, future), error in zip(batch, results, strict=True):
                if future.done():
                    continue
                if error is None:
                    future.set_result(None)
                else:
                    future.set_exception(error)
