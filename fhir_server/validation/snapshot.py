"""A profile's element definitions as a tree: its differential over its base chain.

Spec: http://hl7.org/fhir/R4/profiling.html and elementdefinition.html. A constraint
StructureDefinition states only what it changes (``differential``); the ``snapshot`` is
the base's elements with those changes applied. Everything the base R4 type says is
already enforced by the base validator (fhirkit + :mod:`.validator`), so the tree kept
here holds only what profiles add along the chain ``baseDefinition`` -> ... -> a core
type: per element (keyed by its ``id`` steps, so slices are their own nodes) the
cardinality, ``fixed[x]``, ``pattern[x]``, binding, constraints, type restrictions
(with extension profiles) and slicing. A derived profile's differential is applied over
its base profile's tree (values it states replace the base's; constraints add up).

Element ids: ``Patient.identifier:insuranceNumber.value`` is the child ``value`` of the
slice ``insuranceNumber`` of ``identifier``; ``Observation.value[x]`` keeps its choice
name (it matches ``valueQuantity``...), ``Observation.valueQuantity`` is its typed form.
Extension slices without ``slicing`` get the implicit one of ``extension``: by ``url``,
open (extensibility.html).
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import Any

from ..definitions import Constraint

_STEP = re.compile(r"([^.:]+)(?::([^.]+))?")


@dataclass
class Discriminator:
    type: str  # value | pattern | type | exists | profile
    path: str  # "$this", "url", "system", "code.coding.code"


@dataclass
class Slicing:
    discriminators: list[Discriminator]
    rules: str = "open"  # open | closed | openAtEnd
    ordered: bool = False


@dataclass
class TypeRef:
    code: str
    profiles: tuple[str, ...] = ()
    target_profiles: tuple[str, ...] = ()


@dataclass
class ElementNode:
    """What profiles say about one element (or one slice of it)."""

    name: str  # "identifier", "value[x]", "valueQuantity"
    path: str  # definition path without slices: "Patient.identifier.value"
    id: str
    min: int | None = None
    max: str | None = None
    fixed: tuple[str, Any] | None = None  # (JSON type suffix, value): ("Uri", "http://...")
    pattern: tuple[str, Any] | None = None
    binding: tuple[str, str] | None = None  # (strength, valueSet url without version)
    constraints: list[Constraint] = field(default_factory=list)
    types: list[TypeRef] = field(default_factory=list)
    slicing: Slicing | None = None
    children: dict[str, ElementNode] = field(default_factory=dict)
    slices: dict[str, ElementNode] = field(default_factory=dict)

    @property
    def choice(self) -> bool:
        return self.name.endswith("[x]")

    def keys_for(self, json_keys: Any) -> list[str]:
        """The JSON property names of an object this element matches."""
        if not self.choice:
            return [self.name] if self.name in json_keys else []
        stem = self.name[:-3]
        return [k for k in json_keys if k.startswith(stem) and k[len(stem) : len(stem) + 1].isupper()]


@dataclass
class ProfileTree:
    url: str
    version: str | None
    type: str  # the resource (or datatype, for an extension) it constrains
    kind: str  # resource | complex-type ...
    root: ElementNode
    context: list[dict[str, Any]] = field(default_factory=list)  # extensions: where allowed
    context_invariants: list[str] = field(default_factory=list)


def _choice_value(el: dict[str, Any], prefix: str) -> tuple[str, Any] | None:
    for key, value in el.items():
        if key.startswith(prefix) and len(key) > len(prefix) and key[len(prefix)].isupper():
            return key[len(prefix) :], value
    return None


def _steps(element_id: str) -> list[tuple[str, str | None]]:
    return [(m.group(1), m.group(2)) for m in _STEP.finditer(element_id)]


def _node_for(root: ElementNode, element_id: str, path: str) -> ElementNode:
    steps = _steps(element_id)
    node = root
    walked = steps[0][0]
    for name, slice_name in steps[1:]:
        walked += "." + name
        child = node.children.get(name)
        if child is None:
            child = node.children[name] = ElementNode(name, _strip_slices(walked), walked)
        node = child
        if slice_name is not None:
            walked += ":" + slice_name
            sl = node.slices.get(slice_name)
            if sl is None:
                sl = node.slices[slice_name] = ElementNode(name, node.path, walked)
            node = sl
    return node


def _strip_slices(element_id: str) -> str:
    return ".".join(name for name, _ in _steps(element_id))


def apply_differential(tree: ProfileTree, sd: dict[str, Any]) -> ProfileTree:
    """A new tree: ``tree`` (the base's, or an empty one) with ``sd``'s differential applied."""
    out = copy.deepcopy(tree)
    out.url, out.version = sd.get("url", ""), sd.get("version")
    if sd.get("type") == "Extension":
        out.context = list(sd.get("context") or [])
        out.context_invariants = list(sd.get("contextInvariant") or [])
    for el in (sd.get("differential") or {}).get("element") or []:
        path = el.get("path")
        if type(path) is not str:
            continue
        element_id = el.get("id") or path
        if "." not in element_id:
            node = out.root
        else:
            node = _node_for(out.root, element_id, path)
        _apply(node, el)
    return out


def _apply(node: ElementNode, el: dict[str, Any]) -> None:
    if "min" in el:
        node.min = int(el["min"])
    if "max" in el:
        node.max = str(el["max"])
    fixed = _choice_value(el, "fixed")
    if fixed is not None:
        node.fixed = fixed
    pattern = _choice_value(el, "pattern")
    if pattern is not None:
        node.pattern = pattern
    binding = el.get("binding")
    if isinstance(binding, dict) and binding.get("valueSet") and binding.get("strength"):
        node.binding = (str(binding["strength"]), str(binding["valueSet"]).split("|")[0])
    for con in el.get("constraint") or []:
        if isinstance(con, dict) and con.get("key") and con.get("expression"):
            c = Constraint(con["key"], con.get("severity", "error"), con["expression"], con.get("human", ""))
            node.constraints = [x for x in node.constraints if x.key != c.key] + [c]
    if el.get("type"):
        node.types = [
            TypeRef(
                str(t.get("code", "")),
                tuple(t.get("profile") or ()),
                tuple(t.get("targetProfile") or ()),
            )
            for t in el["type"]
            if isinstance(t, dict)
        ]
    slicing = el.get("slicing")
    if isinstance(slicing, dict):
        node.slicing = Slicing(
            [
                Discriminator(str(d.get("type")), str(d.get("path", "$this")))
                for d in slicing.get("discriminator") or []
                if isinstance(d, dict)
            ],
            str(slicing.get("rules", "open")),
            bool(slicing.get("ordered", False)),
        )


def empty_tree(type_name: str, kind: str = "resource") -> ProfileTree:
    return ProfileTree("", None, type_name, kind, ElementNode(type_name, type_name, type_name))


def finish(tree: ProfileTree) -> ProfileTree:
    """Implicit slicing: sliced ``extension``/``modifierExtension`` without a ``slicing``
    are sliced by ``url``, open."""

    def visit(node: ElementNode) -> None:
        for child in node.children.values():
            if child.slices and child.slicing is None and child.name in ("extension", "modifierExtension"):
                child.slicing = Slicing([Discriminator("value", "url")], "open")
            visit(child)
            for sl in child.slices.values():
                visit(sl)

    visit(tree.root)
    return tree
