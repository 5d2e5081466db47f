"""Shared fixtures for the search unit tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest

from fhir_server import fhirjson
from fhir_server.search.extract import Extractor
from fhir_server.search.ir import SearchQuery
from fhir_server.search.matcher import Record
from fhir_server.search.parser import parse_search
from fhir_server.search.registry import SearchRegistry
from tests.conftest import require_r4_examples

BASE = "http://example.org/fhir"
NOW = 1_700_000_000_000_000  # 2023-11-14T22:13:20Z


@pytest.fixture(scope="session")
def registry() -> SearchRegistry:
    return SearchRegistry.from_definitions()


@pytest.fixture(scope="session")
def extractor(registry: SearchRegistry) -> Extractor:
    return Extractor(registry, base_url=BASE)


@pytest.fixture(scope="session")
def parse(registry: SearchRegistry) -> Callable[..., SearchQuery]:
    def _parse(types: str | tuple[str, ...], query: str, **kw: Any) -> SearchQuery:
        if isinstance(types, str):
            types = (types,)
        kw.setdefault("base_url", BASE)
        kw.setdefault("now_us", NOW)
        return parse_search(types, parse_qsl(query, keep_blank_values=True), registry, **kw)

    return _parse


def load_examples() -> list[dict[str, Any]]:
    root = require_r4_examples()
    out = []
    for path in sorted(Path(root).glob("*.json")):
        if path.name == "package.json":
            continue
        data = fhirjson.loads(path.read_bytes())
        if isinstance(data, dict) and isinstance(data.get("resourceType"), str):
            out.append(data)
    return out


@pytest.fixture(scope="session")
def examples() -> list[dict[str, Any]]:
    return load_examples()


@pytest.fixture(scope="session")
def example(examples: list[dict[str, Any]]) -> Callable[[str, str], dict[str, Any]]:
    by_key = {(r["resourceType"], r.get("id")): r for r in examples}

    def _get(rtype: str, rid: str) -> dict[str, Any]:
        return by_key[(rtype, rid)]

    return _get


@pytest.fixture(scope="session")
def corpus(examples: list[dict[str, Any]], extractor: Extractor) -> list[Record]:
    """Every official example with an id, as matcher records (last updated = its index)."""
    out: list[Record] = []
    seen: set[tuple[str, str]] = set()
    for i, r in enumerate(examples):
        rid = r.get("id")
        if not isinstance(rid, str) or (r["resourceType"], rid) in seen:
            continue
        seen.add((r["resourceType"], rid))
        out.append((r["resourceType"], rid, 1_600_000_000_000_000 + i, extractor.extract(r)))
    return out
