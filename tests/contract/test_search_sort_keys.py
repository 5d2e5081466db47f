"""Contract: ``_sort`` on several keys of every sortable type, both directions, paged.

Each backend's order is compared with the reference matcher's ``sort_records`` on the
sort values: the sequence of per-resource sort-value tuples must be the matcher's (ties
may be broken differently per backend, FHIR defines no order among them), and paging
with any page size yields every match exactly once.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from fhir_server.search.index import (
    Entry,
    IndexEntries,
    NumberEntry,
    QuantityEntry,
    ReferenceEntry,
    StringEntry,
    TokenEntry,
    UriEntry,
)
from fhir_server.search.ir import ParamType, SearchQuery, SortKey
from fhir_server.search.matcher import Record, _sort_value, sort_records
from fhir_server.storage.protocol import Store

from .test_crud import T0, make_op, write
from .test_search import S, day

UCUM = "http://unitsofmeasure.org"


def _entries(n: int) -> IndexEntries:
    """A deterministic spread of values, with ties and missing values for every type."""
    out: dict[str, list[Entry]] = {}
    if n % 5:
        out["status"] = [TokenEntry("http://s", ["final", "amended", "preliminary"][n % 3])]
    if n % 4:
        names = ["b", "a", "c", "b"][: 1 + n % 3]
        out["name"] = [StringEntry(f"{v}{n % 2}", f"{v}{n % 2}".upper()) for v in names]
    if n % 6:
        out["created"] = [day(2000 + n % 4, 1 + n % 3, 1)]
        if n % 3 == 0:
            out["created"].append(day(2010, 5, 5))
    if n % 7:
        out["amount"] = [NumberEntry(float(n % 5), n % 5 - 0.5, n % 5 + 0.5)]
    if n % 3:
        out["value"] = [QuantityEntry(1.5 * (n % 4), 0.0, 9.0, UCUM, "mg", "mg")]
    if n % 2:
        out["subject"] = [ReferenceEntry(f"Patient/p{n % 4}", "Patient")]
    if n % 4 != 1:
        out["url"] = [UriEntry(f"http://u/{n % 3}")]
    return out


N = 23
TYPES: dict[str, ParamType] = {
    "status": "token",
    "name": "string",
    "created": "date",
    "amount": "number",
    "value": "quantity",
    "subject": "reference",
    "url": "uri",
}


@pytest.fixture
async def corpus(store: Store) -> tuple[Store, list[Record]]:
    records: list[Record] = []
    order = [(n * 7) % N for n in range(N)]  # insertion order differs from id order
    for i, n in enumerate(order):
        id, us, index = f"r{n:02d}", T0 + i * S, _entries(n)
        await write(store, make_op("Observation", id, 1, expected=0, index=index, us=us))
        records.append(("Observation", id, us, index))
    return store, records


def k(spec: str) -> SortKey:
    desc = spec.startswith("-")
    code = spec.lstrip("-")
    if code in ("_id", "_lastUpdated"):
        return SortKey(code, code, desc)  # type: ignore[arg-type]
    return SortKey(code, TYPES[code], desc)


SORTS = [
    "status,-created",
    "-status,created",
    "name,-amount",
    "-name,value",
    "created,name",
    "-created,-name",
    "amount,-value,status",
    "-amount,_lastUpdated",
    "value,-subject",
    "subject,url,-name",
    "-subject,-url",
    "url,-_lastUpdated",
    "-url,status,name",
    "status,_id",
]


async def _pages(store: Store, query: SearchQuery) -> list[str]:
    seen: list[str] = []
    page = await store.search(query)
    for _ in range(200):
        seen += [v.id for v in page.items]
        if page.next_cursor is None:
            return seen
        page = await store.search(replace(query, cursor=page.next_cursor))
    raise AssertionError("paging did not end")


@pytest.mark.parametrize("spec", SORTS)
@pytest.mark.parametrize("count", [1, 4, 50])
async def test_multi_key_sort_matches_the_matcher(
    corpus: tuple[Store, list[Record]], spec: str, count: int
) -> None:
    store, records = corpus
    keys = tuple(k(s) for s in spec.split(","))
    got = await _pages(store, SearchQuery(("Observation",), sort=keys, count=count))
    assert len(got) == len(set(got)) == N
    by_id = {r[1]: r for r in records}

    def values(ids: list[str]) -> list[tuple[Any, ...]]:
        return [tuple(_sort_value(by_id[i], key) for key in keys) for i in ids]

    expected = [r[1] for r in sort_records(records, keys)]
    assert values(got) == values(expected)


async def test_ties_are_broken_the_same_way_on_every_page_size(corpus: tuple[Store, list[Record]]) -> None:
    store, _ = corpus
    keys = (k("status"),)
    whole = await _pages(store, SearchQuery(("Observation",), sort=keys, count=50))
    for count in (1, 2, 3, 5):
        assert await _pages(store, SearchQuery(("Observation",), sort=keys, count=count)) == whole
