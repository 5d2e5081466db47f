"""Contained resources on MongoDB (``search/contained.py``): searches with
``_contained=true|both``.

Each container document holds its contained resources in the ``ctd`` array (``documents.py``),
each sub-document with the fields the ordinary compiler filters on (``type``, ``id``,
``lu_us`` and the entry arrays), so the criteria compiled as usual (``search_mongo.py``)
apply to them inside an ``$elemMatch`` (to find the containers) or, prefixed with ``ctd.``,
after an ``$unwind`` (to return the contained resources themselves). Ordinary searches never
name ``ctd``. Order and paging: containers by ``_id``; contained resources by (container
``_id``, position in ``ctd``), an ordinary resource of ``both`` counting as position -1.
"""

from __future__ import annotations

from typing import Any

from ...search.ir import SearchQuery
from ..cursor import decode, encode
from ..protocol import Page, StoredVersion
from .documents import CONTAINED, stored_version
from .search_mongo import Compiler, Filter, and_, prefixed

PROJECTION = {"type": 1, "id": 1, "version": 1, "lu": 1, "lu_us": 1, "deleted": 1, "body": 1, "method": 1}


async def _filters(store: Any, query: SearchQuery, session: Any) -> tuple[Filter, Filter]:
    """(criteria on a contained sub-document, criteria on an ordinary resource)."""

    async def no_lookup(*_: Any) -> list[dict[str, Any]]:  # chains and _has are refused earlier
        raise TypeError("chains are not supported with _contained")

    rtype = query.resource_types[0]
    crit = await Compiler(no_lookup, store.clock_us()).criteria_of(rtype, query.criteria)
    return and_({"type": rtype}, crit), and_({"type": rtype, "deleted": False}, crit)


async def _containers(store: Any, query: SearchQuery, inner: Filter, own: Filter, session: Any) -> Page:
    filt: Filter = {"deleted": False, CONTAINED: {"$elemMatch": inner}}
    if query.contained == "both":
        filt = {"$or": [own, filt]}
    total = None
    if query.total != "none" or query.summary == "count":
        total = int(await store.resources.count_documents(filt, session=session))
    if query.cursor:
        filt = and_(filt, {"_id": {"$gt": decode(query.cursor, 1)[0]}})
    n = query.count + 1
    docs = (
        await store.resources.find(filt, PROJECTION, session=session).sort([("_id", 1)]).limit(n).to_list(n)
    )
    next_cursor = None
    if len(docs) > query.count:
        docs = docs[: query.count]
        next_cursor = encode([docs[-1]["_id"]])
    return Page([stored_version(d) for d in docs], next_cursor, total)


async def _contained(store: Any, query: SearchQuery, inner: Filter, own: Filter, session: Any) -> Page:
    after: list[Any] | None = decode(query.cursor, 2) if query.cursor else None
    n = query.count + 1
    pipeline: list[dict[str, Any]] = [
        {"$match": {"deleted": False, CONTAINED: {"$elemMatch": inner}}},
        {"$unwind": {"path": f"${CONTAINED}", "includeArrayIndex": "ci"}},
        {"$match": prefixed(inner, f"{CONTAINED}.")},
    ]
    count_pipeline = list(pipeline)
    if after is not None:
        pipeline.append(
            {"$match": {"$or": [{"_id": {"$gt": after[0]}}, {"_id": after[0], "ci": {"$gt": after[1]}}]}}
        )
    pipeline += [{"$sort": {"_id": 1, "ci": 1}}, {"$limit": n}]
    rows: list[tuple[str, int, StoredVersion]] = []
    async for d in store.resources.aggregate(pipeline, session=session):
        sub = d[CONTAINED]
        container = stored_version(d)
        item = StoredVersion(
            sub["type"],
            sub["id"],
            container.version,
            container.last_updated,
            container.last_updated_us,
            False,
            sub["body"].encode("utf-8"),
            "PUT",
            f"{container.resource_type}/{container.id}",
        )
        rows.append((str(d["_id"]), int(d["ci"]), item))
    total = None
    if query.total != "none" or query.summary == "count":
        total = len(
            [
                d
                async for d in store.resources.aggregate(
                    [*count_pipeline, {"$project": {"_id": 1}}], session=session
                )
            ]
        )
    if query.contained == "both":
        filt = own if after is None else and_(own, {"_id": {"$gt": after[0]}})
        docs = (
            await store.resources.find(filt, PROJECTION, session=session)
            .sort([("_id", 1)])
            .limit(n)
            .to_list(n)
        )
        rows += [(str(d["_id"]), -1, stored_version(d)) for d in docs]
        rows.sort(key=lambda r: (r[0], r[1]))
        rows = rows[:n]
        if total is not None:
            total += int(await store.resources.count_documents(own, session=session))
    next_cursor = None
    if len(rows) > query.count:
        rows = rows[: query.count]
        next_cursor = encode([rows[-1][0], rows[-1][1]])
    return Page([r[2] for r in rows], next_cursor, total)


async def search(store: Any, query: SearchQuery, session: Any) -> Page:
    inner, own = await _filters(store, query, session)
    if query.contained_type == "contained":
        return await _contained(store, query, inner, own, session)
    return await _containers(store, query, inner, own, session)


async def explain(store: Any, query: SearchQuery) -> dict[str, Any]:
    inner, own = await _filters(store, query, None)
    return {
        "backend": store.name,
        "collection": "resources",
        "contained": repr(inner),
        "resources": repr(own),
    }
