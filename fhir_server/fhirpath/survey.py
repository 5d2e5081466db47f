"""Survey of the R4 base-spec invariants through :mod:`fhir_server.fhirpath`.

Every ``snapshot.element[].constraint[]`` with an ``expression`` in the core StructureDefinitions
(``Bundle-resources.json``, ``Bundle-types.json`` of the R4 examples package) is compiled, then
evaluated on every element of the official examples it applies to: the element at the
constraint's path (``Patient.contact``, ``Period``, ``Timing.repeat``), found by walking each
example with the R4 model's types; ``ele-1`` (path ``Element``) on every complex element,
``dom-*`` (``DomainResource``) on every resource. ``%resource``/``%rootResource`` are the example.

Outcomes per constraint: ``compile-error``, ``eval-error`` (raised on some element),
``false`` (evaluated to false on some official example, which the examples should not do: an
engine defect or an example that breaks the rule), ``ok``, or ``unexercised`` (no element of the
examples is in its context).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fhirpathpy.engine.nodes import ResourceNode

from .corrections import corrected
from .engine import MODEL, compile_tree, run

__all__ = ["Invariant", "InvariantOutcome", "load_invariants", "survey", "walk"]

_REPO = Path(__file__).resolve().parents[2]
PACKAGE = _REPO / ".cache" / "hl7.fhir.r4.examples" / "package"


@dataclass(frozen=True, slots=True)
class Invariant:
    key: str
    path: str
    expression: str
    severity: str


@dataclass(slots=True)
class InvariantOutcome:
    invariant: Invariant
    status: str = "unexercised"
    evaluated: int = 0
    detail: str = ""
    examples: list[str] = field(default_factory=list)


def load_invariants(package: Path = PACKAGE) -> list[Invariant]:
    """The distinct (key, path, expression) constraints of the core resources and types."""
    seen: set[tuple[str, str, str]] = set()
    out: list[Invariant] = []
    for name in ("Bundle-types.json", "Bundle-resources.json"):
        bundle = json.loads((package / name).read_text(encoding="utf-8"))
        for entry in bundle.get("entry", ()):
            sd = entry.get("resource") or {}
            if sd.get("resourceType") != "StructureDefinition" or sd.get("derivation") == "constraint":
                continue  # profiles (SimpleQuantity, MoneyQuantity...) apply only when claimed
            for element in (sd.get("snapshot") or {}).get("element", ()):
                for c in element.get("constraint", ()):
                    expr = c.get("expression")
                    if not expr:
                        continue
                    # inherited constraints repeat on every element; keep them at their source
                    path = element["path"]
                    src = c.get("source", "")
                    if src and not src.endswith("/" + sd["id"]):
                        continue
                    k = (c["key"], path, expr)
                    if k not in seen:
                        seen.add(k)
                        out.append(Invariant(c["key"], path, expr, c.get("severity", "error")))
    return out


_PRIMITIVE_OR_SKIP = {"BackboneElement", "Element"}


Owner = tuple[Mapping[str, Any], Mapping[str, Any]]  # (%resource, %rootResource)


def walk(
    data: Mapping[str, Any], path: str, owner: Owner | None = None
) -> Iterator[tuple[str, Any, Owner, str]]:
    """Every complex element under ``data`` (itself first) as (definition path, element, owner):
    the path is rooted at the data type for data types (``Period``) and at the resource for
    backbone elements (``Patient.contact``); a resource (Bundle entry, contained) starts at its
    own type. ``owner`` is (%resource, %rootResource): the nearest resource, and for a contained
    resource its container (fhirpath variables, FHIR R4 §2.1.9.1 / R5 ``%rootResource``).
    Each is yielded as (context path, node, owner, type path); an element of a data type or a
    primitive is also yielded under its element path (``Organization.telecom``,
    ``Narrative.div``, ``RiskAssessment.prediction.probability[x]``, ``Element.extension``)."""
    if owner is None:
        owner = (data, data)
    yield path, data, owner, path
    for key, value in data.items():
        if key.startswith("_") or key == "resourceType":
            continue
        child = f"{path}.{key}"
        child = MODEL["pathsDefinedElsewhere"].get(child, child)
        typ = MODEL["path2Type"].get(child)
        element_path = child
        if typ is None:
            for base, choices in _choices().get(path, {}).items():
                for suffix in choices:
                    if key == base + suffix:
                        typ = suffix
                        child = f"{path}.{base}"
                        element_path = f"{child}[x]"
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, Mapping) and "resourceType" in item:
                pass
            elif typ and typ not in _PRIMITIVE_OR_SKIP:
                yield element_path, item, owner, typ
                if key == "extension":
                    yield "Element.extension", item, owner, typ
            if not isinstance(item, Mapping):
                continue
            if "resourceType" in item:
                inner = (item, owner[0]) if key == "contained" else (item, item)
                yield from walk(item, str(item["resourceType"]), inner)
            elif typ and typ not in _PRIMITIVE_OR_SKIP and typ[0].isupper():
                yield from walk(item, typ, owner)
            else:
                yield from walk(item, child, owner)


_CHOICES: dict[str, dict[str, list[str]]] = {}


def _choices() -> dict[str, dict[str, list[str]]]:
    """{parent path: {element name: [type suffixes]}} from the model's choice paths."""
    if not _CHOICES:
        for full, types in MODEL["choiceTypePaths"].items():
            parent, _, name = full.rpartition(".")
            _CHOICES.setdefault(parent, {})[name] = list(types)
    return _CHOICES


