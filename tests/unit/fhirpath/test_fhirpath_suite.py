"""The official R4 FHIRPath suite (``../shared/data/fhir-test-cases/r4/fhirpath/tests-fhir-r4.xml``)
through ``fhir_server.fhirpath``: the score must not fall below the recorded floor.

The floor is the number of passing tests in "what we evaluate" (see
``fhir_server.fhirpath.suite.OUT_OF_SCOPE``); raise it when a fix lands
(``bench/fhirpath_suite.py`` prints the table and the failing tests).
"""

from __future__ import annotations

import pytest

from fhir_server.fhirpath.suite import load_suite, run_suite, summarise
from tests.conftest import require_shared

# Recorded with bench/fhirpath_suite.py; see docs/decisions/0010-fhirpath.md.
SCORED_PASS_FLOOR = 869
SCORE_FLOOR = 0.975


@pytest.fixture(scope="module")
def suite_path():  # type: ignore[no-untyped-def]
    return require_shared("fhir-test-cases/r4/fhirpath") / "tests-fhir-r4.xml"


def test_suite_is_read_whole(suite_path) -> None:  # type: ignore[no-untyped-def]
    cases = load_suite(suite_path)
    assert len(cases) == 935
    assert len({c.group for c in cases}) == 99
    assert sum(1 for c in cases if c.invalid) >= 30
    assert any(c.predicate for c in cases) and any(not c.ordered for c in cases)


def test_score_at_or_above_floor(suite_path) -> None:  # type: ignore[no-untyped-def]
    results = run_suite(suite_path)
    s = summarise(results)
    failing = [
        f"{r.case.name}: {r.case.expression} -> {r.detail}"
        for r in results
        if r.status == "fail" and r.case.scope_exclusion is None
    ]
    print(
        f"FHIRPath suite: {s.scoped_passed}/{s.scoped_total} = {100 * s.score:.1f} % "
        f"(raw {s.passed}/{s.total} = {100 * s.raw_score:.1f} %)"
    )
    assert s.scoped_passed >= SCORED_PASS_FLOOR and s.score >= SCORE_FLOOR, (
        f"FHIRPath suite regressed: {s.scoped_passed}/{s.scoped_total} passed "
        f"(floor {SCORED_PASS_FLOOR}); failing:\n" + "\n".join(failing)
    )
