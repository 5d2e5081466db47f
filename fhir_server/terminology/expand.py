"""ValueSet expansion (valueset.html#expansion) over CodeSystems with known content.

Semantics (R4 ValueSet.compose): "All the conditions in an include must be true. If a
system is listed, all the codes from the system are listed. If one or more filters are
listed, all of the filters must apply. If one or more value sets are listed, the codes
must be in all the value sets. E.g. each include is 'include all the codes that meet all
these conditions'" (so a part's imported value sets are intersected with each other and
with its system's codes; the parts of ``include`` are united, then every ``exclude`` part
is removed). "If there are no codes or filters, the entire code system is included."

Filters (R4 filter-operator), on the ``concept`` (or ``code``) property unless said:
``is-a`` "all concept ids that have a transitive is-a relationship with the concept Id
provided as the value, including the provided concept itself"; ``descendent-of`` the same
"excluding the provided concept itself"; ``is-not-a`` "does not have an is-a relationship
with the provided value"; ``generalizes`` the ancestors and self; ``in`` "is in the set
of codes or concepts specified in the provided value (comma separated list)"; ``=`` "the
specified property of the code equals the provided value" (any concept property, also
``parent``/``child`` for a direct link, or ``concept``/``code`` itself). ``regex``,
``not-in``, ``exists`` and filters on properties a CodeSystem does not define are
refused (``NotSupportedError``), never guessed.

A ValueSet whose compose cannot be expanded (a CodeSystem without content here, such as
SNOMED CT or LOINC) falls back to its published ``expansion`` when it has a complete one;
otherwise the whole expansion is refused. Every step is bounded by ``limit`` codes
(``TooCostlyError``): there is no partial answer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from .errors import InvalidCodeError, NotSupportedError, TooCostlyError, UnknownResourceError
from .model import CodeSystemContent, ComposePart, ValueSetDefinition

Code = tuple[str, str]  # (system, code)
CodeSystemLookup = Callable[[str, str | None], Awaitable[CodeSystemContent | None]]
ValueSetLookup = Callable[[str, str | None], Awaitable[ValueSetDefinition | None]]

HIERARCHY_FILTERS = frozenset({"is-a", "descendent-of", "is-not-a", "generalizes"})
CONCEPT_PROPERTIES = frozenset({"concept", "code"})


class Expander:
    def __init__(self, codesystem: CodeSystemLookup, valueset: ValueSetLookup, limit: int) -> None:
        self.codesystem = codesystem
        self.valueset = valueset
        self.limit = limit

    def check(self, codes: set[Code] | frozenset[Code], what: str) -> None:
        if len(codes) > self.limit:
            raise TooCostlyError(
                f"{what} has more than {self.limit} codes (the expansion limit): refused rather than cut"
            )

    async def expand_ref(self, ref: str, stack: tuple[str, ...] = ()) -> frozenset[Code]:
        url, _, version = ref.partition("|")
        if url in stack:
            raise NotSupportedError(f"ValueSet {url} imports itself (through {' -> '.join(stack)})")
        vs = await self.valueset(url, version or None)
        if vs is None:
            raise UnknownResourceError(f"Unknown ValueSet '{ref}'")
        return await self.expand(vs, (*stack, url))

    async def expand(self, vs: ValueSetDefinition, stack: tuple[str, ...] = ()) -> frozenset[Code]:
        name = f"ValueSet {vs.url or '(no url)'}"
        if vs.has_compose:
            try:
                return await self._compose(vs, stack, name)
            except NotSupportedError:
                if vs.expansion is None:
                    raise
        if vs.expansion is not None:
            codes = frozenset((s, c) for s, cs in vs.expansion.items() for c in cs)
            self.check(codes, name)
            return codes
        raise NotSupportedError(f"{name} has neither a compose nor an expansion to expand")

    async def _compose(self, vs: ValueSetDefinition, stack: tuple[str, ...], name: str) -> frozenset[Code]:
        included: set[Code] = set()
        for part in vs.include:
            included |= await self.part(part, stack)
            self.check(included, name)
        for part in vs.exclude:
            if not included:
                break
            included -= await self.part(part, stack)
        return frozenset(included)

    async def part(self, part: ComposePart, stack: tuple[str, ...]) -> set[Code]:
        imported: set[Code] | None = None
        for ref in part.valuesets:
            codes = set(await self.expand_ref(ref, stack))
            imported = codes if imported is None else imported & codes
        if part.system is None:
            return imported or set()
        system = part.system
        if part.concepts is not None and not part.filters:
            own = {(system, c) for c in part.concepts}
        else:
            cs = await self.content(system, part.version)
            selected = set(cs.concepts)
            for prop, op, value in part.filters:
                selected &= self.filter(cs, prop, op, value)
            if part.concepts is not None:
                selected &= set(part.concepts)
            own = {(system, c) for c in selected}
        self.check(own, f"The include of {system}")
        return own if imported is None else own & imported

    async def content(self, system: str, version: str | None) -> CodeSystemContent:
        cs = await self.codesystem(system, version)
        if cs is None:
            label = f"{system}|{version}" if version else system
            raise NotSupportedError(f"CodeSystem {label} is not known here: its codes cannot be enumerated")
        if not cs.complete:
            raise NotSupportedError(
                f"CodeSystem {system} has content '{cs.content}' here, not 'complete': "
                "its codes cannot be enumerated"
            )
        return cs

    def filter(self, cs: CodeSystemContent, prop: str, op: str, value: str) -> set[str]:
        if op in HIERARCHY_FILTERS and prop in CONCEPT_PROPERTIES:
            if value not in cs.concepts:
                raise InvalidCodeError(f"Code '{value}' of filter {prop} {op} is not in CodeSystem {cs.url}")
            if op == "is-a":
                return cs.descendants(value)
            if op == "descendent-of":
                return cs.descendants(value) - {value}
            if op == "generalizes":
                return cs.ancestors(value)
            return set(cs.concepts) - cs.descendants(value)
        if op in ("=", "in"):
            wanted = {v.strip() for v in value.split(",")} if op == "in" else {value}
            if prop in CONCEPT_PROPERTIES:
                return {c for c in wanted if c in cs.concepts}
            if prop == "parent":
                return {c.code for c in cs.concepts.values() if wanted & set(c.parents)}
            if prop == "child":
                kids = cs.children()
                return {p for p, cs_ in kids.items() if wanted & set(cs_)}
            if any(prop in c.properties for c in cs.concepts.values()):
                return {c.code for c in cs.concepts.values() if c.properties.get(prop) in wanted}
        raise NotSupportedError(f"Filter '{prop} {op} {value}' on CodeSystem {cs.url} is not supported here")
