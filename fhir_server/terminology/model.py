"""CodeSystem and ValueSet content as the terminology service uses it.

``CodeSystemContent`` holds the concepts of a CodeSystem with their is-a hierarchy
(codesystem.html: "concept ... Concepts that are in the code system. The concept
definitions are inherently hierarchical", the nesting of ``concept`` and the ``parent``,
``child`` and ``subsumedBy`` properties of concept-properties); ``ValueSetDefinition`` the
``compose`` (valueset.html#compose) reduced to what expansion needs, and a published
``expansion`` where one came with it. Both are built either from a FHIR resource (stored
or in ``terminology/``) or from the compact core data (``scripts/build_terminology.py``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

HIERARCHY_PROPERTIES = frozenset({"parent", "subsumedBy", "child"})


@dataclass(frozen=True)
class Designation:
    """A concept designation (codesystem.html: ``concept.designation``): language, use, value."""

    value: str
    language: str | None = None
    use_system: str | None = None
    use_code: str | None = None


@dataclass(frozen=True)
class Concept:
    code: str
    display: str
    parents: tuple[str, ...] = ()
    properties: Mapping[str, str] = field(default_factory=dict)
    designations: tuple[Designation, ...] = ()
    definition: str | None = None  # kept for stored and terminology/ CodeSystems, not the core


@dataclass
class CodeSystemContent:
    url: str
    version: str | None
    content: str  # not-present | example | fragment | complete | supplement
    concepts: dict[str, Concept]
    hierarchy_meaning: str | None = None
    _children: dict[str, list[str]] | None = field(default=None, repr=False)
    name: str | None = None
    property_types: Mapping[str, str] = field(default_factory=dict)  # property code -> type

    @property
    def complete(self) -> bool:
        return self.content == "complete"

    @property
    def hierarchical(self) -> bool:
        return any(c.parents for c in self.concepts.values())

    def children(self) -> dict[str, list[str]]:
        if self._children is None:
            kids: dict[str, list[str]] = {}
            for c in self.concepts.values():
                for p in c.parents:
                    kids.setdefault(p, []).append(c.code)
            self._children = kids
        return self._children

    def descendants(self, code: str) -> set[str]:
        """``code`` and every concept it subsumes (is-a closure, inclusive)."""
        return _closure(code, self.children())

    def ancestors(self, code: str) -> set[str]:
        """``code`` and every concept that subsumes it (inclusive)."""
        parents = {c.code: list(c.parents) for c in self.concepts.values()}
        return _closure(code, parents)

    @classmethod
    def from_resource(cls, cs: Mapping[str, Any]) -> CodeSystemContent:
        concepts: dict[str, Concept] = {}
        parents: dict[str, list[str]] = {}
        props: dict[str, dict[str, str]] = {}
        displays: dict[str, str] = {}
        designations: dict[str, tuple[Designation, ...]] = {}
        definitions: dict[str, str] = {}

        def add_parent(child: str, parent: str) -> None:
            lst = parents.setdefault(child, [])
            if parent != child and parent not in lst:
                lst.append(parent)

        def walk(items: Iterable[Any], parent: str | None) -> None:
            for c in items:
                code = c.get("code") if isinstance(c, dict) else None
                if not isinstance(code, str):
                    continue
                displays.setdefault(code, str(c.get("display", "")))
                parents.setdefault(code, [])
                if code not in designations:
                    found = (_designation(d) for d in c.get("designation", []) or [])
                    designations[code] = tuple(d for d in found if d is not None)
                    if isinstance(c.get("definition"), str):
                        definitions[code] = c["definition"]
                if parent is not None:
                    add_parent(code, parent)
                for p in c.get("property", []) or []:
                    value = property_value(p)
                    if value is None or not isinstance(p.get("code"), str):
                        continue
                    if p["code"] in ("parent", "subsumedBy"):
                        add_parent(code, value)
                    elif p["code"] == "child":
                        add_parent(value, code)
                    else:
                        props.setdefault(code, {})[p["code"]] = value
                walk(c.get("concept", []) or [], code)

        walk(cs.get("concept", []) or [], None)
        for code, display in displays.items():
            kept = tuple(p for p in parents.get(code, []) if p in displays)
            concepts[code] = Concept(
                code, display, kept, props.get(code, {}), designations[code], definitions.get(code)
            )
        return cls(
            url=str(cs.get("url", "")),
            version=cs.get("version"),
            content=str(cs.get("content", "complete")),
            concepts=concepts,
            hierarchy_meaning=cs.get("hierarchyMeaning"),
            name=cs.get("title") or cs.get("name"),
            property_types={
                p["code"]: p["type"]
                for p in cs.get("property", []) or []
                if isinstance(p, dict) and isinstance(p.get("code"), str) and isinstance(p.get("type"), str)
            },
        )

    @classmethod
    def from_compact(cls, url: str, raw: Mapping[str, Any]) -> CodeSystemContent:
        concepts = {
            item[0]: Concept(
                item[0],
                item[1],
                tuple(item[2]),
                item[3] if len(item) > 3 else {},
                tuple(_compact_designation(d) for d in item[4]) if len(item) > 4 else (),
            )
            for item in raw["concepts"]
        }
        return cls(
            url,
            raw.get("version"),
            raw.get("content", "complete"),
            concepts,
            raw.get("hierarchyMeaning"),
            name=raw.get("name"),
            property_types=raw.get("properties", {}),
        )


def _designation(d: Any) -> Designation | None:
    if not isinstance(d, dict) or not isinstance(d.get("value"), str):
        return None
    use: dict[str, Any] = d["use"] if isinstance(d.get("use"), dict) else {}
    return Designation(d["value"], d.get("language"), use.get("system"), use.get("code"))


def _compact_designation(d: list[str]) -> Designation:
    value, language, use = d
    system, _, code = use.partition("|")
    return Designation(value, language or None, system or None, code or None)


def _closure(start: str, edges: Mapping[str, list[str]]) -> set[str]:
    out = {start}
    todo = [start]
    while todo:
        for nxt in edges.get(todo.pop(), ()):
            if nxt not in out:
                out.add(nxt)
                todo.append(nxt)
    return out


def property_value(prop: Mapping[str, Any]) -> str | None:
    """A concept property's value as a string (``valueCode``, ``valueString``, ...)."""
    for key, value in prop.items():
        if key.startswith("value") and not isinstance(value, dict | list):
            return str(value).lower() if isinstance(value, bool) else str(value)
    return None


