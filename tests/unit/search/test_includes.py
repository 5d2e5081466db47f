"""search/includes.py: the store calls per page (search.html#include: one batched fetch per
round, one reverse lookup per _revinclude), deduplication, the cap and the depth limit."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from fhir_server.search.includes import IncludeLimits, include_resources
from fhir_server.search.index import ReferenceEntry
from fhir_server.search.ir import Include
from fhir_server.storage.protocol import StoredVersion
from fhir_server.storage.sqlite.store import SQLiteStore
from tests.contract.test_crud import make_op, write


class Counting:
    """Counts the store calls the include code makes; delegates everything."""

    def __init__(self, store: SQLiteStore) -> None:
        self.store = store
        self.calls: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        self.calls[name] += 1
        return getattr(self.store, name)


def ref(target: str) -> list[ReferenceEntry]:
    return [ReferenceEntry(target, target.split("/")[0])]


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SQLiteStore]:
    s = SQLiteStore(tmp_path / "inc.db")
    await s.start()
    for rt, id, index in (
        ("Patient", "p1", {}),
        ("Patient", "p2", {}),
        ("Organization", "o1", {}),
        ("Claim", "c1", {"patient": ref("Patient/p1"), "provider": ref("Organization/o1")}),
        ("Claim", "c2", {"patient": ref("Patient/p1"), "provider": ref("Organization/o1")}),
        ("Claim", "c3", {"patient": ref("Patient/p2"), "provider": ref("Organization/gone")}),
        ("ClaimResponse", "r1", {"request": ref("Claim/c1")}),
        ("Provenance", "v1", {"target": ref("Claim/c1")}),
        ("Provenance", "v2", {"target": ref("Claim/c2")}),
    ):
        await write(s, make_op(rt, id, 1, expected=0, index=dict(index)))
    try:
        yield s
    finally:
        await s.close()


async def page(store: SQLiteStore, rt: str, *ids: str) -> list[StoredVersion]:
    return await store.read_many([(rt, i) for i in ids])


def names(versions: Sequence[StoredVersion]) -> list[str]:
    return sorted(f"{v.resource_type}/{v.id}" for v in versions)


async def test_one_references_and_one_read_many_per_round_one_reverse_per_revinclude(
    store: SQLiteStore,
) -> None:
    counting = Counting(store)
    includes = [
        Include("Claim", "patient"),
        Include("Claim", "provider"),
        Include("Provenance", "target", reverse=True),
    ]
    matches = await page(store, "Claim", "c1", "c2", "c3")
    found = await include_resources(counting, matches, includes, IncludeLimits())  # type: ignore[arg-type]
    assert names(found.resources) == [
        "Organization/o1",
        "Patient/p1",
        "Patient/p2",
        "Provenance/v1",
        "Provenance/v2",
    ]
    assert counting.calls == {"references_of": 1, "read_many": 1, "reverse_references": 1}
    assert found.issues == []


async def test_iterate_rounds_and_depth_limit(store: SQLiteStore) -> None:
    includes = [Include("ClaimResponse", "request"), Include("Claim", "patient", iterate=True)]
    matches = await page(store, "ClaimResponse", "r1")
    found = await include_resources(store, matches, includes, IncludeLimits(max_depth=3))
    assert names(found.resources) == ["Claim/c1", "Patient/p1"] and found.issues == []
    found = await include_resources(store, matches, includes, IncludeLimits(max_depth=1))
    assert names(found.resources) == ["Claim/c1"]
    assert [(i.severity, i.code) for i in found.issues] == [("information", "too-costly")]


async def test_cap_is_reported_and_matches_are_not_counted(store: SQLiteStore) -> None:
    matches = await page(store, "Claim", "c1", "c2", "c3")
    found = await include_resources(store, matches, [Include("Claim", "*")], IncludeLimits(max_includes=2))
    assert len(found.resources) == 2
    assert [(i.severity, i.code) for i in found.issues] == [("warning", "too-costly")]
    patients = await page(store, "Patient", "p1")
    rev = [Include("Claim", "patient", reverse=True)]
    found = await include_resources(store, patients, rev, IncludeLimits(max_includes=2))
    assert names(found.resources) == ["Claim/c1", "Claim/c2"] and found.issues == []
    found = await include_resources(store, patients, rev, IncludeLimits(max_includes=1))
    assert len(found.resources) == 1 and [i.code for i in found.issues] == ["too-costly"]
