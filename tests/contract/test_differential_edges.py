"""Contract: every backend returns what the reference matcher returns on awkward values.

The same comparison as ``test_matcher_differential.py`` over a small synthetic corpus
(``differential/edges.py``): numbers on the edges of implicit ranges and of the ``ap``
window, strings that normalise in surprising ways or carry search-escape and
regular-expression characters, dates at the calendar's and time zones' extremes,
partial identifiers, references by identifier only, versioned, absolute or to a deleted
resource. The queries are the hand-written boundary cases plus the generated matrix.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .conftest import BACKENDS
from .differential import edges
from .differential.case import Case
from .differential.cases import generate
from .differential.corpus import build, registry
from .differential.runner import Loaded, check

ITEMS = build(edges.resources(), edges.DELETED, every=0)
CASES = list({c.name: c for c in [*edges.cases(), *generate(ITEMS, registry()).cases.values()]}.values())


@pytest.fixture(scope="module", params=BACKENDS)
def loaded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loaded]:
    backend = Loaded.start(request.param, tmp_path_factory.mktemp(f"edges-{request.param}"), ITEMS)
    try:
        yield backend
    finally:
        backend.close()


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_backend_search_equals_the_matcher_on_edges(loaded: Loaded, case: Case) -> None:
    check(loaded, case)
