"""Contract: ``_total`` (search.html#total). ``none`` (the default) never counts;
``accurate`` is exact; ``estimate`` is exact up to ``ESTIMATE_BOUND`` and above it the
bound, flagged ``total_capped`` ("at least"); MongoDB may answer a search without type
or criteria from the collection's metadata count."""

from __future__ import annotations

from dataclasses import replace

import pytest

from fhir_server.search.index import StringEntry
from fhir_server.search.ir import Clause, ParamRef, SearchQuery, StringValue
from fhir_server.storage.mongo import store as mongo_store
from fhir_server.storage.protocol import Store
from fhir_server.storage.sqlite import store as sqlite_store

from .test_crud import T0, make_op, write
from .test_search import S

NAME_A = Clause(ParamRef("name", "string"), None, (StringValue("a", "a"),))


@pytest.fixture
async def seven(store: Store) -> Store:
    for n in range(7):
        index = {"name": [StringEntry("a" if n % 2 else "b", "A")]}
        await write(store, make_op("Patient", f"t{n}", 1, expected=0, index=index, us=T0 + n * S))
    await write(store, make_op("Group", "g1", 1, expected=0, us=T0))
    return store


async def test_total_none_is_the_default_and_not_counted(seven: Store) -> None:
    page = await seven.search(SearchQuery(("Patient",), count=2))
    assert page.total is None and not page.total_capped


@pytest.mark.parametrize("total", ["accurate", "estimate"])
async def test_small_totals_are_exact(seven: Store, total: str) -> None:
    q = SearchQuery(("Patient",), count=2, total=total)  # type: ignore[arg-type]
    page = await seven.search(q)
    assert page.total == 7 and not page.total_capped
    q = replace(q, criteria=(NAME_A,))
    page = await seven.search(q)
    assert page.total == 3 and not page.total_capped
    page = await seven.search(replace(q, cursor=page.next_cursor))
    assert page.total == 3


async def test_estimate_stops_counting_at_the_bound(seven: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sqlite_store, "ESTIMATE_BOUND", 4)
    monkeypatch.setattr(mongo_store, "ESTIMATE_BOUND", 4)
    page = await seven.search(SearchQuery(("Patient",), count=2, total="estimate"))
    assert page.total == 4 and page.total_capped and len(page.items) == 2
    page = await seven.search(SearchQuery(("Patient",), (NAME_A,), count=2, total="estimate"))
    assert page.total == 3 and not page.total_capped
    exact = await seven.search(SearchQuery(("Patient",), count=2, total="accurate"))
    assert exact.total == 7 and not exact.total_capped


async def test_estimate_without_type_or_criteria(seven: Store) -> None:
    page = await seven.search(SearchQuery((), count=1, total="estimate"))
    assert page.total is not None and page.total >= 8
