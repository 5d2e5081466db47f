"""The MongoDB backend (motor): one document per resource plus a history collection.

Document shape: ``documents.py``; index plan and sharding suggestion: ``schema.py``;
write path and its crash/concurrency story: ``writes.py``; units of work:
``transaction.py``; search compilation: ``search_mongo.py``; paging: ``paging.py``.

Bodies are stored as JSON text (a BSON string), never parsed into BSON types, so
decimals keep their digits and reads serve the stored text.
"""

from __future__ import annotations

import inspect
import json
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

from pymongo import ReadPreference
from pymongo.errors import PyMongoError
from pymongo.read_concern import ReadConcern
from pymongo.write_concern import WriteConcern

from ...errors import TooCostlyError
from ...search.ir import SearchQuery
from ..protocol import ESTIMATE_BOUND, HistoryRequest, Page, StoredReference, StoredVersion, Transaction
from .documents import REFERENCE, VERSION_FIELDS, resource_key, stored_version
from .history import HistoryReader
from .paging import after_filter, decode_cursor, encode_cursor, mongo_sort, sort_fields
from .schema import HISTORY, RESOURCES, ensure_indexes
from .search_mongo import Compiler, Filter, and_, type_filter
from .transaction import unit_of_work
from .writes import Writer

PROJECTION = {f: 1 for f in VERSION_FIELDS}


def _now_us() -> int:
    return time.time_ns() // 1000


