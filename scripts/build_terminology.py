"""Regenerate fhir_server/definitions/data/r4-terminology.json.gz from the official R4 package.

Source: the npm package ``hl7.fhir.r4.examples@4.0.1`` (CC0-1.0): the CodeSystems and
ValueSets of ``Bundle-valuesets.json``, ``Bundle-v3-valuesets.json`` and
``Bundle-v2-valuesets.json``, any ``CodeSystem-*.json`` / ``ValueSet-*.json`` not in them,
the published expansions of ``Bundle-valueset-expansions.json``, and the ConceptMaps of
``Bundle-conceptmaps.json`` and ``ConceptMap-*.json``.

Usage::

    python scripts/build_terminology.py [PACKAGE_DIR]      # or: make terminology

What is kept (compact; read by ``fhir_server/terminology/core.py`` on first use):

* ``codesystems``: ``{url: {"version", "name", "content", "hierarchyMeaning", "properties":
  {code: type}, "concepts": [[code, display, [parent codes], {property: value},
  [[designation value, language, "use-system|use-code"], ...]], ...]}}`` (the property map
  and the designations only where there are any). Parents come from the
  nesting of ``concept`` and from the ``parent``/``subsumedBy`` properties; a ``child``
  property adds the concept as a parent of that child (v3 polyhierarchies).
  Property values are kept as strings (``valueCode``, ``valueString``, ``valueBoolean``...).
* ``valuesets``: ``{url: {"version", "name", "status", "compose": {...}, "expansion": {system:
  [codes]}}}``
  with the compose reduced to what expansion needs (``system``, ``version``,
  ``concept`` codes, ``filter`` property/op/value, ``valueSet``) and the published
  expansion where the package has a complete one and the compose cannot be expanded
  from the shipped CodeSystems (LOINC, UCUM, ... parts).
* ``conceptmaps``: ``{url: {"version", "name", "source", "target", "group": [{"source",
  "sourceVersion", "target", "targetVersion", "unmapped", "element": [[code, display,
  [[target code, target display, equivalence], ...]], ...]}]}}`` (for ``$translate``).

The output is deterministic (sorted keys, gzip mtime 0).
"""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "fhir_server" / "definitions" / "data" / "r4-terminology.json.gz"
BUNDLES = ("Bundle-valuesets.json", "Bundle-v3-valuesets.json", "Bundle-v2-valuesets.json")
HIERARCHY_PROPERTIES = frozenset({"parent", "subsumedBy", "child"})


def _load_bundle(pkg: Path, name: str) -> list[dict[str, Any]]:
    with open(pkg / name, encoding="utf-8") as f:
        return [e["resource"] for e in json.load(f).get("entry", [])]


def _property_value(prop: dict[str, Any]) -> str | None:
    for key, value in prop.items():
        if key.startswith("value") and not isinstance(value, dict | list):
            return str(value).lower() if isinstance(value, bool) else str(value)
    return None


def build_codesystem(cs: dict[str, Any]) -> dict[str, Any]:
    order: list[str] = []
    display: dict[str, str] = {}
    parents: dict[str, list[str]] = {}
    props: dict[str, dict[str, str]] = {}
    designations: dict[str, list[list[str]]] = {}

    def add_parent(child: str, parent: str) -> None:
        lst = parents.setdefault(child, [])
        if parent not in lst and parent != child:
            lst.append(parent)

    def walk(concepts: list[dict[str, Any]], parent: str | None) -> None:
        for c in concepts:
            code = c.get("code")
            if not isinstance(code, str):
                continue
            if code not in display:
                order.append(code)
                display[code] = c.get("display", "")
                parents.setdefault(code, [])
                designations[code] = [_designation(d) for d in c.get("designation", []) if "value" in d]
            if parent is not None:
                add_parent(code, parent)
            for p in c.get("property", []):
                value = _property_value(p)
                if value is None:
                    continue
                if p.get("code") in ("parent", "subsumedBy"):
                    add_parent(code, value)
                elif p.get("code") == "child":
                    add_parent(value, code)
                else:
                    props.setdefault(code, {})[p["code"]] = value
            walk(c.get("concept", []), code)

    walk(cs.get("concept", []), None)
    concepts: list[list[Any]] = []
    for code in order:
        item: list[Any] = [code, display[code], sorted(p for p in parents.get(code, []) if p in display)]
        if code in props or designations.get(code):
            item.append(dict(sorted(props.get(code, {}).items())))
        if designations.get(code):
            item.append(designations[code])
        concepts.append(item)
    out: dict[str, Any] = {"content": cs.get("content", "complete"), "concepts": concepts}
    for key in ("version", "name", "hierarchyMeaning"):
        if key in cs:
            out[key] = cs[key]
    types = {
        p["code"]: p["type"]
        for p in cs.get("property", [])
        if isinstance(p.get("code"), str) and isinstance(p.get("type"), str)
    }
    if types:
        out["properties"] = dict(sorted(types.items()))
    return out


def _designation(d: dict[str, Any]) -> list[str]:
    use = d.get("use") or {}
    use_token = f"{use.get('system', '')}|{use.get('code', '')}" if use else ""
    return [d["value"], d.get("language", ""), use_token]


