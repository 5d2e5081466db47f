"""ConceptMap content as ``$translate`` uses it (conceptmap.html).

R4 ConceptMap: "A statement of relationships from one set of concepts to one or more other
concepts"; ``group`` "A group of mappings that all have the same source and target
system", ``group.element`` "Mappings for an individual concept in the source to one or
more concepts in the target", ``element.target.equivalence`` "The equivalence between the
source and target concepts (counting for the dependencies and products). The equivalence
is read from target to source (e.g. the target is 'wider' than the source)".

``translate`` follows ConceptMap-translate (R4 OperationDefinition): ``reverse`` "if this is
true, then the operation should return all the codes that might be mapped to this code.
This parameter reverses the meaning of the source and target parameters"; ``result`` "True
if the concept could be translated successfully. The value can only be true if at least one
returned match has an equivalence which is not unmatched or disjoint". A reverse match keeps
the equivalence as the map states it (read from the map's target to its source).

``group.unmapped`` (R4: "What to do when there is no mapping for the source concept"):
``provided`` gives the source code itself in the group's target system, ``fixed`` the
group's fixed code, both with equivalence ``inexact`` only when the element list has no
entry for the code (forward direction only); ``other-map`` is not followed (the match list
says so in ``message``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

NOT_A_MATCH = frozenset({"unmatched", "disjoint"})


@dataclass(frozen=True)
class Target:
    code: str
    display: str
    equivalence: str


@dataclass(frozen=True)
class Element:
    code: str
    display: str
    targets: tuple[Target, ...]


@dataclass(frozen=True)
class Group:
    source: str | None
    source_version: str | None
    target: str | None
    target_version: str | None
    elements: tuple[Element, ...]
    unmapped: Mapping[str, str] | None = None


@dataclass(frozen=True)
class Match:
    equivalence: str
    system: str | None
    code: str
    display: str
    source: str  # the ConceptMap's url
    version: str | None = None


@dataclass(frozen=True)
class ConceptMapContent:
    url: str
    version: str | None
    name: str | None
    source: str | None  # source ValueSet (sourceUri / sourceCanonical)
    target: str | None  # target ValueSet
    groups: tuple[Group, ...]

    @classmethod
    def from_resource(cls, cm: Mapping[str, Any]) -> ConceptMapContent:
        groups: list[Group] = []
        for g in cm.get("group", []) or []:
            if not isinstance(g, dict):
                continue
            elements = tuple(
                Element(
                    str(e.get("code", "")),
                    str(e.get("display", "")),
                    tuple(
                        Target(
                            str(t.get("code", "")), str(t.get("display", "")), str(t.get("equivalence", ""))
                        )
                        for t in e.get("target", []) or []
                        if isinstance(t, dict)
                    ),
                )
                for e in g.get("element", []) or []
                if isinstance(e, dict)
            )
            unmapped = g.get("unmapped")
            groups.append(
                Group(
                    g.get("source"),
                    g.get("sourceVersion"),
                    g.get("target"),
                    g.get("targetVersion"),
                    elements,
                    {k: str(v) for k, v in unmapped.items() if isinstance(v, str)}
                    if isinstance(unmapped, dict)
                    else None,
                )
            )
        return cls(
            url=str(cm.get("url", "")),
            version=cm.get("version"),
            name=cm.get("title") or cm.get("name"),
            source=cm.get("sourceUri", cm.get("sourceCanonical")),
            target=cm.get("targetUri", cm.get("targetCanonical")),
            groups=tuple(groups),
        )

    @classmethod
    def from_compact(cls, url: str, raw: Mapping[str, Any]) -> ConceptMapContent:
        groups = tuple(
            Group(
                g.get("source"),
                g.get("sourceVersion"),
                g.get("target"),
                g.get("targetVersion"),
                tuple(Element(e[0], e[1], tuple(Target(*t) for t in e[2])) for e in g.get("element", [])),
                g.get("unmapped"),
            )
            for g in raw.get("group", [])
        )
        return cls(url, raw.get("version"), raw.get("name"), raw.get("source"), raw.get("target"), groups)

    def translate(
        self, system: str, code: str, *, target_system: str | None = None, reverse: bool = False
    ) -> tuple[list[Match], list[str]]:
        """The matches of ``system|code`` in this map, and notes (for ``message``)."""
        matches: list[Match] = []
        notes: list[str] = []
        for g in self.groups:
            if not reverse:
                if g.source != system or (target_system is not None and g.target != target_system):
                    continue
                found = False
                for e in g.elements:
                    if e.code != code:
                        continue
                    found = True
                    for t in e.targets:
                        matches.append(
                            Match(t.equivalence or "equivalent", g.target, t.code, t.display, self.url)
                        )
                if not found and g.unmapped:
                    mode = g.unmapped.get("mode")
                    if mode == "provided":
                        matches.append(Match("inexact", g.target, code, "", self.url))
                    elif mode == "fixed" and g.unmapped.get("code"):
                        matches.append(
                            Match(
                                "inexact",
                                g.target,
                                g.unmapped["code"],
                                g.unmapped.get("display", ""),
                                self.url,
                            )
                        )
                    elif mode == "other-map":
                        notes.append(
                            f"{self.url} refers unmapped codes to {g.unmapped.get('url')}: not followed"
                        )
            else:
                if g.target != system or (target_system is not None and g.source != target_system):
                    continue
                for e in g.elements:
                    for t in e.targets:
                        if t.code == code:
                            matches.append(
                                Match(t.equivalence or "equivalent", g.source, e.code, e.display, self.url)
                            )
        return matches, notes
