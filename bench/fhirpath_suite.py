"""The official R4 FHIRPath suite through ``fhir_server.fhirpath``: a table per group and the score.

    .venv/bin/python bench/fhirpath_suite.py [--suite PATH] [--json OUT.json] [--failures]

"Score" is over what the server evaluates (``fhir_server.fhirpath.suite.OUT_OF_SCOPE`` and tests
whose input is not available as JSON are left out, and listed); "raw" counts every test.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fhir_server.fhirpath.suite import default_suite_path, run_suite, summarise


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--suite", type=Path, default=None, help="tests-fhir-r4.xml")
    ap.add_argument("--json", type=Path, default=None, help="write the results as JSON here")
    ap.add_argument("--failures", action="store_true", help="print every failing test with the reason")
    args = ap.parse_args()
    suite = args.suite or default_suite_path()
    if not suite.exists():
        print(f"FHIRPath suite not found at {suite}", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    results = run_suite(suite)
    elapsed = time.perf_counter() - t0
    s = summarise(results)
    width = max(len(g) for g in s.groups)
    print(f"{'group':<{width}}  pass / total")
    for name, (ok, n) in s.groups.items():
        mark = "" if ok == n else "  *"
        print(f"{name:<{width}}  {ok:>4} / {n:<4}{mark}")
    print()
    print(f"raw score:   {s.passed}/{s.total} = {100 * s.raw_score:.1f} %")
    print(f"score (what we evaluate): {s.scoped_passed}/{s.scoped_total} = {100 * s.score:.1f} %")
    for why, names in s.excluded.items():
        print(f"  excluded ({len(names)}): {why}")
    print(f"{len(results)} tests in {elapsed:.1f} s")
    if args.failures:
        print()
        for r in results:
            if r.status != "pass":
                print(f"{r.case.group} / {r.case.name}: {r.case.expression!r}\n    {r.status}: {r.detail}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps(
                {
                    "suite": str(suite),
                    "raw": {"passed": s.passed, "total": s.total, "score": round(s.raw_score, 4)},
                    "scored": {
                        "passed": s.scoped_passed,
                        "total": s.scoped_total,
                        "score": round(s.score, 4),
                    },
                    "groups": {k: {"passed": v[0], "total": v[1]} for k, v in s.groups.items()},
                    "excluded": s.excluded,
                    "failing": [
                        {
                            "group": r.case.group,
                            "name": r.case.name,
                            "expression": r.case.expression,
                            "status": r.status,
                            "detail": r.detail,
                        }
                        for r in results
                        if r.status != "pass"
                    ],
                },
                indent=2,
            )
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
