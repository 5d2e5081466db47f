"""Units of work for MongoDB (the protocol's ``Transaction``).

* Replica set or mongos: a multi-document transaction in a session (snapshot read
  concern, majority write concern); reads and searches inside use the session, so
  they see the unit's writes; all writes commit or none.
* Standalone server: atomic multi-resource writes are impossible. The unit allows
  any number of reads and at most ONE write; a second write raises
  ``NotSupportedError`` before anything of it is applied. The single write is checked
  against the current version at once (``VersionConflict``), held back, and applied
  (one atomic document write, re-checked) when the unit exits without an exception,
  so a unit that fails leaves nothing behind. Reads inside the unit see the pending
  write; ``search_keys`` does not (it queries the stored documents).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from pymongo.errors import ConnectionFailure, OperationFailure, PyMongoError

from ...errors import ConflictError, NotSupportedError
from ...search.ir import SearchQuery
from ..protocol import StoredVersion, Transaction, VersionConflict, WriteOp

if TYPE_CHECKING:
    from .store import MongoStore

NO_ATOMICITY = (
    "atomic multi-resource writes need MongoDB running as a replica set or sharded cluster; "
    "this server is standalone, so a unit of work may write only one resource"
)


def _has_label(exc: PyMongoError, label: str) -> bool:
    has = getattr(exc, "has_error_label", None)
    return bool(has(label)) if callable(has) else False


class SessionUnit:
    """A unit inside a multi-document transaction."""

    def __init__(self, store: MongoStore, session: Any) -> None:
        self.store, self.session = store, session

    async def read(self, resource_type: str, id: str) -> StoredVersion | None:
        return await self.store.read_in(resource_type, id, self.session)

    async def search_keys(self, query: SearchQuery, limit: int) -> list[tuple[str, str]]:
        return await self.store.search_keys_in(query, limit, self.session)

    async def write(self, op: WriteOp) -> None:
        try:
            await self.store.writer.write_in_session(op, self.session)
        except PyMongoError as exc:
            if _has_label(exc, "TransientTransactionError"):
                raise VersionConflict(op.resource_type, op.id, op.expected_version, op.version) from exc
            raise


class SingleWriteUnit:
    """A unit on a standalone server: reads, and at most one write."""

    def __init__(self, store: MongoStore) -> None:
        self.store = store
        self.pending: WriteOp | None = None

    async def read(self, resource_type: str, id: str) -> StoredVersion | None:
        op = self.pending
        if op is not None and (op.resource_type, op.id) == (resource_type, id):
            return op.stored()
        return await self.store.read(resource_type, id)

    async def search_keys(self, query: SearchQuery, limit: int) -> list[tuple[str, str]]:
        return await self.store.search_keys_in(query, limit, None)

    async def write(self, op: WriteOp) -> None:
        if self.pending is not None:
            raise NotSupportedError(NO_ATOMICITY)
        self.store.writer.check(op)
        actual = await self.store.writer.current_version(op)
        if actual != op.expected_version:
            raise VersionConflict(op.resource_type, op.id, op.expected_version, actual)
        self.pending = op

    async def commit(self) -> None:
        if self.pending is not None:
            await self.store.writer.write_standalone(self.pending)


async def _commit(session: Any) -> None:
    for attempt in range(3):
        try:
            await session.commit_transaction()
            return
        except (ConnectionFailure, OperationFailure) as exc:
            if _has_label(exc, "UnknownTransactionCommitResult") and attempt < 2:
                continue
            if _has_label(exc, "TransientTransactionError"):
                raise ConflictError(
                    "the transaction collided with a concurrent write and was rolled back; retry it"
                ) from exc
            raise


@asynccontextmanager
async def unit_of_work(store: MongoStore) -> AsyncIterator[Transaction]:
    if not store.supports_transactions:
        unit = SingleWriteUnit(store)
        yield unit
        await unit.commit()
        return
    async with await store.client.start_session() as session:
        session.start_transaction(
            read_concern=store.read_concern,
            write_concern=store.write_concern,
            read_preference=store.read_preference,
        )
        try:
            yield SessionUnit(store, session)
        except BaseException:
            if session.in_transaction:
                await session.abort_transaction()
            raise
        await _commit(session)
