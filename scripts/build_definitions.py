"""Regenerate fhir_server/definitions/data/r4-core.json.gz from the official R4 package.

Source: the npm package ``hl7.fhir.r4.examples@4.0.1`` (CC0-1.0), which holds the
definition Bundles (``Bundle-resources.json``, ``Bundle-types.json``,
``Bundle-searchParams.json``, ``Bundle-valuesets.json``, ``Bundle-v3-valuesets.json``,
``Bundle-v2-valuesets.json``) and the CompartmentDefinitions.

Usage::

    python scripts/build_definitions.py [PACKAGE_DIR]

Without PACKAGE_DIR the package is fetched with ``npm pack`` into ``.cache/``.

What is kept (compact, only what the server needs at run time):

* ``resource_types``: every concrete R4 resource type.
* ``types``: per resource, datatype and backbone element (keyed by path) the elements
  with their type codes, cardinality, summary flag, choice flag and required binding.
* ``search_params``: the 1,375 official SearchParameters, reduced to the fields search uses.
* ``valuesets``: the code sets of every ValueSet bound with strength ``required`` that can
  be expanded from the definitions (``{system: [codes]}``).
* ``compartments``: CompartmentDefinition resources as ``{compartment: {type: [params]}}``.
* ``constraints``: the FHIRPath invariants of the base spec, ``{path: [[key, severity,
  expression, human]]}``, each kept once at the path of the definition that declares it
  (``dom-3`` at ``DomainResource``, ``per-1`` at ``Period``, ``pat-1`` at
  ``Patient.contact``); ``ele-1`` (on every element) is left out: the validator checks it
  natively (``fhir_server/validation/invariants.py``).
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "fhir_server" / "definitions" / "data" / "r4-core.json.gz"
PACKAGE = "hl7.fhir.r4.examples@4.0.1"
FHIRPATH_STRING = "http://hl7.org/fhirpath/System.String"


def fetch_package() -> Path:
    cache = ROOT / ".cache" / "hl7.fhir.r4.examples"
    pkg = cache / "package"
    if not (pkg / "Bundle-searchParams.json").exists():
        cache.mkdir(parents=True, exist_ok=True)
        subprocess.run(["npm", "pack", PACKAGE, "--silent"], cwd=cache, check=True)
        tgz = next(cache.glob("*.tgz"))
        subprocess.run(["tar", "xzf", tgz.name], cwd=cache, check=True)
    return pkg


def load_bundle(pkg: Path, name: str) -> list[dict[str, Any]]:
    with open(pkg / name, encoding="utf-8") as f:
        return [e["resource"] for e in json.load(f)["entry"]]


def type_code(t: dict[str, Any]) -> str:
    code: str = t["code"]
    if code.startswith("http://hl7.org/fhirpath/System."):
        for ext in t.get("extension", []):
            if ext.get("url", "").endswith("structuredefinition-fhir-type"):
                return str(ext["valueUrl"])
        return "string" if code == FHIRPATH_STRING else code.rsplit(".", 1)[-1].lower()
    return code


def build_types(sds: list[dict[str, Any]]) -> tuple[dict[str, dict[str, Any]], set[str]]:
    """Element tables keyed by type name; backbone elements keyed by their path."""
    types: dict[str, dict[str, Any]] = {}
    required_vs: set[str] = set()
    for sd in sds:
        if sd.get("derivation") == "constraint" or sd["kind"] == "logical":
            continue
        name = sd["id"]
        if sd["kind"] == "primitive-type":
            types[name] = {}
            continue
        for el in sd["snapshot"]["element"]:
            path: str = el["path"]
            if "." not in path:
                types.setdefault(path, {})
                continue
            parent, elem = path.rsplit(".", 1)
            entry: dict[str, Any] = {}
            if elem.endswith("[x]"):
                elem = elem[:-3]
                entry["choice"] = True
            if "contentReference" in el:
                entry["t"] = [el["contentReference"].lstrip("#")]
            else:
                codes = [type_code(t) for t in el.get("type", [])]
                if codes in (["BackboneElement"], ["Element"]):
                    codes = [path]
                entry["t"] = codes
                refs = sorted(
                    {
                        p.rsplit("/", 1)[-1]
                        for t in el.get("type", [])
                        for p in t.get("targetProfile", [])
                    }
                )
                if refs and refs != ["Resource"]:
                    entry["targets"] = refs
            if el.get("max") == "*" or (el.get("max") not in ("0", "1")):
                entry["many"] = True
            if el.get("min", 0) > 0:
                entry["min"] = el["min"]
            if el.get("max") == "0":
                continue
            if el.get("isSummary"):
                entry["summary"] = True
            if el.get("isModifier"):
                entry["modifier"] = True
            b = el.get("binding", {})
            if b.get("strength") == "required" and b.get("valueSet"):
                vs = b["valueSet"].split("|")[0]
                entry["binding"] = vs
                required_vs.add(vs)
            types.setdefault(parent, {})[elem] = entry
    return types, required_vs


def build_constraints(sds: list[dict[str, Any]]) -> dict[str, list[list[str]]]:
    """Invariants per element path, once each (where declared, not where inherited)."""
    out: dict[str, list[list[str]]] = {}
    for sd in sds:
        if sd.get("derivation") == "constraint" or sd["kind"] == "logical":
            continue
        for el in sd["snapshot"]["element"]:
            for con in el.get("constraint", []):
                source = con.get("source")
                if con["key"] == "ele-1" or (source and source != sd["url"]):
                    continue
                if not con.get("expression"):
                    continue
                out.setdefault(el["path"], []).append(
                    [con["key"], con.get("severity", "error"), con["expression"], con.get("human", "")]
                )
    return out


def expand_valuesets(
    resources: list[dict[str, Any]], wanted: set[str]
) -> dict[str, dict[str, list[str]]]:
    codesystems: dict[str, dict[str, Any]] = {}
    valuesets: dict[str, dict[str, Any]] = {}
    for r in resources:
        if r["resourceType"] == "CodeSystem" and "url" in r:
            codesystems[r["url"]] = r
        elif r["resourceType"] == "ValueSet" and "url" in r:
            valuesets[r["url"]] = r

    def cs_codes(cs: dict[str, Any]) -> dict[str, list[str]] | None:
        """code -> list of child codes (full hierarchy), or None when not complete."""
        if cs.get("content") not in ("complete", None):
            return None
        tree: dict[str, list[str]] = {}

        def walk(concepts: list[dict[str, Any]]) -> None:
            for c in concepts:
                tree[c["code"]] = [k["code"] for k in c.get("concept", [])]
                walk(c.get("concept", []))

        walk(cs.get("concept", []))
        return tree

    def descendants(tree: dict[str, list[str]], code: str) -> set[str]:
        out = {code}
        for child in tree.get(code, []):
            out |= descendants(tree, child)
        return out

    memo: dict[str, dict[str, set[str]] | None] = {}

    def expand(url: str, stack: tuple[str, ...] = ()) -> dict[str, set[str]] | None:
        if url in memo:
            return memo[url]
        if url in stack or url not in valuesets:
            return None
        vs = valuesets[url]
        result: dict[str, set[str]] = {}
        compose = vs.get("compose", {})
        if compose.get("exclude"):
            memo[url] = None
            return None
        for inc in compose.get("include", []):
            part: dict[str, set[str]] = {}
            system = inc.get("system")
            if system:
                if "concept" in inc:
                    part[system] = {c["code"] for c in inc["concept"]}
                else:
                    cs = codesystems.get(system)
                    tree = cs_codes(cs) if cs else None
                    if tree is None:
                        memo[url] = None
                        return None
                    codes: set[str] = set(tree)
                    for flt in inc.get("filter", []):
                        if flt.get("op") in ("is-a", "descendent-of") and flt.get("property") in (
                            "concept",
                            "code",
                        ):
                            sub = descendants(tree, flt["value"])
                            if flt["op"] == "descendent-of":
                                sub.discard(flt["value"])
                            codes &= sub
                        else:
                            memo[url] = None
                            return None
                    part[system] = codes
            for ref in inc.get("valueSet", []):
                sub_exp = expand(ref.split("|")[0], (*stack, url))
                if sub_exp is None:
                    memo[url] = None
                    return None
                if system:
                    part = {s: c & sub_exp.get(s, set()) for s, c in part.items()}
                else:
                    for s, c in sub_exp.items():
                        part.setdefault(s, set()).update(c)
            for s, c in part.items():
                result.setdefault(s, set()).update(c)
        memo[url] = result
        return result

    out: dict[str, dict[str, list[str]]] = {}
    for url in sorted(wanted):
        exp = expand(url)
        if exp:
            out[url] = {s: sorted(c) for s, c in sorted(exp.items())}
    return out


def build_search_params(sps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for sp in sps:
        item: dict[str, Any] = {
            "url": sp["url"],
            "code": sp["code"],
            "base": sp["base"],
            "type": sp["type"],
        }
        for key in ("expression", "target", "multipleOr", "multipleAnd", "comparator", "modifier"):
            if key in sp:
                item[key] = sp[key]
        if "component" in sp:
            item["component"] = [
                {"definition": c["definition"], "expression": c["expression"]}
                for c in sp["component"]
            ]
        out.append(item)
    return out


def build_compartments(pkg: Path) -> dict[str, dict[str, list[str]]]:
    out: dict[str, dict[str, list[str]]] = {}
    for f in sorted(pkg.glob("CompartmentDefinition-*.json")):
        cd = json.loads(f.read_text(encoding="utf-8"))
        if cd["id"] == "example":
            continue
        out[cd["code"]] = {
            r["code"]: r["param"] for r in cd.get("resource", []) if r.get("param")
        }
    return out


def main() -> None:
    pkg = Path(sys.argv[1]) if len(sys.argv) > 1 else fetch_package()
    resource_sds = [
        r for r in load_bundle(pkg, "Bundle-resources.json") if r["resourceType"] == "StructureDefinition"
    ]
    type_sds = [
        r for r in load_bundle(pkg, "Bundle-types.json") if r["resourceType"] == "StructureDefinition"
    ]
    resource_types = sorted(
        sd["id"]
        for sd in resource_sds
        if sd["kind"] == "resource" and not sd.get("abstract") and sd.get("derivation") != "constraint"
    )
    types, required_vs = build_types(type_sds + resource_sds)
    vs_resources = (
        load_bundle(pkg, "Bundle-valuesets.json")
        + load_bundle(pkg, "Bundle-v3-valuesets.json")
        + load_bundle(pkg, "Bundle-v2-valuesets.json")
    )
    data = {
        "fhirVersion": "4.0.1",
        "source": PACKAGE,
        "resource_types": resource_types,
        "types": types,
        "search_params": build_search_params(load_bundle(pkg, "Bundle-searchParams.json")),
        "valuesets": expand_valuesets(vs_resources, required_vs),
        "compartments": build_compartments(pkg),
        "constraints": build_constraints(type_sds + resource_sds),
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    raw = json.dumps(data, separators=(",", ":"), sort_keys=True).encode()
    with gzip.GzipFile(OUT, "wb", mtime=0) as f:
        f.write(raw)
    print(
        f"{OUT.relative_to(ROOT)}: {len(resource_types)} resource types, {len(types)} types, "
        f"{len(data['search_params'])} search parameters, {len(data['valuesets'])}/{len(required_vs)} "
        f"required ValueSets expanded, {len(raw)} bytes raw, {OUT.stat().st_size} gzipped"
    )


if __name__ == "__main__":
    main()
