"""The write path: history first, then the current document, filtered on the expected version.

Versioning and optimistic concurrency: http://hl7.org/fhir/R4/http.html#versioning.

Replica set / mongos: every write runs inside its unit's multi-document transaction
(``transaction.py``, one unit per interaction or bundle): read the current version in
the snapshot, upsert the history document as committed, replace the current document
with a filter on the expected version; history and current commit together.
Concurrent writers collide on the same documents (WriteConflict, a
TransientTransactionError) and the loser gets ``VersionConflict``.

Standalone server (no transactions): the current document is the commit point.

1. insert the history document ``Type/id/version`` marked uncommitted (``c: false``)
   with a write token ``w``; a duplicate means another write of the same version is
   in flight (conflict) unless it is an abandoned one older than the lease, which is
   removed (by its token) and the insert retried;
2. replace the current document filtered on ``{_id, version: expected}`` (insert
   when expected is 0): one atomic single-document write; no match -> remove our
   history document and raise ``VersionConflict``;
3. mark our history document (and the previous version's, in case its writer died
   between 2 and 3) committed.

Readers only list committed history documents (vread and instance history also
accept an uncommitted document the current document vouches for); ``repair()``,
run at start-up, settles uncommitted documents older than the lease.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

from pymongo.errors import DuplicateKeyError

from ..protocol import VersionConflict, WriteOp
from .documents import current_doc, history_doc, history_key, resource_key


class Writer:
    def __init__(
        self,
        resources: Any,
        history: Any,
        *,
        lease_seconds: float = 30.0,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.resources, self.history = resources, history
        self.lease_seconds, self.wall_clock = lease_seconds, wall_clock

    @staticmethod
    def check(op: WriteOp) -> None:
        if op.version <= op.expected_version:
            raise ValueError(
                f"{op.resource_type}/{op.id}: version {op.version} must follow {op.expected_version}"
            )

    async def current_version(self, op: WriteOp, session: Any = None) -> int:
        doc = await self.resources.find_one(
            {"_id": resource_key(op.resource_type, op.id)}, {"version": 1}, session=session
        )
        return int(doc["version"]) if doc else 0

    async def conflict(self, op: WriteOp, session: Any = None) -> VersionConflict:
        actual = await self.current_version(op, session)
        return VersionConflict(op.resource_type, op.id, op.expected_version, actual)

    # ------------------------------------------------------------ replica set

    async def write_in_session(self, op: WriteOp, session: Any) -> None:
        """Apply ``op`` inside the session's transaction (the caller commits)."""
        self.check(op)
        key = resource_key(op.resource_type, op.id)
        try:
            actual = await self.current_version(op, session)
            if actual != op.expected_version:
                raise VersionConflict(op.resource_type, op.id, op.expected_version, actual)
            token = uuid.uuid4().hex
            hdoc = history_doc(op, token, committed=True, ts=self.wall_clock())
            await self.history.replace_one({"_id": hdoc["_id"]}, hdoc, upsert=True, session=session)
            cdoc = current_doc(op, token)
            if op.expected_version == 0:
                await self.resources.insert_one(cdoc, session=session)
            else:
                result = await self.resources.replace_one(
                    {"_id": key, "version": op.expected_version}, cdoc, session=session
                )
                if result.matched_count != 1:
                    raise VersionConflict(op.resource_type, op.id, op.expected_version, op.version)
        except DuplicateKeyError as exc:
            raise VersionConflict(op.resource_type, op.id, op.expected_version, op.version) from exc

    # ------------------------------------------------------------ standalone

    async def write_standalone(self, op: WriteOp) -> None:
        self.check(op)
        token = uuid.uuid4().hex
        hdoc = history_doc(op, token, committed=False, ts=self.wall_clock())
        await self._insert_history(op, hdoc)
        key = resource_key(op.resource_type, op.id)
        cdoc = current_doc(op, token)
        if op.expected_version == 0:
            try:
                await self.resources.insert_one(cdoc)
                committed = True
            except DuplicateKeyError:
                committed = False
        else:
            result = await self.resources.replace_one({"_id": key, "version": op.expected_version}, cdoc)
            committed = result.matched_count == 1
        if not committed:
            await self.history.delete_one({"_id": hdoc["_id"], "w": token, "c": False})
            raise await self.conflict(op)
        settled = [hdoc["_id"]]
        if op.expected_version:
            settled.append(history_key(op.resource_type, op.id, op.expected_version))
        await self.history.update_many({"_id": {"$in": settled}, "c": False}, {"$set": {"c": True}})

    async def _insert_history(self, op: WriteOp, hdoc: dict[str, Any]) -> None:
        for _attempt in range(3):
            try:
                await self.history.insert_one(hdoc)
                return
            except DuplicateKeyError:
                pass
            actual = await self.current_version(op)
            if actual != op.expected_version:
                raise VersionConflict(op.resource_type, op.id, op.expected_version, actual)
            existing = await self.history.find_one({"_id": hdoc["_id"]}, {"c": 1, "w": 1, "ts": 1})
            if existing is None:
                continue
            fresh = self.wall_clock() - float(existing.get("ts", 0)) < self.lease_seconds
            if existing.get("c") or fresh:
                # another write of this very version is in flight: it will win or back out
                raise VersionConflict(op.resource_type, op.id, op.expected_version, op.version)
            await self.history.delete_one({"_id": hdoc["_id"], "w": existing.get("w"), "c": False})
        raise VersionConflict(op.resource_type, op.id, op.expected_version, op.version)

    async def repair(self, limit: int = 10_000) -> int:
        """Settle uncommitted history documents older than the lease; returns how many."""
        cutoff = self.wall_clock() - self.lease_seconds
        pending = self.history.find(
            {"c": False, "ts": {"$lt": cutoff}}, {"type": 1, "id": 1, "version": 1, "w": 1}
        )
        settled = 0
        async for h in pending.limit(limit):
            cur = await self.resources.find_one({"_id": resource_key(h["type"], h["id"])})
            version = int(h["version"])
            if cur is not None and (cur["version"] > version or cur.get("w") == h.get("w")):
                await self.history.update_one({"_id": h["_id"], "w": h.get("w")}, {"$set": {"c": True}})
            elif cur is not None and cur["version"] == version:
                # the current document is the truth: rebuild its history entry from it
                fields = ("type", "id", "version", "lu", "lu_us", "deleted", "method", "body", "w")
                fixed = {f: cur.get(f) for f in fields}
                fixed.update({"_id": h["_id"], "c": True, "ts": self.wall_clock()})
                await self.history.replace_one({"_id": h["_id"]}, fixed)
            else:
                await self.history.delete_one({"_id": h["_id"], "w": h.get("w"), "c": False})
            settled += 1
        return settled