def build_conceptmap(cm: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in ("version", "name"):
        if key in cm:
            out[key] = cm[key]
    for key in ("source", "target"):
        value = cm.get(f"{key}Uri", cm.get(f"{key}Canonical"))
        if isinstance(value, str):
            out[key] = value
    groups: list[dict[str, Any]] = []
    for g in cm.get("group", []):
        group: dict[str, Any] = {
            k: g[k] for k in ("source", "sourceVersion", "target", "targetVersion") if k in g
        }
        if "unmapped" in g:
            group["unmapped"] = {
                k: g["unmapped"][k] for k in ("mode", "code", "display", "url") if k in g["unmapped"]
            }
        group["element"] = [
            [
                e.get("code", ""),
                e.get("display", ""),
                [
                    [t.get("code", ""), t.get("display", ""), t.get("equivalence", "")]
                    for t in e.get("target", [])
                ],
            ]
            for e in g.get("element", [])
        ]
        groups.append(group)
    out["group"] = groups
    return out


def _compose_part(inc: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in ("system", "version"):
        if key in inc:
            out[key] = inc[key]
    if "concept" in inc:
        out["concept"] = [c["code"] for c in inc["concept"] if "code" in c]
    if "filter" in inc:
        out["filter"] = [{k: f[k] for k in ("property", "op", "value") if k in f} for f in inc["filter"]]
    if "valueSet" in inc:
        out["valueSet"] = list(inc["valueSet"])
    return out


def _flatten(contains: list[dict[str, Any]], out: list[list[str]]) -> None:
    for c in contains:
        if "code" in c and "system" in c and not c.get("abstract"):
            out.append([c["system"], c["code"]])
        _flatten(c.get("contains", []), out)


SUPPORTED_FILTERS = frozenset({"is-a", "descendent-of", "is-not-a", "=", "in"})


def _composable(vs: dict[str, Any], codesystems: dict[str, dict[str, Any]]) -> bool:
    """Whether the compose can be expanded from the shipped CodeSystems alone (then the
    published expansion is not shipped: it would only repeat what the compose gives)."""
    for part in ("include", "exclude"):
        for inc in vs.get("compose", {}).get(part, []):
            system = inc.get("system")
            if system is None:
                continue
            cs = codesystems.get(system)
            if "concept" in inc and not inc.get("filter"):
                continue
            if cs is None or cs.get("content", "complete") != "complete":
                return False
            if any(f.get("op") not in SUPPORTED_FILTERS for f in inc.get("filter", [])):
                return False
    return True


def build_valueset(vs: dict[str, Any], expansion: dict[str, Any] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in ("version", "name", "status"):
        if key in vs:
            out[key] = vs[key]
    compose = vs.get("compose")
    if compose:
        c: dict[str, Any] = {}
        for part in ("include", "exclude"):
            if compose.get(part):
                c[part] = [_compose_part(i) for i in compose[part]]
        if "inactive" in compose:
            c["inactive"] = compose["inactive"]
        out["compose"] = c
    if expansion is not None:
        codes: list[list[str]] = []
        _flatten(expansion.get("contains", []), codes)
        total = expansion.get("total")
        # the publisher marks cut expansions (all of LOINC, ...) with a limitedExpansion parameter
        limited = any(p.get("name") == "limitedExpansion" for p in expansion.get("parameter", []))
        if not limited and (total is None or total >= len(codes)):
            by_system: dict[str, set[str]] = {}
            for system, code in codes:
                by_system.setdefault(system, set()).add(code)
            out["expansion"] = {system: sorted(c) for system, c in sorted(by_system.items())}
    return out


def main() -> None:
    pkg = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / ".cache" / "hl7.fhir.r4.examples" / "package"
    resources: list[dict[str, Any]] = []
    for name in BUNDLES:
        resources.extend(_load_bundle(pkg, name))
    resources.extend(_load_bundle(pkg, "Bundle-conceptmaps.json"))
    for pattern in ("CodeSystem-*.json", "ValueSet-*.json", "ConceptMap-*.json"):
        for f in sorted(pkg.glob(pattern)):
            resources.append(json.loads(f.read_text(encoding="utf-8")))
    codesystems: dict[str, dict[str, Any]] = {}
    valuesets: dict[str, dict[str, Any]] = {}
    conceptmaps: dict[str, dict[str, Any]] = {}
    for r in resources:  # the first occurrence of a url wins (the definition bundles come first)
        url = r.get("url")
        if not isinstance(url, str):
            continue
        if r["resourceType"] == "CodeSystem" and url not in codesystems:
            codesystems[url] = r
        elif r["resourceType"] == "ValueSet" and url not in valuesets:
            valuesets[url] = r
        elif r["resourceType"] == "ConceptMap" and url not in conceptmaps:
            conceptmaps[url] = r
    expansions = {
        r["url"]: r["expansion"]
        for r in _load_bundle(pkg, "Bundle-valueset-expansions.json")
        if r.get("resourceType") == "ValueSet" and "url" in r and "expansion" in r
    }
    data = {
        "fhirVersion": "4.0.1",
        "source": "hl7.fhir.r4.examples@4.0.1",
        "codesystems": {u: build_codesystem(cs) for u, cs in sorted(codesystems.items())},
        "valuesets": {
            u: build_valueset(vs, None if _composable(vs, codesystems) else expansions.get(u))
            for u, vs in sorted(valuesets.items())
        },
        "conceptmaps": {u: build_conceptmap(cm) for u, cm in sorted(conceptmaps.items())},
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    raw = json.dumps(data, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()
    with open(OUT, "wb") as fh, gzip.GzipFile(fileobj=fh, mode="wb", mtime=0, filename="") as f:
        f.write(raw)
    n_concepts = sum(len(cs["concepts"]) for cs in data["codesystems"].values())
    print(
        f"{OUT.relative_to(ROOT)}: {len(data['codesystems'])} CodeSystems ({n_concepts} concepts), "
        f"{len(data['valuesets'])} ValueSets, {len(data['conceptmaps'])} ConceptMaps, "
        f"{len(raw)} bytes raw, {OUT.stat().st_size} gzipped"
    )


if __name__ == "__main__":
    main()
