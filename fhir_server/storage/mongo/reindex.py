"""``$reindex`` on MongoDB: rewrite the index arrays of current documents, and server state.

A batch reads up to ``limit`` current documents after the cursor in (type, id) order
(the ``type_id`` index), extracts their entries, and for each whose arrays differ
sets the arrays and sort keys (``documents.py``) with ``update_one`` filtered on
``{_id, version, deleted: false}``: one atomic single-document write that matches
nothing when a concurrent write replaced the document meanwhile, so that write (and
the entries it carries) wins. The body, ``version``, ``lu`` and the history
collection are not touched. The batch is not one multi-document transaction: each
update stands alone and redoing a batch after a crash is harmless (the job's cursor
is saved after the batch), which holds on a standalone server too.

Server state lives in the ``state`` collection: ``{_id: key, value: text}``.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ... import fhirjson
from ...search.index import IndexEntries
from ..protocol import Extract, ReindexBatch, Reindexed
from .documents import (
    CONTAINED,
    ENTRY_ARRAYS,
    GEO,
    SORT_ASC,
    SORT_DESC,
    SORT_PRESENT,
    entry_arrays,
    resource_key,
    sort_keys,
)

if TYPE_CHECKING:
    from .store import MongoStore

STATE = "state"


def _by_param(doc: dict[str, Any]) -> dict[str, list[str]]:
    """The entries of a document (or of ``entry_arrays``) per param code, comparable."""
    out: dict[str, list[str]] = {}
    for kind in ENTRY_ARRAYS:
        for sub in doc.get(kind) or ():
            rest = {k: v for k, v in sub.items() if k != "p"}
            out.setdefault(str(sub.get("p")), []).append(kind + json.dumps(rest, sort_keys=True, default=str))
    for kind in (GEO, CONTAINED):  # positions and contained resources, compared whole
        if doc.get(kind):
            out["#" + kind] = [json.dumps(doc[kind], sort_keys=True, default=str)]
    return {p: sorted(v) for p, v in out.items()}


def _update(entries: IndexEntries) -> dict[str, Any]:
    arrays = entry_arrays(entries)
    asc, desc, present = sort_keys(entries)
    sets: dict[str, Any] = dict(arrays)
    if asc:
        sets.update({SORT_ASC: asc, SORT_DESC: desc, SORT_PRESENT: present})
    unset = {
        k: "" for k in (*ENTRY_ARRAYS, GEO, CONTAINED, SORT_ASC, SORT_DESC, SORT_PRESENT) if k not in sets
    }
    update: dict[str, Any] = {}
    if sets:
        update["$set"] = sets
    if unset:
        update["$unset"] = unset
    return update


async def reindex_batch(
    store: MongoStore,
    types: Sequence[str],
    after: tuple[str, str] | None,
    limit: int,
    extract: Extract,
    id: str | None = None,
) -> ReindexBatch:
    types = sorted(set(types))
    filt: dict[str, Any] = {"type": {"$in": types}, "deleted": False}
    if id is not None:
        filt["id"] = id
    if after is not None:
        filt["$or"] = [{"type": {"$gt": after[0]}}, {"type": after[0], "id": {"$gt": after[1]}}]
    indexed = (*ENTRY_ARRAYS, GEO, CONTAINED)
    projection = {"type": 1, "id": 1, "version": 1, "body": 1, **{k: 1 for k in indexed}}
    cursor = store.resources.find(filt, projection).sort([("type", 1), ("id", 1)]).limit(limit)
    docs: list[dict[str, Any]] = await cursor.to_list(limit)
    if not docs:
        return ReindexBatch(0, [], 0, after, True)

    def extract_all() -> list[IndexEntries]:
        return [extract(fhirjson.loads(d["body"])) for d in docs]

    extracted = await asyncio.to_thread(extract_all)
    changed: list[Reindexed] = []
    skipped = 0
    writer = store.writer.resources  # journaled on a standalone server
    for doc, entries in zip(docs, extracted, strict=True):
        old, new = _by_param(doc), _by_param(entry_arrays(entries))
        codes = tuple(sorted(p for p in old.keys() | new.keys() if old.get(p) != new.get(p)))
        if not codes:
            continue
        key = resource_key(str(doc["type"]), str(doc["id"]))
        result = await writer.update_one(
            {"_id": key, "version": doc["version"], "deleted": False}, _update(entries)
        )
        if result.matched_count != 1:
            skipped += 1  # replaced meanwhile: the newer version keeps its own entries
            continue
        changed.append(Reindexed(str(doc["type"]), str(doc["id"]), int(doc["version"]), codes))
    last = (str(docs[-1]["type"]), str(docs[-1]["id"]))
    return ReindexBatch(len(docs), changed, skipped, last, len(docs) < limit or id is not None)


# ---------------------------------------------------------------- server state


async def read_state(store: MongoStore, key: str) -> str | None:
    doc = await store.db[STATE].find_one({"_id": key})
    return str(doc["value"]) if doc else None


async def write_state(store: MongoStore, key: str, value: str | None) -> None:
    # the write concern of the resources writer (journaled on a standalone server)
    coll = store.db.get_collection(STATE, write_concern=store.writer.resources.write_concern)
    if value is None:
        await coll.delete_one({"_id": key})
    else:
        await coll.replace_one({"_id": key}, {"_id": key, "value": value}, upsert=True)


async def list_state(store: MongoStore, prefix: str) -> dict[str, str]:
    docs = (
        await store.db[STATE].find({"_id": {"$regex": "^" + re.escape(prefix)}}).sort("_id", 1).to_list(None)
    )
    return {str(d["_id"]): str(d["value"]) for d in docs}