class MongoStore:
    """``Store`` over MongoDB. Transactions need a replica set or a sharded cluster."""

    name = "mongodb"

    def __init__(
        self,
        uri: str,
        database: str = "fhir",
        drop_on_close: bool = False,
        *,
        client: Any = None,
        chain_limit: int = 1000,
        lease_seconds: float = 30.0,
        clock_us: Callable[[], int] = _now_us,
    ) -> None:
        self.owns_client = client is None
        if client is None:
            from motor.motor_asyncio import AsyncIOMotorClient

            client = AsyncIOMotorClient(uri)
        self.client = client
        self.database_name = database
        self.drop_on_close = drop_on_close
        self.chain_limit = chain_limit
        self.clock_us = clock_us  # "now" for the ``ap`` prefix on dates
        self.db = client[database]
        self.resources = self.db[RESOURCES]
        self.history_coll = self.db[HISTORY]
        self.writer = Writer(self.resources, self.history_coll, lease_seconds=lease_seconds)
        self.history_reader = HistoryReader(self.resources, self.history_coll)
        self.supports_transactions = False
        self.read_concern = ReadConcern("snapshot")
        self.write_concern = WriteConcern("majority")
        self.read_preference = ReadPreference.PRIMARY

    @classmethod
    def from_client(
        cls, client: Any, database: str = "fhir", *, drop_on_close: bool = False, **options: Any
    ) -> MongoStore:
        """A store over an existing (motor or mongomock-motor) client, which it does not close."""
        return cls("", database, drop_on_close, client=client, **options)

    # ------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        self.supports_transactions = await self._detect_transactions()
        await ensure_indexes(self.db)
        if not self.supports_transactions:
            # no transaction to carry a write concern: acknowledge writes once journaled,
            # so that an acknowledged write survives a crash
            journaled = WriteConcern(w=1, j=True)
            self.writer.resources = self.db.get_collection(RESOURCES, write_concern=journaled)
            self.writer.history = self.db.get_collection(HISTORY, write_concern=journaled)
        await self.writer.repair()

    async def _detect_transactions(self) -> bool:
        """True on a replica set (``setName``) or behind mongos (``msg: isdbgrid``)."""
        hello: Any = None
        for command in ("hello", "isMaster"):
            try:
                hello = await self.client.admin.command(command)
                break
            except (PyMongoError, NotImplementedError):
                continue
        if not isinstance(hello, dict):
            return False
        wire = int(hello.get("maxWireVersion", 0))
        if hello.get("msg") == "isdbgrid":
            return wire >= 8  # MongoDB 4.2: sharded transactions
        return bool(hello.get("setName")) and wire >= 7  # MongoDB 4.0: replica-set transactions

    async def close(self) -> None:
        if self.drop_on_close:
            await self.client.drop_database(self.database_name)
        if self.owns_client:
            self.client.close()

    async def ready(self) -> bool:
        try:
            await self.client.admin.command("ping")
        except (PyMongoError, NotImplementedError):
            return False
        return True

    def transaction(self) -> AbstractAsyncContextManager[Transaction]:
        return unit_of_work(self)

    # ------------------------------------------------------------ reads

    async def read(self, resource_type: str, id: str) -> StoredVersion | None:
        return await self.read_in(resource_type, id, None)

    async def read_in(self, resource_type: str, id: str, session: Any) -> StoredVersion | None:
        doc = await self.resources.find_one(
            {"_id": resource_key(resource_type, id)}, PROJECTION, session=session
        )
        return stored_version(doc) if doc else None

    async def vread(self, resource_type: str, id: str, version: int) -> StoredVersion | None:
        return await self.history_reader.vread(resource_type, id, version)

    async def read_many(self, keys: Sequence[tuple[str, str]]) -> list[StoredVersion]:
        if not keys:
            return []
        ids = list({resource_key(t, i) for t, i in keys})
        docs = await self.resources.find({"_id": {"$in": ids}, "deleted": False}, PROJECTION).to_list(None)
        return [stored_version(d) for d in docs]

    async def history(self, request: HistoryRequest) -> Page:
        return await self.history_reader.history_page(request)

    async def references_of(
        self, keys: Sequence[tuple[str, str]], params: Sequence[str] | None
    ) -> list[StoredReference]:
        if not keys or (params is not None and not params):
            return []
        ids = list({resource_key(t, i) for t, i in keys})
        fields = {"type": 1, "id": 1, "ref": 1}
        docs = await self.resources.find({"_id": {"$in": ids}, "deleted": False}, fields).to_list(None)
        wanted = None if params is None else set(params)
        return [
            StoredReference(str(d["type"]), str(d["id"]), str(e["p"]), str(e["r"]), e.get("t"))
            for d in docs
            for e in d.get("ref") or ()
            if wanted is None or e["p"] in wanted
        ]

    async def reverse_references(
        self, source_type: str, param: str | None, targets: Sequence[str], limit: int
    ) -> list[StoredVersion]:
        if not targets or limit <= 0:
            return []
        wanted = {"$in": list(targets)}
        refs: Filter = {"ref": {"$elemMatch": {"p": param, "r": wanted}}} if param else {"ref.r": wanted}
        any_type = source_type == "*"
        filt = {"deleted": False, **refs} if any_type else {"type": source_type, "deleted": False, **refs}
        order = mongo_sort(sort_fields((), one_type=not any_type))
        docs = await self.resources.find(filt, PROJECTION).sort(order).limit(limit).to_list(limit)
        return [stored_version(d) for d in docs]

    # ------------------------------------------------------------ search

    async def compile_filter(self, query: SearchQuery, session: Any = None) -> Filter:
        async def chain_lookup(rtype: str, inner: Filter, name: str, refs: bool) -> list[dict[str, Any]]:
            filt = and_({"type": rtype, "deleted": False}, inner)
            cap = self.chain_limit
            projection = {"_id": 1, REFERENCE: 1} if refs else {"_id": 1}
            docs: list[dict[str, Any]] = (
                await self.resources.find(filt, projection, session=session).limit(cap + 1).to_list(cap + 1)
            )
            if len(docs) > cap:
                raise TooCostlyError(
                    f"'{name}': the inner search on {rtype} matches more than {cap} resources "
                    "(FHIR_CHAIN_LIMIT); narrow it with more criteria",
                    name,
                )
            return docs

        compiler = Compiler(chain_lookup, self.clock_us())
        types = query.resource_types
        if len(types) == 1:
            criteria = await compiler.criteria_of(types[0], query.criteria)
        else:
            criteria = await compiler.criteria(query.criteria)
        return and_(type_filter(query.resource_types), {"deleted": False}, criteria)

    async def search(self, query: SearchQuery) -> Page:
        return await self.search_in(query, None)

    async def search_in(self, query: SearchQuery, session: Any) -> Page:
        base = await self.compile_filter(query, session)
        fields = sort_fields(query.sort, one_type=len(query.resource_types) == 1)
        total, capped = await self.count(query, base, session)
        if query.count <= 0:
            return Page(items=[], total=total, total_capped=capped)
        filt = base
        if query.cursor:
            filt = and_(base, after_filter(fields, decode_cursor(query.cursor, fields)))
        projection = {**PROJECTION, **{f.path: 1 for f in fields}}
        n = query.count + 1
        cursor = self.resources.find(filt, projection, session=session).sort(mongo_sort(fields))
        docs = await cursor.limit(n).to_list(n)
        next_cursor = None
        if len(docs) > query.count:
            docs = docs[: query.count]
            next_cursor = encode_cursor(fields, docs[-1])
        return Page(
            items=[stored_version(d) for d in docs], next_cursor=next_cursor, total=total, total_capped=capped
        )

    async def count(self, query: SearchQuery, filt: Filter, session: Any) -> tuple[int | None, bool]:
        """(total, is a lower bound). ``accurate`` (or ``_summary=count``): ``count_documents``.
        ``estimate``: the collection's metadata count (``estimated_document_count``, which
        includes tombstones) when the search has no criteria and no type; otherwise a count
        that stops after ``ESTIMATE_BOUND`` + 1 matches."""
        if query.total == "estimate":
            if not query.criteria and not query.resource_types and session is None:
                return int(await self.resources.estimated_document_count()), False
            n = int(await self.resources.count_documents(filt, limit=ESTIMATE_BOUND + 1, session=session))
            return min(n, ESTIMATE_BOUND), n > ESTIMATE_BOUND
        if query.total == "accurate" or query.summary == "count":
            return int(await self.resources.count_documents(filt, session=session)), False
        return None, False

    async def explain(self, query: SearchQuery) -> dict[str, Any]:
        """The filter and sort of one page of ``query`` (chains and ``_has`` already
        resolved, as the search would run them) and MongoDB's winning plan; a driver or
        mock without ``explain`` gives the filter and sort with ``planError``."""
        filt = await self.compile_filter(query, None)
        fields = sort_fields(query.sort, one_type=len(query.resource_types) == 1)
        if query.cursor:
            filt = and_(filt, after_filter(fields, decode_cursor(query.cursor, fields)))
        order = mongo_sort(fields)
        out: dict[str, Any] = {
            "backend": self.name,
            "collection": RESOURCES,
            "filter": json.dumps(filt, default=str, sort_keys=True),
            "sort": json.dumps(order),
            "limit": query.count + 1,
        }
        try:
            cursor = self.resources.find(filt, {"_id": 1}).sort(order).limit(query.count + 1)
            result = cursor.explain()
            if inspect.isawaitable(result):
                result = await result
            planner = result.get("queryPlanner", {}) if isinstance(result, dict) else {}
            out["winningPlan"] = json.dumps(planner.get("winningPlan"), default=str, sort_keys=True)
        except (PyMongoError, NotImplementedError, AttributeError, TypeError) as exc:
            out["planError"] = f"explain() is not available here: {type(exc).__name__}: {exc}"
        return out

    async def search_keys_in(self, query: SearchQuery, limit: int, session: Any) -> list[tuple[str, str]]:
        if limit <= 0:
            return []
        filt = await self.compile_filter(query, session)
        order = mongo_sort(sort_fields((), one_type=len(query.resource_types) == 1))
        cursor = self.resources.find(filt, {"type": 1, "id": 1}, session=session).sort(order)
        docs = await cursor.limit(limit).to_list(limit)
        return [(str(d["type"]), str(d["id"])) for d in docs]
