"""Contract: search order, keyset paging and totals (search.html#sort, #count, #total).

The order is the reference matcher's (``search/matcher.py``): per key the smallest value
ascending and the largest descending (dates: earliest start / latest end); resources
without a value last in both directions; ties and the default order by id, then type.
Pages follow opaque cursors without duplicates or gaps.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Literal

import pytest

from fhir_server.errors import InvalidError
from fhir_server.search.index import DateEntry, Entry, StringEntry, TokenEntry
from fhir_server.search.ir import Clause, ParamRef, ParamType, SearchQuery, SortKey, StringValue
from fhir_server.storage.protocol import Store

from .test_crud import T0, make_op, write
from .test_search import S, day

GENDER = "http://hl7.org/fhir/administrative-gender"


def names(*values: str) -> list[Entry]:
    return [StringEntry(v, v.upper()) for v in values]


@pytest.fixture
async def people(store: Store) -> Store:
    data: dict[str, dict[str, list[Entry]]] = {
        "so1": {
            "name": names("b"),
            "birthdate": [day(2000, 1, 1), day(2003, 1, 1)],
            "gender": [TokenEntry(GENDER, "female")],
        },
        "so2": {"name": names("a"), "birthdate": [day(2001, 1, 1)], "gender": [TokenEntry(GENDER, "male")]},
        "so3": {
            "name": names("c"),
            "birthdate": [DateEntry(day(2002, 6, 1).lo, day(2002, 6, 1).hi)],
            "gender": [TokenEntry(GENDER, "female")],
        },
        "so4": {},
        "so5": {"name": names("d", "a0"), "gender": [TokenEntry(GENDER, "male")]},
        "so6": {"name": names("t")},
        "so7": {"name": names("t")},
    }
    for n, (id, index) in enumerate(data.items(), start=1):
        await write(store, make_op("Patient", id, 1, expected=0, index=index, us=T0 + n * S))
    gone = make_op("Patient", "so0", 1, expected=0, index={"name": names("0")}, us=T0)
    await write(store, gone)
    await write(store, make_op("Patient", "so0", 2, expected=1, method="DELETE", us=T0 + 10 * S))
    return store


def key(param: str, ptype: ParamType | Literal["_id", "_lastUpdated"], descending: bool = False) -> SortKey:
    return SortKey(param, ptype, descending)


async def all_pages(store: Store, query: SearchQuery) -> list[str]:
    seen: list[str] = []
    page = await store.search(query)
    for _ in range(100):
        assert len(page.items) <= query.count
        seen += [v.id for v in page.items]
        if page.next_cursor is None:
            return seen
        assert page.items
        page = await store.search(replace(query, cursor=page.next_cursor))
    raise AssertionError("paging did not end")


ORDERS: list[tuple[tuple[SortKey, ...], list[str]]] = [
    ((), ["so1", "so2", "so3", "so4", "so5", "so6", "so7"]),
    ((key("_id", "_id", True),), ["so7", "so6", "so5", "so4", "so3", "so2", "so1"]),
    ((key("_lastUpdated", "_lastUpdated", True),), ["so7", "so6", "so5", "so4", "so3", "so2", "so1"]),
    ((key("name", "string"),), ["so2", "so5", "so1", "so3", "so6", "so7", "so4"]),  # smallest value
    ((key("name", "string", True),), ["so6", "so7", "so5", "so3", "so1", "so2", "so4"]),  # largest value
    ((key("birthdate", "date"),), ["so1", "so2", "so3", "so4", "so5", "so6", "so7"]),  # earliest start
    ((key("birthdate", "date", True),), ["so1", "so3", "so2", "so4", "so5", "so6", "so7"]),  # latest end
    ((key("gender", "token"), key("_id", "_id", True)), ["so3", "so1", "so5", "so2", "so7", "so6", "so4"]),
    (
        (key("gender", "token", True), key("name", "string")),
        ["so2", "so5", "so1", "so3", "so6", "so7", "so4"],
    ),
]


@pytest.mark.parametrize(("sort", "expected"), ORDERS)
@pytest.mark.parametrize("count", [1, 2, 3, 50])
async def test_sort_orders_and_pages(
    people: Store, sort: tuple[SortKey, ...], expected: list[str], count: int
) -> None:
    query = SearchQuery(("Patient",), sort=sort, count=count)
    assert await all_pages(people, query) == expected


async def test_sort_with_criteria(people: Store) -> None:
    t = Clause(ParamRef("name", "string"), None, (StringValue("t", "t"),))
    query = SearchQuery(("Patient",), (t,), sort=(key("_lastUpdated", "_lastUpdated", True),), count=1)
    assert await all_pages(people, query) == ["so7", "so6"]


async def test_accurate_total_on_every_page(people: Store) -> None:
    query = SearchQuery(("Patient",), sort=(key("name", "string"),), count=3, total="accurate")
    page = await people.search(query)
    assert page.total == 7 and len(page.items) == 3 and page.next_cursor
    page = await people.search(replace(query, cursor=page.next_cursor))
    assert page.total == 7 and len(page.items) == 3
    page = await people.search(replace(query, cursor=page.next_cursor))
    assert page.total == 7 and [v.id for v in page.items] == ["so4"] and page.next_cursor is None


async def test_count_zero_gives_only_the_total(people: Store) -> None:
    page = await people.search(SearchQuery(("Patient",), count=0, total="accurate"))
    assert page.items == [] and page.next_cursor is None and page.total == 7


async def test_system_search_pages_through_every_type_once(store: Store) -> None:
    """FHIR defines no default order; each backend keeps its own (SQLite: insertion order,
    which its indexes give without sorting; MongoDB: id then type), stable across pages."""
    for n, (rt, id) in enumerate((("Patient", "x"), ("Group", "x"), ("Group", "a"), ("Patient", "b"))):
        await write(store, make_op(rt, id, 1, expected=0, us=T0 + n * S))
    query = SearchQuery(("Patient", "Group"), count=1)
    seen: list[tuple[str, str]] = []
    page = await store.search(query)
    while True:
        seen += [(v.resource_type, v.id) for v in page.items]
        if page.next_cursor is None:
            break
        page = await store.search(replace(query, cursor=page.next_cursor))
    assert sorted(seen) == [("Group", "a"), ("Group", "x"), ("Patient", "b"), ("Patient", "x")]
    assert len(set(seen)) == 4
    newest = SearchQuery(("Patient", "Group"), sort=(key("_lastUpdated", "_lastUpdated", True),), count=2)
    assert await all_pages(store, newest) == ["b", "a", "x", "x"]


async def test_a_malformed_cursor_is_invalid(people: Store) -> None:
    with pytest.raises(InvalidError):
        await people.search(SearchQuery(("Patient",), count=2, cursor="%%%not-a-cursor"))


async def test_later_pages_neither_repeat_nor_skip_after_concurrent_writes(people: Store) -> None:
    query = SearchQuery(("Patient",), sort=(key("name", "string"),), count=3)
    first = await people.search(query)
    assert [v.id for v in first.items] == ["so2", "so5", "so1"] and first.next_cursor
    # a new resource sorting before the cursor, and one after it
    await write(people, make_op("Patient", "so00", 1, expected=0, index={"name": names("a")}, us=T0 + 20 * S))
    await write(people, make_op("Patient", "so8", 1, expected=0, index={"name": names("s")}, us=T0 + 21 * S))
    rest = await all_pages(people, replace(query, cursor=first.next_cursor))
    assert rest == ["so3", "so8", "so6", "so7", "so4"]
