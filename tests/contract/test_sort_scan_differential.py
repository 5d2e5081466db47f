"""Contract: the SQLite sort scan (``storage/sqlite/sort_scan.py``) returns what the
reference matcher returns, in the same order of sort keys.

With the corpus's small numbers the planner would pick the general plan whenever another
criterion has an index; here the probe bound is 0, so every query with one sort key on one
type takes the sort scan, with its other criteria checked per entry, over multi-valued
and single-valued parameters, with and without values, and across pages.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from fhir_server.storage.sqlite import sort_scan
from tests.conftest import require_r4_examples

from .differential.case import Case
from .differential.cases import generate
from .differential.corpus import corpus, official_available, registry
from .differential.runner import Loaded, check

ITEMS = corpus(official_available())
GENERATED = list(generate(ITEMS, registry()).cases.values())
SORTED = [c for c in GENERATED if c.sort]


def _with_sort() -> list[Case]:
    """Every fifth filtering query of a type, sorted by each sort the corpus has for it."""
    sorts: dict[str, list[str]] = {}
    for c in SORTED:
        keys = [v for k, v in c.params if k == "_sort"]
        if c.rtype and len(keys) == 1 and "," not in keys[0]:
            sorts.setdefault(c.rtype, []).append(keys[0])
    out: list[Case] = []
    filtering = [c for c in GENERATED if not c.sort and c.rtype in sorts and not c.total]
    for c in filtering[::5]:
        for key in sorts[c.rtype][:3]:
            out.append(Case(c.rtype, (*c.params, ("_sort", key)), c.count, sort=True))
    return out


WITH_SORT = _with_sort()


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loaded]:
    require_r4_examples()
    backend = Loaded.start("sqlite", tmp_path_factory.mktemp("sort-scan"), ITEMS)
    try:
        yield backend
    finally:
        backend.close()


@pytest.fixture(autouse=True)
def always_scan(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sort_scan, "PROBE_BOUND", 0)


def test_the_corpus_has_sorted_cases() -> None:
    assert len(SORTED) >= 20


@pytest.mark.parametrize("case", SORTED, ids=lambda c: c.name)
def test_sort_scan_equals_the_matcher(loaded: Loaded, case: Case) -> None:
    check(loaded, case)


def test_the_corpus_has_filtered_sorted_cases() -> None:
    assert len(WITH_SORT) >= 100


@pytest.mark.parametrize("case", WITH_SORT, ids=lambda c: c.name)
def test_sort_scan_with_criteria_equals_the_matcher(loaded: Loaded, case: Case) -> None:
    """Criteria checked per entry of the sort index (``:not``, ``:missing``, chains,
    ``_has``, ranges on the sort parameter itself, ...)."""
    check(loaded, case)
