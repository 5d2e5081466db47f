"""Searches that stay flat as the data grows read pages from index ranges in order
(EXPLAIN QUERY PLAN), and the shape of each parameter's data they rely on is learnt from
the writes (``storage/sqlite/params.py``) and survives a restart and an upgrade.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from fhir_server.search.extract import Extractor
from fhir_server.search.parser import parse_search
from fhir_server.search.registry import SearchRegistry
from fhir_server.storage.protocol import WriteOp
from fhir_server.storage.sqlite import sort_scan
from fhir_server.storage.sqlite.search_sql import count_sql
from fhir_server.storage.sqlite.store import SQLiteStore

REGISTRY = SearchRegistry.from_definitions()
EXTRACTOR = Extractor(REGISTRY, "http://example.org/fhir")
DAY_US = 86_400_000_000


def claim(n: int) -> dict[str, Any]:
    return {
        "resourceType": "Claim",
        "id": f"c{n}",
        "status": "active",
        "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/claim-type", "code": "oral"}]},
        "use": "claim",
        "patient": {"reference": f"Patient/p{n % 7}"},
        "created": f"2025-03-{1 + n % 28:02d}",
        "provider": {"reference": f"Organization/o{n % 3}"},
        "priority": {"coding": [{"code": "normal"}]},
        "insurance": [{"sequence": 1, "focal": True, "coverage": {"reference": "Coverage/x"}}],
    }


def patient(n: int) -> dict[str, Any]:
    return {"resourceType": "Patient", "id": f"p{n}", "name": [{"family": f"F{n}"}, {"family": f"G{n}"}]}


async def put(store: SQLiteStore, resources: list[dict[str, Any]]) -> None:
    async with store.transaction() as tx:
        for r in resources:
            await tx.write(
                WriteOp(
                    resource_type=r["resourceType"],
                    id=r["id"],
                    version=1,
                    expected_version=0,
                    last_updated="2025-04-01T00:00:00Z",
                    last_updated_us=1,
                    body=json.dumps(r).encode(),
                    index=EXTRACTOR.extract(r),
                )
            )


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SQLiteStore]:
    s = SQLiteStore(tmp_path / "scan.db")
    await s.start()
    await put(s, [claim(n) for n in range(40)] + [patient(n) for n in range(7)])
    yield s
    await s.close()


def conn(store: SQLiteStore) -> sqlite3.Connection:
    c = store.conns.writer
    assert c is not None
    return c


def page_plans(store: SQLiteStore, rtype: str, params: list[tuple[str, str]]) -> list[list[str]]:
    c = conn(store)
    query = parse_search((rtype,), params, REGISTRY, strict=True)
    return [
        [row[3] for row in c.execute("EXPLAIN QUERY PLAN " + sql, args)]
        for sql, args in store._page_statements(c, query)
    ]


def pid(store: SQLiteStore, rtype: str, code: str) -> int:
    return store.params.lookup(conn(store))((rtype,), code)[0]


async def test_shapes_are_learnt_from_writes_and_kept(store: SQLiteStore, tmp_path: Path) -> None:
    created = store.params.shape(pid(store, "Claim", "created"))
    assert not created.multi and created.span == DAY_US - 1  # a day: [00:00, 23:59:59.999999]
    assert store.params.shape(pid(store, "Patient", "family")).multi  # two names each
    await store.close()
    again = SQLiteStore(tmp_path / "scan.db")
    await again.start()
    try:
        assert again.params.shape(pid(again, "Patient", "family")).multi
        assert again.params.shape(pid(again, "Claim", "created")).span == DAY_US - 1
    finally:
        await again.close()


async def test_shapes_of_a_database_from_before_them_are_learnt_on_upgrade(
    store: SQLiteStore, tmp_path: Path
) -> None:
    await store.close()
    with sqlite3.connect(tmp_path / "scan.db") as c:
        c.execute("ALTER TABLE params DROP COLUMN multi")
        c.execute("ALTER TABLE params DROP COLUMN span")
    again = SQLiteStore(tmp_path / "scan.db")
    await again.start()
    try:
        assert again.params.shape(pid(again, "Patient", "family")).multi
        created = again.params.shape(pid(again, "Claim", "created"))
        assert not created.multi and created.span == DAY_US - 1
    finally:
        await again.close()


async def test_a_date_range_is_one_index_range_read_in_order(store: SQLiteStore) -> None:
    """``created=ge&created=lt`` on a single-valued parameter: one range on (pid, lo), read
    in order (the implicit sort), so a page costs a page, not every claim of the month."""
    [lines] = page_plans(store, "Claim", [("created", "ge2025-03-01"), ("created", "lt2025-04-01")])
    assert any("ix_date_lo (pid=? AND lo>? AND lo<?)" in line for line in lines), lines
    assert not any("TEMP B-TREE FOR ORDER BY" in line for line in lines), lines


async def test_sorted_pages_read_the_sort_index_when_criteria_are_unselective(
    store: SQLiteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sort_scan, "PROBE_BOUND", 5)  # 40 claims, 14 per provider: unselective
    plans = page_plans(store, "Claim", [("provider", "Organization/o1"), ("_sort", "-created")])
    lines = plans[0]
    assert any("INDEX ix_date_hi (pid=?)" in line for line in lines), lines
    assert any("ix_reference_rid_pid (rid=? AND pid=?)" in line for line in lines), lines
    assert not any("TEMP B-TREE FOR ORDER BY" in line for line in lines), lines


async def test_a_selective_criterion_drives_and_the_few_matches_are_sorted(store: SQLiteStore) -> None:
    plans = page_plans(store, "Claim", [("patient", "Patient/p1"), ("_sort", "-created")])
    assert len(plans) == 1
    assert any("ix_reference_target (pid=? AND target=?)" in line for line in plans[0]), plans


async def test_a_range_count_on_a_single_valued_parameter_reads_the_index_only(store: SQLiteStore) -> None:
    c = conn(store)
    query = parse_search((("Claim",)), [("created", "ge2025-03-03"), ("created", "lt2025-03-10")], REGISTRY)
    sql, args = count_sql(query, store.params.lookup(c), shape_of=store.params.shape)
    lines = [row[3] for row in c.execute("EXPLAIN QUERY PLAN " + sql, args)]
    assert lines == ["SEARCH x USING COVERING INDEX ix_date_lo (pid=? AND lo>? AND lo<?)"], lines
    assert c.execute(sql, args).fetchone()[0] == sum(1 for n in range(40) if 3 <= 1 + n % 28 < 10)


async def test_a_multi_valued_parameter_is_never_merged(store: SQLiteStore) -> None:
    """Two names: ``family=F1&family=G1`` matches although no one entry holds both."""
    query = parse_search(("Patient",), [("family", "F1"), ("family", "G1")], REGISTRY)
    page = await store.search(query)
    assert [v.id for v in page.items] == ["p1"]
