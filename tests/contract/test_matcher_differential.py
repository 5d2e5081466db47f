"""Contract: every backend returns exactly what the reference matcher returns.

ARCHITECTURE.md §3: "A contract test asserts each backend returns exactly what the
reference matcher returns over the examples." The corpus is ``examples/`` plus every
official R4 example of a few types (``differential/corpus.py``); the queries are
generated from the data (``differential/cases.py``), parsed from query strings in
strict mode, run on the backend following every page with a small ``_count``, and
compared with ``matcher.search`` over the same index entries: the same set of
``(type, id)``, no duplicates across pages, the same order of sort keys under
``_sort``, and ``_total=accurate`` equal to the number of matches.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import require_r4_examples

from .conftest import BACKENDS
from .differential.case import Case
from .differential.cases import generate
from .differential.corpus import corpus, official_available, registry
from .differential.runner import Loaded, check

ITEMS = corpus(official_available())
CASES = list(generate(ITEMS, registry()).cases.values())


@pytest.fixture(scope="module", params=BACKENDS)
def loaded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loaded]:
    require_r4_examples()
    backend = Loaded.start(request.param, tmp_path_factory.mktemp(f"differential-{request.param}"), ITEMS)
    try:
        yield backend
    finally:
        backend.close()


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_backend_search_equals_the_matcher(loaded: Loaded, case: Case) -> None:
    check(loaded, case)
