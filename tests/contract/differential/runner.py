"""Running one case on a backend (following every page) and on the reference matcher."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from fhir_server.search import matcher
from fhir_server.search.index import Entry
from fhir_server.search.ir import SearchQuery, SortKey
from fhir_server.search.parser import parse_search
from fhir_server.search.types import date as date_t
from fhir_server.search.types import number as number_t
from fhir_server.search.types import quantity as quantity_t
from fhir_server.search.types import reference as reference_t
from fhir_server.search.types import string as string_t
from fhir_server.search.types import token as token_t
from fhir_server.search.types import uri as uri_t
from fhir_server.storage.protocol import Store

from ..conftest import make_store
from .case import Case
from .corpus import BASE_URL, Item, current, registry, writes

Key = tuple[str, str]
_SORT_KEYS: dict[str, Callable[[list[Entry], bool], Any]] = {
    "string": string_t.sort_key,
    "token": token_t.sort_key,
    "date": date_t.sort_key,
    "number": number_t.sort_key,
    "quantity": quantity_t.sort_key,
    "reference": reference_t.sort_key,
    "uri": uri_t.sort_key,
}


@dataclass
class Outcome:
    keys: list[Key]  # in the order served, all pages
    pages: int
    total: int | None  # Page.total of the first page


@dataclass
class Loaded:
    """A backend holding the corpus, driven by its own event loop (tests stay synchronous)."""

    kind: str
    store: Store
    loop: asyncio.AbstractEventLoop
    items: Sequence[Item]

    @classmethod
    def start(cls, kind: str, tmp: Path, items: Sequence[Item]) -> Loaded:
        loop = asyncio.new_event_loop()
        store = loop.run_until_complete(make_store(kind, tmp))
        loop.run_until_complete(store.start())
        loaded = cls(kind, store, loop, items)
        loop.run_until_complete(loaded._load())
        return loaded

    async def _load(self) -> None:
        for op in writes(tuple(self.items)):
            async with self.store.transaction() as tx:
                await tx.write(op)

    def close(self) -> None:
        self.loop.run_until_complete(self.store.close())
        self.loop.close()

    def search(self, query: SearchQuery) -> Outcome:
        return self.loop.run_until_complete(self._search(query))

    async def _search(self, query: SearchQuery) -> Outcome:
        page = await self.store.search(query)
        total = page.total
        keys: list[Key] = []
        pages = 1
        while True:
            assert len(page.items) <= query.count, f"page of {len(page.items)} > _count={query.count}"
            keys += [(v.resource_type, v.id) for v in page.items]
            if page.next_cursor is None:
                return Outcome(keys, pages, total)
            assert page.items, "an empty page with a next cursor"
            assert pages <= len(self.items), "paging does not end"
            page = await self.store.search(replace(query, cursor=page.next_cursor))
            pages += 1


def parse(case: Case) -> SearchQuery:
    params = [*case.params, ("_count", str(case.count))]
    types = (case.rtype,) if case.rtype else ()
    return parse_search(types, params, registry(), strict=True, base_url=BASE_URL)


def expected(query: SearchQuery, items: Sequence[Item]) -> list[Key]:
    records = [it.record for it in current(tuple(items))]
    return matcher.search(query, records, now_us=int(time.time() * 1_000_000))


def sort_values(keys: Sequence[Key], sort: Sequence[SortKey], items: Sequence[Item]) -> list[tuple[Any, ...]]:
    """Per resource, its value for each sort key as the matcher orders by (ties may come in
    any order, so two orders agree when these sequences are equal)."""
    by_key = {(it.type, it.id): it for it in items}
    out: list[tuple[Any, ...]] = []
    for k in keys:
        it = by_key[k]
        row: list[Any] = []
        for sk in sort:
            if sk.type == "_id":
                row.append(it.id)
            elif sk.type == "_lastUpdated":
                row.append(it.last_updated_us)
            else:
                row.append(_SORT_KEYS[sk.type](list(it.index.get(sk.param, [])), sk.descending))
        out.append(tuple(row))
    return out


def check(loaded: Loaded, case: Case) -> None:
    """The backend and the matcher agree on ``case`` (see ``test_matcher_differential.py``)."""
    query = parse(case)
    want = expected(query, loaded.items)
    got = loaded.search(query)
    kind = loaded.kind
    assert len(got.keys) == len(set(got.keys)), f"{kind} serves a resource twice across pages: {got.keys}"
    extra = sorted(set(got.keys) - set(want))
    lacking = sorted(set(want) - set(got.keys))
    assert not extra and not lacking, (
        f"{kind} returns {extra} that the matcher does not; "
        f"the matcher returns {lacking} that {kind} does not"
    )
    if case.sort:
        got_order = sort_values(got.keys, query.sort, loaded.items)
        want_order = sort_values(want, query.sort, loaded.items)
        assert got_order == want_order, f"{kind} orders {got.keys}, the matcher {want}"
    if case.total:
        assert got.total == len(want), f"{kind} says _total={got.total}, the matcher finds {len(want)}"