def _parents(type_name: str) -> list[str]:
    chain = [type_name]
    while (parent := MODEL["type2Parent"].get(chain[-1])) is not None:
        chain.append(parent)
    return chain


def survey(package: Path = PACKAGE, per_path: int = 200) -> list[InvariantOutcome]:
    """Evaluate every base invariant on (at most ``per_path`` of) the elements it applies to."""
    invariants = load_invariants(package)
    outcomes = [InvariantOutcome(inv) for inv in invariants]
    by_path: dict[str, list[InvariantOutcome]] = {}
    for o in outcomes:
        by_path.setdefault(o.invariant.path, []).append(o)
    trees: dict[str, Any] = {}
    for o in outcomes:
        try:
            trees[o.invariant.expression] = compile_tree(corrected(o.invariant.key, o.invariant.expression))
        except Exception as exc:
            o.status, o.detail = "compile-error", str(exc)[:200]
    counts: dict[str, int] = {}
    for file in sorted(package.glob("*.json")):
        if file.name.startswith(("StructureDefinition-", "Bundle-types", "Bundle-resources")):
            continue  # definitions are large and exercise nothing the others do not
        try:
            resource = json.loads(file.read_text(encoding="utf-8"))
        except ValueError:
            continue
        if not isinstance(resource, dict) or "resourceType" not in resource:
            continue
        for path, node, (res, root), node_type in walk(resource, resource["resourceType"]):
            contexts = [path]
            if path != node_type:
                pass  # an element path; its type's invariants come with the type path
            elif "." not in path:  # a type: its ancestors' invariants too (DomainResource, Element)
                contexts += _parents(path)[1:]
            else:
                contexts.append("Element")
            for ctx_path in contexts:
                todo = by_path.get(ctx_path)
                if not todo or counts.get(ctx_path, 0) >= per_path:
                    continue
                counts[ctx_path] = counts.get(ctx_path, 0) + 1
                target = ResourceNode.create_node(node, node_type)
                for o in todo:
                    tree = trees.get(o.invariant.expression)
                    if tree is None:
                        continue
                    _check(o, tree, target, (res, root), file.name)
    for o in outcomes:
        if o.status == "unexercised" and o.evaluated:
            o.status = "ok"
    return outcomes


def _check(o: InvariantOutcome, tree: Any, target: Any, owner: Owner, name: str) -> None:
    variables = {"resource": owner[0], "rootResource": owner[1], "context": target}
    o.evaluated += 1
    try:
        result = run(tree, target, variables)
    except Exception as exc:
        if o.status != "eval-error":
            o.status, o.detail = "eval-error", f"{name}: {exc}"[:240]
        return
    if result == [False] and o.status not in ("eval-error",):
        o.status = "false"
        if len(o.examples) < 3:
            o.examples.append(name)
