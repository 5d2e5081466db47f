"""Our implementation guide's examples against its profiles (issue 4).

* every ``examples/*.json`` (and every resource of an example Bundle) passes the base
  validation and the profiles it claims in ``meta.profile``, with no error;
* every entry of ``examples/invalid/manifest.json`` (``file``, ``profile``, ``key``,
  ``expression``) fails ``profile`` with an error carrying that rule key and expression.

Skipped, saying why, while ``profiles/`` has no StructureDefinition or the manifest is absent.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from fhir_server.config import Settings
from fhir_server.definitions import load
from fhir_server.terminology import Terminology
from fhir_server.validation import has_errors, validate_resource
from fhir_server.validation.invariants import rule_system
from fhir_server.validation.profiles import Profiles, folder_definitions

ROOT = Path(__file__).resolve().parents[2]
PROFILES = ROOT / "profiles"
EXAMPLES = ROOT / "examples"
MANIFEST = EXAMPLES / "invalid" / "manifest.json"
SYSTEM = rule_system(Settings().canonical_base)


def _require_profiles() -> None:
    if not any(sd.get("derivation") == "constraint" for sd in folder_definitions(PROFILES).values()):
        pytest.skip(f"no profile StructureDefinitions in {PROFILES} yet")


def _profiles() -> Profiles:
    return Profiles(
        load(), Terminology(None, folder=ROOT / "terminology"), None, folder=PROFILES, system=SYSTEM
    )


def _resources(resource: dict[str, Any], where: str) -> list[tuple[str, dict[str, Any]]]:
    out = [(where, resource)]
    if resource.get("resourceType") == "Bundle":
        for i, e in enumerate(resource.get("entry") or []):
            if isinstance(e, dict) and isinstance(e.get("resource"), dict):
                out.append((f"{where} entry[{i}]", e["resource"]))
    return out


def _issues_text(issues: list[Any]) -> str:
    return "; ".join(f"{i.severity} {i.details_code} {i.expression}: {i.diagnostics}" for i in issues)


async def test_every_example_conforms_to_its_profiles() -> None:
    _require_profiles()
    profiles = _profiles()
    files = sorted(p for p in EXAMPLES.glob("*.json"))
    assert files, "no examples"
    failures: list[str] = []
    claimed = 0
    for path in files:
        top = json.loads(path.read_text(encoding="utf-8"))
        base = validate_resource(top)
        if has_errors(base):
            failures.append(f"{path.name}: {_issues_text(base)}")
            continue
        for where, resource in _resources(top, path.name):
            meta = resource.get("meta") or {}
            claimed += bool(meta.get("profile"))
            issues = await profiles.validate(resource)
            errors = [
                i for i in issues if i.severity in ("error", "fatal") or i.details_code == "profile-unknown"
            ]
            if errors:
                failures.append(f"{where}: {_issues_text(errors)}")
    assert not failures, "\n".join(failures)
    assert claimed > 0, "no example claims a profile"


def _manifest() -> list[dict[str, str]]:
    if not MANIFEST.is_file():
        pytest.skip(f"{MANIFEST} is absent")
    entries = json.loads(MANIFEST.read_text(encoding="utf-8"))
    assert isinstance(entries, list) and entries, "the manifest lists no invalid example"
    return entries


async def test_every_invalid_example_fails_with_its_rule() -> None:
    _require_profiles()
    profiles = _profiles()
    wrong: list[str] = []
    for entry in _manifest():
        resource = json.loads((MANIFEST.parent / entry["file"]).read_text(encoding="utf-8"))
        issues = validate_resource(resource)
        if not any(i.severity in ("error", "fatal") and i.code != "invariant" for i in issues):
            # sound structure: the profile is checked too (a base invariant may fail beside it)
            issues = issues + await profiles.validate(resource, demanded=(entry["profile"],))
        hits = [
            i
            for i in issues
            if i.severity in ("error", "fatal")
            and i.details_code == entry["key"]
            and entry["expression"] in i.expression
        ]
        if not hits:
            wrong.append(
                f"{entry['file']}: expected {entry['key']} at {entry['expression']}, "
                f"got {_issues_text(issues)}"
            )
    assert not wrong, "\n".join(wrong)
