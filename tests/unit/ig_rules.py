"""A small, independent reading of our own profiles' key rules, for the IG content tests.

This is not the server's validator (``fhir_server/validation/`` is): it only understands what
our differentials in ``profiles/`` use (cardinality, slices by ``system`` or extension ``url``,
``fixed[x]``, ``patternCodeableConcept``, required bindings to our ValueSets, the value type and
context of our extensions, and FHIRPath invariants) so that the examples and the invalid
examples are checked against the rules they are meant to show, with the rule key and the
FHIRPath ``expression`` of the failing element that the manifest promises.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from fhir_server.fhirpath import evaluate

ROOT = Path(__file__).resolve().parents[2]
PROFILES = ROOT / "profiles"
TERMINOLOGY = ROOT / "terminology"
BASE = "https://openimis.org/fhir"


@dataclass(frozen=True)
class Node:
    value: Any
    expression: str


@cache
def structure_definitions() -> dict[str, dict[str, Any]]:
    out = {}
    for p in PROFILES.glob("StructureDefinition-*.json"):
        sd = json.loads(p.read_text())
        out[sd["url"]] = sd
    return out


@cache
def terminology() -> dict[str, dict[str, Any]]:
    out = {}
    for p in TERMINOLOGY.glob("*.json"):
        res = json.loads(p.read_text())
        out[res["url"]] = res
    return out


def valueset_codes(url: str) -> set[tuple[str, str]]:
    """(system, code) of one of our ValueSets (compose of whole systems, concepts, valueSets)."""
    vs = terminology()[url]
    codes: set[tuple[str, str]] = set()
    for inc in vs["compose"].get("include", []):
        for ref in inc.get("valueSet", []):
            codes |= valueset_codes(ref)
        if "system" in inc:
            if "concept" in inc:
                codes |= {(inc["system"], c["code"]) for c in inc["concept"]}
            else:
                cs = terminology()[inc["system"]]
                codes |= {(cs["url"], c["code"]) for c in cs["concept"]}
    for exc in vs["compose"].get("exclude", []):
        codes -= {(exc["system"], c["code"]) for c in exc.get("concept", [])}
    return codes


def children(node: Node, name: str) -> list[Node]:
    if not isinstance(node.value, dict):
        return []
    if name.endswith("[x]"):
        stem = name[:-3]
        keys = [k for k in node.value if re.fullmatch(stem + r"[A-Z]\w*", k)]
    else:
        keys = [name] if name in node.value else []
    out = []
    for key in keys:
        v = node.value[key]
        if isinstance(v, list):
            out += [Node(x, f"{node.expression}.{key}[{i}]") for i, x in enumerate(v)]
        else:
            out.append(Node(v, f"{node.expression}.{key}"))
    return out


def in_slice(node: Node, slice_el: dict[str, Any], elements: dict[str, dict[str, Any]]) -> bool:
    """Whether an element instance belongs to a slice (extension url, or fixed ``system``)."""
    if not isinstance(node.value, dict):
        return False
    for t in slice_el.get("type", []):
        if t["code"] == "Extension" and t.get("profile"):
            return bool(node.value.get("url") == t["profile"][0])
    system = elements.get(slice_el["id"] + ".system", {}).get("fixedUri")
    if system is not None:
        return bool(node.value.get("system") == system)
    url = elements.get(slice_el["id"] + ".url", {}).get("fixedUri")
    return url is not None and node.value.get("url") == url


def check(resource: dict[str, Any], profile_url: str, root: Node | None = None) -> list[tuple[str, str]]:
    """The (rule key, expression) of every rule of ``profile_url`` that ``resource`` breaks."""
    sd = structure_definitions().get(profile_url)
    if sd is None:
        return [("profile-unknown", resource.get("resourceType", ""))]
    elements = {e["id"]: e for e in sd["differential"]["element"]}
    top = root or Node(resource, resource["resourceType"])
    instances: dict[str, list[Node]] = {sd["type"]: [top]}
    problems: list[tuple[str, str]] = []
    for el in sd["differential"]["element"]:
        eid = el["id"]
        if eid != sd["type"]:
            parent_id, _, last = eid.rpartition(".")
            name, _, slice_name = last.partition(":")
            parents = nodes_at(parent_id, instances)
            for parent in parents:
                found = children(parent, name)
                if slice_name:
                    found = [n for n in found if in_slice(n, el, elements)]
                count = len(found)
                where = f"{parent.expression}.{name}"
                if count < el.get("min", 0):
                    problems.append(("slicing" if slice_name else "cardinality", where))
                if el.get("max", "*") != "*" and count > int(el["max"]):
                    problems.append(("cardinality", where))
                instances.setdefault(eid, []).extend(found)
        problems += check_values(el, instances.get(eid, []), resource)
    if root is None:
        problems += check_extensions(top, resource)
    return problems


def nodes_at(eid: str, instances: dict[str, list[Node]]) -> list[Node]:
    """The instances of an element; one the differential does not list is reached from its parent."""
    if eid not in instances:
        parent_id, _, name = eid.rpartition(".")
        instances[eid] = [c for p in nodes_at(parent_id, instances) for c in children(p, name)]
    return instances[eid]


def check_values(el: dict[str, Any], nodes: list[Node], resource: dict[str, Any]) -> list[tuple[str, str]]:
    problems = []
    for node in nodes:
        for key, fixed in el.items():
            if key.startswith("fixed") and node.value != fixed:
                problems.append(("fixed", node.expression))
            if key == "patternCodeableConcept":
                have = {(c.get("system"), c.get("code")) for c in node.value.get("coding", [])}
                if not {(c["system"], c["code"]) for c in fixed["coding"]} <= have:
                    problems.append(("pattern", node.expression))
        binding = el.get("binding")
        if binding and binding["strength"] == "required" and binding["valueSet"].startswith(BASE):
            allowed = valueset_codes(binding["valueSet"])
            if isinstance(node.value, str):  # a code: some system of the ValueSet has it
                codings = [{"system": s, "code": node.value} for s, c in allowed if c == node.value]
                codings = codings[:1] or [{"code": node.value}]
            else:
                codings = node.value.get("coding", []) if isinstance(node.value, dict) else []
            if not codings or any((c.get("system"), c.get("code")) not in allowed for c in codings):
                problems.append(("binding", node.expression))
        for c in el.get("constraint", []):
            got = evaluate(node.value, c["expression"], {"resource": resource, "context": node.value})
            if got == [False]:
                problems.append((c["key"], node.expression))
    return problems


def walk(node: Node, path: str, kind: str = "") -> list[tuple[Node, str, str]]:
    """Every extension below ``node``: (extension, path of its parent element, parent datatype)."""
    out: list[tuple[Node, str, str]] = []
    if not isinstance(node.value, dict):
        return out
    for ext in children(node, "extension"):
        out.append((ext, path, kind))
        out += walk_values(ext, f"{path}.extension")
    out += walk_values(node, path)
    return out


def walk_values(node: Node, path: str) -> list[tuple[Node, str, str]]:
    out: list[tuple[Node, str, str]] = []
    for key, v in node.value.items():
        if key in ("extension", "resourceType") or not isinstance(v, (dict, list)):
            continue
        kind = "Address" if key in ("address", "valueAddress") else ""
        for child in children(node, key):
            out += walk(child, f"{path}.{key}", kind)
    return out


def check_extensions(top: Node, resource: dict[str, Any]) -> list[tuple[str, str]]:
    """Our extensions wherever they are: in one of their contexts, with their own rules."""
    problems = []
    for ext, parent_path, kind in walk(top, resource["resourceType"]):
        url = ext.value.get("url", "")
        sd = structure_definitions().get(url)
        if sd is None:
            continue
        contexts = {c["expression"] for c in sd.get("context", [])}
        if parent_path not in contexts and kind not in contexts:
            problems.append(("extension-context", ext.expression))
        value_el = next(e for e in sd["differential"]["element"] if e["id"] == "Extension.value[x]")
        if value_el.get("max") != "0":
            allowed = {"value" + t["code"][0].upper() + t["code"][1:] for t in value_el["type"]}
            present = [k for k in ext.value if k.startswith("value")]
            if present and present[0] not in allowed:
                problems.append(("type", f"{ext.expression}.{present[0]}"))
        problems += [
            p
            for p in check({"resourceType": "Extension", **ext.value}, url, ext)
            if p[0] != "profile-unknown"
        ]
    return problems
