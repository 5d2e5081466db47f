"""The hot searches use the indexes they were designed for (EXPLAIN QUERY PLAN on SQLite).

A plan that scans a whole type or a whole index table is what makes searches grow with
the data (ANCHORS.md §3); these tests fail when a compiler or schema change brings one back.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from fhir_server.search.parser import parse_search
from fhir_server.search.registry import SearchRegistry
from fhir_server.storage.sqlite.search_sql import compile_search
from fhir_server.storage.sqlite.store import SQLiteStore

REGISTRY = SearchRegistry.from_definitions()


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SQLiteStore]:
    s = SQLiteStore(tmp_path / "plans.db")
    await s.start()
    yield s
    await s.close()


def plan(store: SQLiteStore, rtype: str, params: list[tuple[str, str]]) -> list[str]:
    conn = store.conns.writer
    assert conn is not None
    query = parse_search((rtype,), params, REGISTRY, strict=True)
    sql, args = compile_search(query, store.params.lookup(conn), limit=51)
    return [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql, args)]


def assert_no_scan(lines: list[str]) -> None:
    assert not [line for line in lines if line.startswith("SCAN")], lines


async def test_token_lookup_seeks_the_token_index(store: SQLiteStore) -> None:
    lines = plan(store, "Patient", [("identifier", "https://openimis.org/fhir/insurance-number|123456789")])
    assert "SEARCH r USING INTEGER PRIMARY KEY (rowid=?)" in lines
    assert any("ix_token_code (pid=? AND code=? AND system=?)" in line for line in lines)
    assert_no_scan(lines)


async def test_coverage_by_beneficiary_and_status(store: SQLiteStore) -> None:
    lines = plan(store, "Coverage", [("beneficiary", "Patient/1"), ("status", "active")])
    assert any("ix_reference_target (pid=? AND target=?)" in line for line in lines)
    # the unselective status is checked per candidate, not materialised
    assert any("ix_token_rid_pid (rid=? AND pid=?)" in line for line in lines)
    assert_no_scan(lines)


async def test_claims_of_a_patient_since_a_date(store: SQLiteStore) -> None:
    lines = plan(store, "Claim", [("patient", "Patient/1"), ("created", "ge2025-01-01")])
    assert any("ix_reference_target (pid=? AND target=?)" in line for line in lines)
    assert any("ix_date_rid_pid (rid=? AND pid=?)" in line for line in lines)
    assert_no_scan(lines)


async def test_date_ranges_seek_the_date_index(store: SQLiteStore) -> None:
    lines = plan(store, "Claim", [("created", "ge2025-03-01"), ("created", "lt2025-04-01")])
    assert any("ix_date_hi (pid=? AND hi>?)" in line for line in lines)
    lines = plan(store, "Claim", [("created", "2025-03")])
    assert any("ix_date_lo (pid=? AND lo>? AND lo<?)" in line for line in lines)
    assert_no_scan(lines)


async def test_last_updated_range_seeks_the_type_lu_index(store: SQLiteStore) -> None:
    lines = plan(store, "Claim", [("_lastUpdated", "ge2025-01-01")])
    assert any("resources_type_lu (type=? AND lu>?)" in line for line in lines)
    assert_no_scan(lines)


async def test_string_prefix_and_chain_seek_indexes(store: SQLiteStore) -> None:
    lines = plan(store, "Patient", [("name", "mwak")])
    assert any("ix_string_norm (pid=? AND norm>? AND norm<?)" in line for line in lines)
    lines = plan(store, "Claim", [("patient.identifier", "urn:x|1")])
    assert any("ix_reference_idpart (pid=? AND rid_part=?)" in line for line in lines)
    assert_no_scan(lines)


async def test_include_fetch_uses_the_type_id_index(store: SQLiteStore) -> None:
    conn = store.conns.writer
    assert conn is not None
    lines = [
        row[3]
        for row in conn.execute(
            "EXPLAIN QUERY PLAN SELECT body FROM resources WHERE deleted = 0 AND "
            "((type = ? AND id = ?) OR (type = ? AND id = ?))",
            ("Patient", "1", "Organization", "2"),
        )
    ]
    assert any("sqlite_autoindex_resources_1 (type=? AND id=?)" in line for line in lines), lines


async def test_compartment_search_seeks_references_to_the_compartment(store: SQLiteStore) -> None:
    from dataclasses import replace

    from fhir_server.definitions import load
    from fhir_server.interactions.compartment import compartment_clause

    conn = store.conns.writer
    assert conn is not None
    clause = compartment_clause(load().compartments, "Patient", "1", ("Claim",))
    query = parse_search(("Claim",), [("created", "ge2025-01-01")], REGISTRY)
    query = replace(query, criteria=(clause, *query.criteria))
    sql, args = compile_search(query, store.params.lookup(conn), limit=51)
    lines = [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql, args)]
    assert "SEARCH r USING INTEGER PRIMARY KEY (rowid=?)" in lines
    assert any("ix_reference_target (pid=? AND target=?)" in line for line in lines)
    assert_no_scan(lines)


async def test_has_is_checked_per_candidate_when_another_criterion_drives(store: SQLiteStore) -> None:
    lines = plan(
        store, "Patient", [("_has:Coverage:beneficiary:status", "active"), ("identifier", "urn:x|1")]
    )
    assert any("ix_token_code (pid=? AND code=? AND system=?)" in line for line in lines)
    # the sources referencing each candidate come from the (pid, target) index, not a list of all
    assert any("ix_reference_target (pid=? AND target=?)" in line for line in lines)
    assert_no_scan(lines)


async def test_has_alone_drives_from_the_matching_sources(store: SQLiteStore) -> None:
    lines = plan(store, "Patient", [("_has:Coverage:beneficiary:payor", "Organization/1")])
    assert "SEARCH r USING INTEGER PRIMARY KEY (rowid=?)" in lines
    assert any("ix_reference_target (pid=? AND target=?)" in line for line in lines)
    assert_no_scan(lines)
