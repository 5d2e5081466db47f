"""Contract: ``Store.reindex_batch`` (``$reindex``) and the server-state table, on every backend.

A reindex rewrites only the index entries of the current version of each resource:
no new version, no lastUpdated change, no history entry; it walks (type, id) in
batches from a cursor; a resource written concurrently keeps the entries of its
write; running it again changes nothing.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from fhir_server.search.index import IndexEntries, StringEntry, TokenEntry
from fhir_server.search.ir import Clause, ParamRef, SearchQuery, StringValue, TokenValue
from fhir_server.storage.protocol import HistoryRequest, Store

from .test_crud import T0, make_op, write


def body(rt: str, id: str, version: int, nick: str | None) -> bytes:
    doc: dict[str, Any] = {"resourceType": rt, "id": id, "meta": {"versionId": str(version)}}
    if nick is not None:
        doc["nick"] = nick
    return json.dumps(doc).encode()


def nick_index(resource: dict[str, Any]) -> IndexEntries:
    """The 'new parameter': ``nick`` (string) from the resource's ``nick``."""
    nick = resource.get("nick")
    return {"nick": [StringEntry(nick.lower(), nick)]} if isinstance(nick, str) else {}


def nick_query(rt: str, value: str) -> SearchQuery:
    clause = Clause(ParamRef("nick", "string"), None, (StringValue(value.lower(), value),))
    return SearchQuery(resource_types=(rt,), criteria=(clause,))


async def found(store: Store, rt: str, value: str) -> list[str]:
    page = await store.search(nick_query(rt, value))
    return sorted(v.id for v in page.items)


async def seed(store: Store) -> None:
    """Patients p1..p5 (p3 without nick, p4 deleted) and Groups g1, g2; stored without 'nick' entries."""
    for i in range(1, 6):
        nick = None if i == 3 else f"Nick{i}"
        await write(store, make_op("Patient", f"p{i}", 1, body=body("Patient", f"p{i}", 1, nick)))
    await write(store, make_op("Patient", "p4", 2, method="DELETE"))
    for g in ("g1", "g2"):
        await write(store, make_op("Group", g, 1, body=body("Group", g, 1, "Fam" + g)))


async def test_batches_walk_type_then_id_from_the_cursor_and_add_the_new_entries(store: Store) -> None:
    await seed(store)
    assert await found(store, "Patient", "nick1") == []  # written before the parameter existed
    after, seen, changed = None, [], []
    while True:
        batch = await store.reindex_batch(["Patient", "Group"], after, 2, nick_index)
        if batch.processed:
            assert batch.last is not None and (after is None or batch.last > after)
        seen.append(batch.processed)
        changed += [(r.resource_type, r.id, r.version, r.changed) for r in batch.changed]
        after = batch.last
        if batch.done:
            break
    assert sum(seen) == 6  # p4 is deleted: not read
    assert [c[:2] for c in changed] == [("Group", "g1"), ("Group", "g2"), ("Patient", "p1"),
                                        ("Patient", "p2"), ("Patient", "p5")]  # fmt: skip
    assert all(c[3] == ("nick",) for c in changed)
    assert after == ("Patient", "p5")
    assert await found(store, "Patient", "nick") == ["p1", "p2", "p5"]
    assert await found(store, "Group", "famg2") == ["g2"]


async def test_reindex_makes_no_version_no_history_and_keeps_last_updated(store: Store) -> None:
    await seed(store)
    before = await store.read("Patient", "p1")
    batch = await store.reindex_batch(["Patient"], None, 500, nick_index)
    assert batch.done and batch.processed == 4 and batch.skipped == 0
    after = await store.read("Patient", "p1")
    assert before is not None and after is not None
    assert (after.version, after.last_updated, after.last_updated_us, after.body) == (
        before.version,
        before.last_updated,
        before.last_updated_us,
        before.body,
    )
    history = await store.history(HistoryRequest("Patient", "p1"))
    assert [v.version for v in history.items] == [1]


async def test_running_it_again_is_harmless(store: Store) -> None:
    await seed(store)
    first = await store.reindex_batch(["Patient"], None, 500, nick_index)
    second = await store.reindex_batch(["Patient"], None, 500, nick_index)
    assert len(first.changed) == 3 and second.changed == [] and second.processed == first.processed
    assert await found(store, "Patient", "nick") == ["p1", "p2", "p5"]


async def test_entries_of_a_parameter_no_longer_extracted_are_removed(store: Store) -> None:
    old = {"old": [TokenEntry("urn:s", "x")]}
    await write(store, make_op("Patient", "q1", 1, index=old, body=body("Patient", "q1", 1, None)))
    query = SearchQuery(
        resource_types=("Patient",),
        criteria=(Clause(ParamRef("old", "token"), None, (TokenValue("urn:s", "x"),)),),
    )
    assert [v.id for v in (await store.search(query)).items] == ["q1"]
    batch = await store.reindex_batch(["Patient"], None, 10, lambda r: {})
    assert [(r.id, r.changed) for r in batch.changed] == [("q1", ("old",))]
    assert (await store.search(query)).items == []


async def test_one_resource_by_id(store: Store) -> None:
    await seed(store)
    batch = await store.reindex_batch(["Patient"], None, 1, nick_index, id="p2")
    assert batch.done and batch.processed == 1 and [r.id for r in batch.changed] == ["p2"]
    assert await found(store, "Patient", "nick") == ["p2"]
    gone = await store.reindex_batch(["Patient"], None, 1, nick_index, id="p4")  # deleted
    assert gone.processed == 0 and gone.done


async def test_a_concurrent_write_wins(store: Store) -> None:
    """p2 is updated between the batch's read and its write: the update's entries stay."""
    await seed(store)
    loop = asyncio.get_running_loop()
    newer = make_op(
        "Patient",
        "p2",
        2,
        us=T0 + 50_000_000,
        index={"nick": [StringEntry("renamed", "Renamed")]},
        body=body("Patient", "p2", 2, "Renamed"),
    )

    def racing_extract(resource: dict[str, Any]) -> IndexEntries:
        if resource["id"] == "p2":  # runs off the event loop: write through it meanwhile
            asyncio.run_coroutine_threadsafe(write(store, newer), loop).result(timeout=10)
        return nick_index(resource)

    batch = await store.reindex_batch(["Patient"], None, 10, racing_extract)
    assert batch.skipped == 1 and "p2" not in [r.id for r in batch.changed]
    current = await store.read("Patient", "p2")
    assert current is not None and current.version == 2
    assert await found(store, "Patient", "renamed") == ["p2"]
    assert await found(store, "Patient", "nick2") == []
    assert await found(store, "Patient", "nick") == ["p1", "p5"]


async def test_server_state_keys_values_and_prefixes(store: Store) -> None:
    assert await store.read_state("reindex-job/a") is None
    await store.write_state("reindex-job/a", '{"status": "running"}')
    await store.write_state("reindex-job/b", "2")
    await store.write_state("reindex-pending/Patient/nick", "3")
    assert await store.read_state("reindex-job/a") == '{"status": "running"}'
    await store.write_state("reindex-job/a", "replaced")
    assert await store.list_state("reindex-job/") == {"reindex-job/a": "replaced", "reindex-job/b": "2"}
    await store.write_state("reindex-job/b", None)
    assert await store.list_state("reindex-job/") == {"reindex-job/a": "replaced"}
    assert await store.list_state("reindex-") == {
        "reindex-job/a": "replaced",
        "reindex-pending/Patient/nick": "3",
    }
    assert await store.list_state("nothing/") == {}
