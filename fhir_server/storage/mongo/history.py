"""History reads: vread, instance/type/system history with ``_since``, ``_at`` and keyset paging.

Spec: http://hl7.org/fhir/R4/http.html#history. Newest first; the cursor carries the
last row's sort values (never skip/offset). Instance history orders on the version
number; type and system history on ``(lu_us, _id)`` descending.
"""

from __future__ import annotations

from typing import Any

from ..protocol import HistoryRequest, Page, StoredVersion
from .documents import VERSION_FIELDS, history_key, resource_key, stored_version
from .paging import SortField, after_filter, decode_cursor, encode_cursor, mongo_sort

PROJECTION = {f: 1 for f in VERSION_FIELDS}
INSTANCE_ORDER = [SortField("version", True)]
TIME_ORDER = [SortField("lu_us", True), SortField("_id", True)]


class HistoryReader:
    def __init__(self, resources: Any, history: Any) -> None:
        self.resources, self.history = resources, history

    async def vread(
        self, resource_type: str, id: str, version: int, session: Any = None
    ) -> StoredVersion | None:
        doc = await self.history.find_one({"_id": history_key(resource_type, id, version)}, session=session)
        if doc is None:
            return None
        if not doc.get("c"):
            cur = await self.resources.find_one(
                {"_id": resource_key(resource_type, id)}, {"version": 1, "w": 1}, session=session
            )
            if (
                cur is None
                or cur["version"] < version
                or (cur["version"] == version and cur.get("w") != doc.get("w"))
            ):
                return None  # a write that has not (or never) committed
        return stored_version(doc)

    async def history_page(self, req: HistoryRequest) -> Page:
        if req.count <= 0:
            return Page(items=[])
        if req.resource_type is not None and req.id is not None:
            return await self._instance(req, req.resource_type, req.id)
        if req.at_us is not None:
            return await self._at(req)
        base: dict[str, Any] = {"c": True}
        if req.resource_type is not None:
            base["type"] = req.resource_type
        if req.since_us is not None:
            base["lu_us"] = {"$gte": req.since_us}
        return await self._page(base, req, TIME_ORDER)

    async def _instance(self, req: HistoryRequest, resource_type: str, id: str) -> Page:
        cur = await self.resources.find_one({"_id": resource_key(resource_type, id)}, {"version": 1})
        if cur is None:
            return Page(items=[])
        base: dict[str, Any] = {"type": resource_type, "id": id, "version": {"$lte": cur["version"]}}
        if req.since_us is not None:
            base["lu_us"] = {"$gte": req.since_us}
        if req.at_us is not None:
            at = (
                await self.history.find({**base, "lu_us": {"$lte": req.at_us}}, {"version": 1})
                .sort([("version", -1)])
                .limit(1)
                .to_list(1)
            )
            if not at:
                return Page(items=[])
            base["version"] = at[0]["version"]
        return await self._page(base, req, INSTANCE_ORDER)

    async def _page(self, base: dict[str, Any], req: HistoryRequest, order: list[SortField]) -> Page:
        filt = base
        if req.cursor:
            filt = {"$and": [base, after_filter(order, decode_cursor(req.cursor, order))]}
        n = req.count + 1
        docs = await self.history.find(filt, PROJECTION).sort(mongo_sort(order)).limit(n).to_list(n)
        total = int(await self.history.count_documents(base))
        return self._result(docs, req.count, order, total)

    @staticmethod
    def _result(docs: list[Any], count: int, order: list[SortField], total: int) -> Page:
        more = len(docs) > count
        docs = docs[:count]
        cursor = encode_cursor(order, docs[-1]) if more and docs else None
        return Page(items=[stored_version(d) for d in docs], next_cursor=cursor, total=total)

    async def _at(self, req: HistoryRequest) -> Page:
        """Type/system ``_at``: per resource, the last committed version at or before the instant."""
        assert req.at_us is not None
        match: dict[str, Any] = {"c": True, "lu_us": {"$lte": req.at_us}}
        if req.resource_type is not None:
            match["type"] = req.resource_type
        heads: list[dict[str, Any]] = [
            {"$match": match},
            {"$project": {"type": 1, "id": 1, "version": 1, "lu_us": 1}},
            {"$sort": {"type": 1, "id": 1, "version": -1}},
            {"$group": {"_id": {"t": "$type", "i": "$id"}, "d": {"$first": "$$ROOT"}}},
            {"$replaceRoot": {"newRoot": "$d"}},
        ]
        if req.since_us is not None:
            heads.append({"$match": {"lu_us": {"$gte": req.since_us}}})
        page = list(heads)
        if req.cursor:
            page.append({"$match": after_filter(TIME_ORDER, decode_cursor(req.cursor, TIME_ORDER))})
        page += [{"$sort": {"lu_us": -1, "_id": -1}}, {"$limit": req.count + 1}]
        rows = await self.history.aggregate(page, allowDiskUse=True).to_list(req.count + 1)
        ids = [h["_id"] for h in rows]
        full = {d["_id"]: d for d in await self.history.find({"_id": {"$in": ids}}, PROJECTION).to_list(None)}
        docs = [full[i] for i in ids if i in full]
        counted = await self.history.aggregate([*heads, {"$count": "n"}], allowDiskUse=True).to_list(1)
        total = int(counted[0]["n"]) if counted else 0
        return self._result(docs, req.count, TIME_ORDER, total)
