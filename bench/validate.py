"""Validation cost: base validation alone vs base + profiles, on the insurance examples.

In process (no HTTP, no store): every resource of ``examples/*.json`` (example Bundles
contribute their entries) is validated ``--iterations`` times with

* **base**: what every write costs without profiles: structure (fhirkit), element rules
  (ids, dates, required bindings) and the base FHIRPath invariants
  (``fhir_server.validation.validate_resource``);
* **base + profiles**: the same, then every profile the resource claims in ``meta.profile``
  (``fhir_server.validation.profiles.Profiles`` over ``--profiles`` and ``--terminology``:
  compiled trees and pre-expanded bindings, warmed up before timing).

Prints resources/s for both and the overhead of the profiles; target (issue 4): at most
+50 % over the base cost.

    .venv/bin/python bench/validate.py [--iterations 20] [--profiles profiles] [--terminology terminology]
                                       [--examples examples] [--json [PATH]]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import ROOT, print_table, write_json
from fhir_server.definitions import load
from fhir_server.terminology import Terminology
from fhir_server.validation import default_validator, has_errors, validate_resource
from fhir_server.validation.profiles import Profiles, folder_definitions


def resources(folder: Path) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for path in sorted(folder.glob("*.json")):
        r = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(r, dict) or "resourceType" not in r:
            continue
        if r["resourceType"] == "Bundle":
            out.extend(e["resource"] for e in r.get("entry") or [] if isinstance(e.get("resource"), dict))
        else:
            out.append(r)
    return out


async def run(args: argparse.Namespace) -> dict[str, Any]:
    items = resources(Path(args.examples))
    profiles = Profiles(
        load(), Terminology(None, folder=Path(args.terminology)), None, folder=Path(args.profiles)
    )
    known = sum(
        1 for sd in folder_definitions(Path(args.profiles)).values() if sd.get("derivation") == "constraint"
    )
    claimed = sum(1 for r in items if (r.get("meta") or {}).get("profile"))
    # warm up: compile element plans, FHIRPath expressions, profile trees and expansions
    invalid = 0
    for r in items:
        issues = validate_resource(r)
        invalid += has_errors(issues)
        await profiles.validate(r)

    started = time.perf_counter()
    for _ in range(args.iterations):
        for r in items:
            validate_resource(r)
    base_s = time.perf_counter() - started

    started = time.perf_counter()
    profile_issues = 0
    for _ in range(args.iterations):
        for r in items:
            validate_resource(r)
            profile_issues += len(await profiles.validate(r))
    both_s = time.perf_counter() - started

    n = len(items) * args.iterations
    overhead = (both_s - base_s) / base_s * 100 if base_s else 0.0
    return {
        "resources": len(items),
        "claiming_a_profile": claimed,
        "profiles_known": known,
        "iterations": args.iterations,
        "base_invalid": invalid,
        "profile_issues_per_iteration": profile_issues // max(args.iterations, 1),
        "base_resources_per_s": round(n / base_s),
        "profiles_resources_per_s": round(n / both_s),
        "base_us_per_resource": round(base_s / n * 1e6),
        "profiles_us_per_resource": round(both_s / n * 1e6),
        "profile_overhead_pct": round(overhead, 1),
        "target_met": overhead <= 50.0,
        "invariants_skipped": dict(default_validator().invariants.skipped),
        "profile_invariants_skipped": dict(profiles.checker.skipped),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--iterations", type=int, default=20)
    ap.add_argument("--examples", default=str(ROOT / "examples"))
    ap.add_argument("--profiles", default=str(ROOT / "profiles"))
    ap.add_argument("--terminology", default=str(ROOT / "terminology"))
    ap.add_argument(
        "--json", nargs="?", const="-", default=None, help="write results as JSON (to PATH or stdout)"
    )
    args = ap.parse_args()
    result = asyncio.run(run(args))
    if args.json == "-":
        print(json.dumps(result, indent=2))
        return
    print_table(
        f"Validation of {result['resources']} insurance resources x {result['iterations']} "
        f"({result['claiming_a_profile']} claim a profile; {result['profiles_known']} profiles known)",
        [
            {
                "mode": "base",
                "resources/s": result["base_resources_per_s"],
                "us/resource": result["base_us_per_resource"],
                "overhead": "",
            },
            {
                "mode": "base + profiles",
                "resources/s": result["profiles_resources_per_s"],
                "us/resource": result["profiles_us_per_resource"],
                "overhead": f"+{result['profile_overhead_pct']} %",
            },
        ],
        ["mode", "resources/s", "us/resource", "overhead"],
    )
    print(f"target (profiles add <= 50 %): {'met' if result['target_met'] else 'NOT met'}")
    write_json(args.json, result)


if __name__ == "__main__":
    main()
