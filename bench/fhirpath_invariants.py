"""The R4 base-spec invariants (core StructureDefinitions' constraint expressions) compiled and
evaluated through ``fhir_server.fhirpath`` on the official R4 examples they apply to.

    .venv/bin/python bench/fhirpath_invariants.py [--per-path 200] [--json OUT.json]

Prints how many compile, evaluate without error, and hold on the examples; lists the others.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fhir_server.fhirpath.survey import PACKAGE, survey


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--per-path", type=int, default=200, help="elements evaluated per context path")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    if not (PACKAGE / "Bundle-resources.json").exists():
        print(f"R4 examples package not found at {PACKAGE}", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    outcomes = survey(per_path=args.per_path)
    elapsed = time.perf_counter() - t0
    by = Counter(o.status for o in outcomes)
    total = len(outcomes)
    compiled = total - by["compile-error"]
    exercised = total - by["compile-error"] - by["unexercised"]
    print(f"invariants with an expression: {total}")
    print(f"  compile:                  {compiled}/{total}")
    print(f"  exercised by examples:    {exercised}")
    print(f"  evaluate without error:   {exercised - by['eval-error']}/{exercised}")
    print(f"  hold on every example:    {by['ok']}/{exercised}")
    print(f"  false on some example:    {by['false']}")
    print(f"  not exercised:            {by['unexercised']}")
    for status in ("compile-error", "eval-error", "false", "unexercised"):
        rows = [o for o in outcomes if o.status == status]
        if rows:
            print(f"\n{status} ({len(rows)}):")
            for o in rows:
                where = o.detail or ", ".join(o.examples)
                print(
                    f"  {o.invariant.key} @ {o.invariant.path}: {o.invariant.expression[:90]}\n      {where}"
                )
    print(f"\n{elapsed:.1f} s")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "counts": dict(by),
                    "total": total,
                    "outcomes": [
                        {
                            "key": o.invariant.key,
                            "path": o.invariant.path,
                            "expression": o.invariant.expression,
                            "status": o.status,
                            "evaluated": o.evaluated,
                            "detail": o.detail,
                            "examples": o.examples,
                        }
                        for o in outcomes
                    ],
                },
                indent=2,
            )
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
