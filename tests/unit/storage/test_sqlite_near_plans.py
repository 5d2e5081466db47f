"""``near`` seeks the position index with its bounding box (EXPLAIN QUERY PLAN on SQLite),
also when the box wraps the antimeridian, reaches a pole, or ``near`` is checked per
candidate behind a more selective criterion."""

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


@pytest.mark.parametrize(
    "near",
    [
        "-3.37|36.68|25|km",  # an ordinary box
        "0|179.99|50|km",  # the box wraps the antimeridian: two longitude ranges
        "89.99|10|30|km",  # the box reaches the north pole: every longitude
        "-3.37|36.68",  # the server's default distance
    ],
)
async def test_near_seeks_the_position_index_by_latitude(store: SQLiteStore, near: str) -> None:
    lines = plan(store, "Location", [("near", near)])
    assert any("ix_position_lat (pid=? AND lat>? AND lat<?)" in line for line in lines), lines
    assert "SEARCH r USING INTEGER PRIMARY KEY (rowid=?)" in lines
    assert_no_scan(lines)


async def test_near_behind_a_token_is_checked_per_candidate(store: SQLiteStore) -> None:
    lines = plan(store, "Location", [("identifier", "urn:hf|HF-1"), ("near", "-3.37|36.68|25")])
    assert any("ix_token_code" in line for line in lines), lines
    assert any("ix_position_rid_pid (rid=? AND pid=?)" in line for line in lines), lines
    assert_no_scan(lines)


async def test_chained_near_seeks_the_position_index(store: SQLiteStore) -> None:
    lines = plan(store, "Encounter", [("location.near", "-3.37|36.68|25")])
    assert any("ix_position_lat (pid=? AND lat>? AND lat<?)" in line for line in lines), lines
    assert_no_scan(lines)
