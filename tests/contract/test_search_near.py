"""Contract: ``near`` on Location (``search/types/near.py``) returns exactly what the reference
matcher returns, on every backend, over generated Locations around the antimeridian, the
poles and the equator (``differential/near.py``): the same set across all pages, the order
under ``_sort``, ``_total``, ORed and ANDed points, chains (``Encounter?location.near=``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .conftest import BACKENDS
from .differential.case import Case
from .differential.corpus import build
from .differential.near import cases, locations
from .differential.runner import Loaded, check, expected, parse

RESOURCES = locations()
ITEMS = build(RESOURCES, every=0)
CASES = cases(RESOURCES)


@pytest.fixture(scope="module", params=BACKENDS)
def loaded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loaded]:
    backend = Loaded.start(request.param, tmp_path_factory.mktemp(f"near-{request.param}"), ITEMS)
    try:
        yield backend
    finally:
        backend.close()


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_near_equals_the_matcher(loaded: Loaded, case: Case) -> None:
    check(loaded, case)


def test_the_cases_are_not_trivial() -> None:
    """Most cases find something and none finds everything (else they would prove little)."""
    sizes = [len(expected(parse(c), ITEMS)) for c in CASES if c.rtype == "Location"]
    locations_with_position = sum(1 for it in ITEMS if it.type == "Location" and it.index.get("near"))
    assert sum(1 for s in sizes if s > 0) >= len(sizes) * 2 // 3
    assert sum(1 for s in sizes if 0 < s < locations_with_position) >= len(sizes) // 2
