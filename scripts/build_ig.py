"""Build our implementation guide as a FHIR NPM package: ``dist/<name>-<version>.tgz``.

Usage::

    python scripts/build_ig.py [--out DIR] [--canonical-base URL] [--name NAME] [--version V]
    make ig

Content (packages.html, "FHIR NPM Package Structure"):

* ``package/package.json``: ``name`` (default ``openimis.fhir.insurance``), ``version``
  (default: the project version in pyproject.toml), ``fhirVersions`` ``["4.0.1"]``,
  ``type`` ``fhir.ig``, ``canonical``, ``dependencies`` ``{"hl7.fhir.r4.core": "4.0.1"}``;
* the conformance resources of ``profiles/`` (StructureDefinitions, SearchParameters,
  OperationDefinitions) and ``terminology/`` (CodeSystems, ValueSets, ConceptMaps) as
  ``package/<file>``, plus an ``ImplementationGuide`` resource
  (``{canonical}/ImplementationGuide/{name}``, as packages.html recommends);
* the valid examples of ``examples/`` as ``package/example/<file>`` (not loaded by an
  installation); ``examples/invalid/`` is not packaged;
* ``package/.index.json`` (``index-version`` 1: filename, resourceType, id, url, version,
  kind, type per resource).

With another ``--canonical-base`` (default ``FHIR_CANONICAL_BASE`` or
``https://openimis.org/fhir``) every string starting with the default base is rebased.
The output is deterministic: sorted entries, fixed mtimes, owner 0:0, gzip without time.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fhir_server.packages.build import write_package  # noqa: E402
from fhir_server.search.profiles import DEFAULT_CANONICAL_BASE, rebase  # noqa: E402

NAME = "openimis.fhir.insurance"
TITLE = "openIMIS FHIR R4 insurance implementation guide"


def project_version(root: Path = ROOT) -> str:
    with (root / "pyproject.toml").open("rb") as f:
        return str(tomllib.load(f)["project"]["version"])


def _load(path: Path, base: str) -> bytes:
    """The file's text, our canonical urls rebased on ``base`` (the text is kept: decimals
    and formatting stay as written)."""
    text = path.read_text(encoding="utf-8")
    resource = json.loads(text)
    if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
        raise SystemExit(f"{path}: not a FHIR resource")
    if rebase(DEFAULT_CANONICAL_BASE + "/", base) != DEFAULT_CANONICAL_BASE + "/":
        text = text.replace(f'"{DEFAULT_CANONICAL_BASE}/', f'"{base}/')
        text = text.replace(f'"{DEFAULT_CANONICAL_BASE}"', f'"{base}"')
    return text.encode("utf-8")


def implementation_guide(name: str, version: str, base: str, files: dict[str, bytes]) -> dict[str, Any]:
    resources = {k: json.loads(v) for k, v in files.items()}
    return {
        "resourceType": "ImplementationGuide",
        "id": name,
        "url": f"{base}/ImplementationGuide/{name}",
        "version": version,
        "name": "OpenIMISInsurance",
        "title": TITLE,
        "status": "active",
        "publisher": "openIMIS",
        "packageId": name,
        "license": "Apache-2.0",
        "fhirVersion": ["4.0.1"],
        "definition": {
            "resource": [
                {
                    "reference": {"reference": f"{r['resourceType']}/{r['id']}"},
                    "exampleBoolean": False,
                }
                for _, r in sorted(resources.items())
                if isinstance(r.get("id"), str)
            ]
        },
    }


def build(
    root: Path = ROOT,
    out_dir: Path | None = None,
    *,
    name: str = NAME,
    version: str | None = None,
    canonical_base: str = DEFAULT_CANONICAL_BASE,
) -> Path:
    """Write the package and return its path."""
    version = version or project_version(root)
    base = canonical_base.rstrip("/")
    files: dict[str, Any] = {}
    for folder in ("profiles", "terminology"):
        for path in sorted((root / folder).glob("*.json")):
            files[path.name] = _load(path, base)
    guide = implementation_guide(name, version, base, files)
    files[f"ImplementationGuide-{name}.json"] = guide
    for path in sorted((root / "examples").glob("*.json")):
        files[f"example/{path.name}"] = _load(path, base)
    manifest = {
        "name": name,
        "version": version,
        "fhirVersions": ["4.0.1"],
        "type": "fhir.ig",
        "canonical": base,
        "url": base,
        "title": TITLE,
        "description": "Profiles, extensions, SearchParameters, OperationDefinitions, CodeSystems, "
        "ValueSets and ConceptMaps of the openIMIS FHIR R4 server for health-insurance schemes",
        "author": "openIMIS",
        "license": "Apache-2.0",
        "dependencies": {"hl7.fhir.r4.core": "4.0.1"},
    }
    out_dir = out_dir or root / "dist"
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{name}-{version}.tgz"
    target.write_bytes(write_package(manifest, files))
    return target


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--out", type=Path, default=ROOT / "dist")
    p.add_argument("--name", default=NAME)
    p.add_argument("--version")
    p.add_argument(
        "--canonical-base", default=os.environ.get("FHIR_CANONICAL_BASE") or DEFAULT_CANONICAL_BASE
    )
    args = p.parse_args(argv)
    target = build(ROOT, args.out, name=args.name, version=args.version, canonical_base=args.canonical_base)
    print(target)
    return 0


if __name__ == "__main__":
    sys.exit(main())