@dataclass(frozen=True)
class ComposePart:
    """One ``compose.include`` or ``compose.exclude``."""

    system: str | None = None
    version: str | None = None
    concepts: tuple[str, ...] | None = None
    filters: tuple[tuple[str, str, str], ...] = ()  # (property, op, value)
    valuesets: tuple[str, ...] = ()


@dataclass(frozen=True)
class ValueSetDefinition:
    url: str
    version: str | None
    include: tuple[ComposePart, ...] = ()
    exclude: tuple[ComposePart, ...] = ()
    has_compose: bool = False
    expansion: Mapping[str, tuple[str, ...]] | None = None  # system -> codes (published)
    name: str | None = None
    status: str | None = None

    @classmethod
    def from_resource(cls, vs: Mapping[str, Any]) -> ValueSetDefinition:
        compose = vs.get("compose")
        expansion: dict[str, list[str]] | None = None
        exp = vs.get("expansion")
        if isinstance(exp, dict) and not _limited(exp):
            expansion = {}
            _flatten(exp.get("contains", []) or [], expansion)
        return cls._build(vs, compose if isinstance(compose, dict) else None, expansion, _part_of_resource)

    @classmethod
    def from_compact(cls, url: str, raw: Mapping[str, Any]) -> ValueSetDefinition:
        return cls._build({"url": url, **raw}, raw.get("compose"), raw.get("expansion"), _part_of_compact)

    @classmethod
    def _build(
        cls,
        vs: Mapping[str, Any],
        compose: Mapping[str, Any] | None,
        expansion: Mapping[str, list[str]] | None,
        part: Any,
    ) -> ValueSetDefinition:
        compose = compose or {}
        return cls(
            url=str(vs.get("url", "")),
            version=vs.get("version"),
            include=tuple(part(p) for p in compose.get("include", []) or [] if isinstance(p, dict)),
            exclude=tuple(part(p) for p in compose.get("exclude", []) or [] if isinstance(p, dict)),
            has_compose=bool(compose.get("include")),
            expansion={s: tuple(c) for s, c in expansion.items()} if expansion is not None else None,
            name=vs.get("title") or vs.get("name"),
            status=vs.get("status"),
        )


def _limited(exp: Mapping[str, Any]) -> bool:
    """A cut expansion (the R4 publisher marks them with a ``limitedExpansion`` parameter)."""
    return any(
        p.get("name") == "limitedExpansion" for p in exp.get("parameter", []) or [] if isinstance(p, dict)
    )


def _flatten(contains: Iterable[Any], out: dict[str, list[str]]) -> None:
    for c in contains:
        if not isinstance(c, dict):
            continue
        if isinstance(c.get("system"), str) and isinstance(c.get("code"), str) and not c.get("abstract"):
            out.setdefault(c["system"], []).append(c["code"])
        _flatten(c.get("contains", []) or [], out)


def _part_of_resource(p: Mapping[str, Any]) -> ComposePart:
    concepts = p.get("concept")
    return ComposePart(
        system=p.get("system"),
        version=p.get("version"),
        concepts=(
            tuple(c["code"] for c in concepts if isinstance(c, dict) and isinstance(c.get("code"), str))
            if isinstance(concepts, list)
            else None
        ),
        filters=tuple(
            (str(f.get("property", "")), str(f.get("op", "")), str(f.get("value", "")))
            for f in p.get("filter", []) or []
            if isinstance(f, dict)
        ),
        valuesets=tuple(v for v in p.get("valueSet", []) or [] if isinstance(v, str)),
    )


def _part_of_compact(p: Mapping[str, Any]) -> ComposePart:
    concepts = p.get("concept")
    return ComposePart(
        system=p.get("system"),
        version=p.get("version"),
        concepts=tuple(concepts) if concepts is not None else None,
        filters=tuple(
            (f.get("property", ""), f.get("op", ""), f.get("value", "")) for f in p.get("filter", [])
        ),
        valuesets=tuple(p.get("valueSet", [])),
    )
