"""The MongoDB index plan serves the hot searches (issue: "Indexes on both backends chosen
from the real query shapes").

mongomock has no query planner, so these tests read the compiled filter and sort the way
MongoDB's planner bounds an index: equality on a key prefix (``type``, then inside one
``$elemMatch`` the parameter ``p`` and a value), then a range or the sort's own key order.
``tests/contract/test_mongo_explain.py`` asks a real server's ``explain()`` the same
questions when ``FHIR_TEST_MONGODB_URI`` is set.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from fhir_server.search.parser import parse_search
from fhir_server.search.registry import SearchRegistry
from fhir_server.storage.mongo.paging import mongo_sort, sort_fields
from fhir_server.storage.mongo.schema import INDEX_PLAN, RESOURCES, IndexSpec
from fhir_server.storage.mongo.store import MongoStore

REGISTRY = SearchRegistry.from_definitions()
PLAN = INDEX_PLAN[RESOURCES]


@pytest.fixture
async def store() -> AsyncIterator[MongoStore]:
    from mongomock_motor import AsyncMongoMockClient

    s = MongoStore.from_client(AsyncMongoMockClient(), database="plan")
    await s.start()
    yield s
    await s.close()


def bounded_fields(filt: dict[str, Any]) -> tuple[set[str], set[str]]:
    """(fields with an equality, fields with a range) the filter puts on every match."""
    equal: set[str] = set()
    ranged: set[str] = set()
    for key, cond in filt.items():
        if key == "$and":
            for part in cond:
                e, r = bounded_fields(part)
                equal |= e
                ranged |= r
        elif key == "$or":  # a range when every branch bounds the same field
            fields = {f for branch in cond for f in branch}
            if len(fields) == 1:
                ranged |= fields
        elif key.startswith("$"):
            continue
        elif isinstance(cond, dict) and "$elemMatch" in cond:
            for sub, v in cond["$elemMatch"].items():
                if sub == "$or":  # each branch bounds its own field: a range for the planner
                    ranged |= {f"{key}.{f}" for branch in v for f in branch}
                elif isinstance(v, dict) and any(op in v for op in ("$gt", "$gte", "$lt", "$lte")):
                    ranged.add(f"{key}.{sub}")
                else:
                    equal.add(f"{key}.{sub}")
        elif isinstance(cond, dict) and any(op in cond for op in ("$gt", "$gte", "$lt", "$lte", "$in")):
            ranged.add(key)
        else:
            equal.add(key)
    return equal, ranged


def serving(spec: IndexSpec, filt: dict[str, Any], sort: list[tuple[str, int]]) -> int:
    """How many leading keys of ``spec`` bound the search (0: the index is no use), counting a
    sort that the rest of the index yields in order (or fully reversed) as bound too."""
    equal, ranged = bounded_fields(filt)
    keys = list(spec.keys)
    n = 0
    while n < len(keys) and keys[n][0] in equal:
        n += 1
    if n < len(keys) and keys[n][0] in ranged:
        return n + 1
    rest = keys[n : n + len(sort)]
    if sort and (rest == sort or rest == [(f, -d) for f, d in sort]):
        return n + len(sort)
    return n


async def best_index(store: MongoStore, rtype: str, params: list[tuple[str, str]]) -> tuple[str, int]:
    query = parse_search((rtype,), params, REGISTRY, strict=True)
    filt = await store.compile_filter(query)
    sort = mongo_sort(sort_fields(query.sort, one_type=True)) if query.sort else []
    scored = sorted(((serving(s, filt, sort), s.name) for s in PLAN), reverse=True)
    return scored[0][1], scored[0][0]


async def test_token_lookup_is_served_by_the_token_index(store: MongoStore) -> None:
    name, depth = await best_index(store, "Patient", [("identifier", "https://openimis.org/fhir/nin|1")])
    assert (name, depth) == ("tok_code", 4)


async def test_coverage_by_beneficiary_and_status(store: MongoStore) -> None:
    name, depth = await best_index(store, "Coverage", [("beneficiary", "Patient/1"), ("status", "active")])
    assert name in ("ref_target", "tok_code") and depth >= 3


async def test_claims_of_a_patient_since_a_date(store: MongoStore) -> None:
    name, depth = await best_index(store, "Claim", [("patient", "Patient/1"), ("created", "ge2025-01-01")])
    assert name == "ref_target" and depth == 3


async def test_last_updated_range(store: MongoStore) -> None:
    name, depth = await best_index(store, "Claim", [("_lastUpdated", "ge2025-01-01")])
    assert (name, depth) == ("type_lastupdated", 2)


@pytest.mark.parametrize("direction", ["", "-"])
async def test_sorted_claims_are_read_from_a_sort_index(store: MongoStore, direction: str) -> None:
    name, depth = await best_index(store, "Claim", [("_sort", f"{direction}created")])
    assert name == f"sort_created_{'desc' if direction else 'asc'}" and depth == 4


async def test_revinclude_fetch_by_target(store: MongoStore) -> None:
    """``reverse_references``: sources of one type pointing at a page of targets."""
    filt = {
        "type": "Coverage",
        "deleted": False,
        "ref": {"$elemMatch": {"p": "beneficiary", "r": {"$in": []}}},
    }
    scored = sorted(((serving(s, filt, []), s.name) for s in PLAN), reverse=True)
    assert scored[0] == (3, "ref_target")


def test_every_planned_index_is_distinct() -> None:
    keys = [s.keys for s in PLAN]
    assert len(keys) == len(set(keys))
