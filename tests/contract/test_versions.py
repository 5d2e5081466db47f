"""Contract: versions and optimistic concurrency (http.html#versioning, #concurrency, #delete).

``expected_version`` is the current version number, tombstones included; 0 only when
the resource never existed. A stale expectation raises ``VersionConflict``.
"""

from __future__ import annotations

import asyncio
import json

import pytest

from fhir_server.storage.protocol import Store, VersionConflict, WriteOp

from .test_crud import make_op, summary, write


async def test_stale_expected_version_conflicts_and_changes_nothing(store: Store) -> None:
    await write(store, make_op("Patient", "p1", 1, expected=0))
    await write(store, make_op("Patient", "p1", 2, expected=1))

    with pytest.raises(VersionConflict) as info:
        await write(store, make_op("Patient", "p1", 2, expected=1))
    assert (info.value.resource_type, info.value.id) == ("Patient", "p1")
    assert (info.value.expected, info.value.actual) == (1, 2)
    assert summary(await store.read("Patient", "p1")) == ("Patient", "p1", 2, False)


async def test_create_over_an_existing_resource_conflicts(store: Store) -> None:
    first = make_op("Patient", "p1", 1, expected=0)
    await write(store, first)
    with pytest.raises(VersionConflict) as info:
        await write(store, make_op("Patient", "p1", 1, expected=0, us=first.last_updated_us + 5))
    assert info.value.actual == 1
    got = await store.read("Patient", "p1")
    assert got is not None and got.last_updated_us == first.last_updated_us


async def test_update_of_a_resource_never_created_conflicts(store: Store) -> None:
    with pytest.raises(VersionConflict) as info:
        await write(store, make_op("Patient", "ghost", 4, expected=3))
    assert info.value.actual == 0
    assert await store.read("Patient", "ghost") is None
    assert await store.vread("Patient", "ghost", 4) is None


async def test_concurrent_writes_with_the_same_expected_version_exactly_one_wins(store: Store) -> None:
    await write(store, make_op("Patient", "p1", 1, expected=0))
    ops = [
        make_op("Patient", "p1", 2, expected=1, us=2_000_000_000_000_000 + n, body=f'{{"n":{n}}}'.encode())
        for n in range(5)
    ]
    results = await asyncio.gather(*(write(store, op) for op in ops), return_exceptions=True)

    winners = [op for op, r in zip(ops, results, strict=True) if r is None]
    losers = [r for r in results if r is not None]
    assert len(winners) == 1
    assert all(isinstance(r, VersionConflict) for r in losers), losers
    current = await store.read("Patient", "p1")
    assert current is not None and current.version == 2 and current.body == winners[0].body
    v2 = await store.vread("Patient", "p1", 2)
    assert v2 is not None and v2.body == winners[0].body


async def test_concurrent_creates_exactly_one_wins(store: Store) -> None:
    ops = [make_op("Patient", "new", 1, expected=0, body=f'{{"n":{n}}}'.encode()) for n in range(4)]
    results = await asyncio.gather(*(write(store, op) for op in ops), return_exceptions=True)
    assert sum(r is None for r in results) == 1
    assert all(isinstance(r, VersionConflict) for r in results if r is not None)


async def test_delete_leaves_a_tombstone_and_the_old_versions(store: Store) -> None:
    await write(store, make_op("Patient", "p1", 1, expected=0))
    await write(store, make_op("Patient", "p1", 2, expected=1))
    await write(store, make_op("Patient", "p1", 3, expected=2, method="DELETE"))

    tomb = await store.read("Patient", "p1")
    assert tomb is not None
    assert (tomb.version, tomb.deleted, tomb.body) == (3, True, b"")
    v3 = await store.vread("Patient", "p1", 3)
    assert v3 is not None and v3.deleted and v3.body == b"" and v3.method == "DELETE"
    for v in (1, 2):
        old = await store.vread("Patient", "p1", v)
        assert old is not None and not old.deleted
        assert json.loads(old.body)["meta"]["versionId"] == str(v)


async def test_recreate_after_delete_expects_the_tombstone_version(store: Store) -> None:
    await write(store, make_op("Patient", "p1", 1, expected=0))
    await write(store, make_op("Patient", "p1", 2, expected=1, method="DELETE"))

    with pytest.raises(VersionConflict) as info:  # 0 means "never existed": not the case
        await write(store, make_op("Patient", "p1", 1, expected=0))
    assert info.value.actual == 2

    await write(store, make_op("Patient", "p1", 3, expected=2))
    again = await store.read("Patient", "p1")
    assert again is not None and (again.version, again.deleted) == (3, False)
    assert json.loads(again.body)["meta"]["versionId"] == "3"
    v2 = await store.vread("Patient", "p1", 2)
    assert v2 is not None and v2.deleted


async def test_a_failed_write_leaves_no_trace_in_history(store: Store) -> None:
    from fhir_server.storage.protocol import HistoryRequest

    await write(store, make_op("Patient", "p1", 1, expected=0))
    bad: WriteOp = make_op("Patient", "p1", 3, expected=2)
    with pytest.raises(VersionConflict):
        await write(store, bad)
    assert await store.vread("Patient", "p1", 3) is None
    page = await store.history(HistoryRequest("Patient", "p1"))
    assert [v.version for v in page.items] == [1]
    system = await store.history(HistoryRequest())
    assert [(v.id, v.version) for v in system.items] == [("p1", 1)]
