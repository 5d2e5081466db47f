"""Contract: history (http.html#history): instance, type and system level, newest first,
``_since`` (lastUpdated >= since), ``_at`` (per resource, the version current at that
instant), keyset paging with opaque cursors (no duplicates, no gaps).
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from fhir_server.errors import InvalidError
from fhir_server.storage.protocol import HistoryRequest, Page, Store

from .test_crud import T0, make_op, write

S = 1_000_000  # one second in microseconds


def keys(page: Page) -> list[tuple[str, str, int]]:
    return [(v.resource_type, v.id, v.version) for v in page.items]


async def scenario(store: Store) -> None:
    """a1@1 b1@2 a2@3 o1@4 b2(delete)@5 a3@6 (seconds after T0)."""
    await write(store, make_op("Patient", "a", 1, expected=0, us=T0 + 1 * S))
    await write(store, make_op("Patient", "b", 1, expected=0, us=T0 + 2 * S))
    await write(store, make_op("Patient", "a", 2, expected=1, us=T0 + 3 * S))
    await write(store, make_op("Observation", "o", 1, expected=0, us=T0 + 4 * S))
    await write(store, make_op("Patient", "b", 2, expected=1, us=T0 + 5 * S, method="DELETE"))
    await write(store, make_op("Patient", "a", 3, expected=2, us=T0 + 6 * S))


A1, B1, A2, O1, B2, A3 = (
    ("Patient", "a", 1),
    ("Patient", "b", 1),
    ("Patient", "a", 2),
    ("Observation", "o", 1),
    ("Patient", "b", 2),
    ("Patient", "a", 3),
)


async def test_instance_history_is_newest_first_with_tombstones(store: Store) -> None:
    await scenario(store)
    page = await store.history(HistoryRequest("Patient", "a"))
    assert keys(page) == [A3, A2, A1]
    assert page.next_cursor is None
    assert page.total in (None, 3)

    b = await store.history(HistoryRequest("Patient", "b"))
    assert keys(b) == [B2, B1]
    assert b.items[0].deleted and b.items[0].body == b"" and b.items[0].method == "DELETE"
    assert not b.items[1].deleted


async def test_history_of_an_unknown_resource_is_empty(store: Store) -> None:
    await scenario(store)
    page = await store.history(HistoryRequest("Patient", "nobody"))
    assert page.items == [] and page.next_cursor is None


async def test_type_and_system_history_are_newest_first(store: Store) -> None:
    await scenario(store)
    assert keys(await store.history(HistoryRequest("Patient"))) == [A3, B2, A2, B1, A1]
    assert keys(await store.history(HistoryRequest("Observation"))) == [O1]
    assert keys(await store.history(HistoryRequest("Practitioner"))) == []
    system = await store.history(HistoryRequest())
    assert keys(system) == [A3, B2, O1, A2, B1, A1]
    assert system.total in (None, 6)


async def test_since_keeps_versions_updated_at_or_after_the_instant(store: Store) -> None:
    await scenario(store)
    since = T0 + 3 * S
    assert keys(await store.history(HistoryRequest(since_us=since))) == [A3, B2, O1, A2]
    assert keys(await store.history(HistoryRequest("Patient", since_us=since))) == [A3, B2, A2]
    assert keys(await store.history(HistoryRequest("Patient", "a", since_us=since))) == [A3, A2]
    assert keys(await store.history(HistoryRequest(since_us=T0 + 7 * S))) == []


async def test_at_gives_each_resource_the_version_current_at_that_instant(store: Store) -> None:
    await scenario(store)
    at4 = T0 + 4 * S
    assert keys(await store.history(HistoryRequest("Patient", "a", at_us=at4))) == [A2]
    assert keys(await store.history(HistoryRequest("Patient", "a", at_us=T0 + 3 * S))) == [A2]
    assert keys(await store.history(HistoryRequest("Patient", "a", at_us=T0))) == []
    assert keys(await store.history(HistoryRequest("Patient", at_us=at4))) == [A2, B1]
    system_at = await store.history(HistoryRequest(at_us=at4, count=2))
    assert keys(system_at) == [O1, A2]
    assert system_at.total in (None, 3)
    assert system_at.next_cursor is not None
    rest = await store.history(HistoryRequest(at_us=at4, count=2, cursor=system_at.next_cursor))
    assert keys(rest) == [B1] and rest.next_cursor is None
    # b is a tombstone at 5.5: its delete is the version current then
    assert keys(await store.history(HistoryRequest("Patient", at_us=T0 + 5 * S + S // 2))) == [B2, A2]


async def page_through(store: Store, request: HistoryRequest) -> list[tuple[str, str, int]]:
    seen: list[tuple[str, str, int]] = []
    page = await store.history(request)
    for _ in range(1000):
        assert len(page.items) <= request.count
        seen += keys(page)
        if page.next_cursor is None:
            return seen
        assert page.items, "a cursor must not follow an empty page"
        page = await store.history(replace(request, cursor=page.next_cursor))
    raise AssertionError("paging did not end")


async def many_versions(store: Store, *, same_instant: bool = False) -> list[tuple[str, str, int]]:
    """23 versions over 5 resources of 2 types; optionally many sharing one instant."""
    written: list[tuple[str, str, int]] = []
    versions: dict[tuple[str, str], int] = {}
    for n in range(23):
        rt = "Patient" if n % 3 else "Observation"
        key = (rt, f"r{n % 5}")
        v = versions.get(key, 0) + 1
        versions[key] = v
        us = T0 + (n // 4 if same_instant else n) * S
        await write(store, make_op(rt, key[1], v, expected=v - 1, us=us))
        written.append((rt, key[1], v))
    return written


@pytest.mark.parametrize("count", [1, 5, 7])
async def test_paging_system_history_has_no_duplicates_or_gaps(store: Store, count: int) -> None:
    written = await many_versions(store)
    everything = keys(await store.history(HistoryRequest(count=1000)))
    assert everything == list(reversed(written))
    assert await page_through(store, HistoryRequest(count=count)) == everything


async def test_paging_with_equal_timestamps_is_still_exact(store: Store) -> None:
    written = await many_versions(store, same_instant=True)
    paged = await page_through(store, HistoryRequest(count=3))
    assert sorted(paged) == sorted(written) and len(set(paged)) == len(paged)
    stamps = [(await store.vread(*k)) for k in paged]
    lus = [v.last_updated_us for v in stamps if v is not None]
    assert lus == sorted(lus, reverse=True)


async def test_paging_type_and_instance_history(store: Store) -> None:
    written = await many_versions(store)
    patients = [k for k in reversed(written) if k[0] == "Patient"]
    assert await page_through(store, HistoryRequest("Patient", count=4)) == patients
    r1 = [k for k in reversed(written) if k[:2] == ("Patient", "r1")]
    assert await page_through(store, HistoryRequest("Patient", "r1", count=1)) == r1
    since = T0 + 10 * S
    recent = [k for n, k in enumerate(written) if n >= 10][::-1]
    assert await page_through(store, HistoryRequest(since_us=since, count=2)) == recent


async def test_a_malformed_cursor_is_invalid(store: Store) -> None:
    await scenario(store)
    with pytest.raises(InvalidError):
        await store.history(HistoryRequest(count=2, cursor="not-a-cursor!"))
