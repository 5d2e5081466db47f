"""The terminology service: ValueSet expansion and subsumption over three sources.

``Terminology.expand(ref)`` gives the (system, code) pairs of a ValueSet named by its
canonical url (``url`` or ``url|version``) or, for one stored here, by ``ValueSet/[id]``
(or the same on this server's base URL). ``Terminology.subsumption(system, code,
direction)`` gives a code with its descendants (``"descendants"``: what it subsumes) or
its ancestors (``"ancestors"``: what subsumes it), both inclusive.

Sources in order (``sources.py``): resources stored in the server, the ``terminology/``
folder, the shipped R4 core. Expansions are cached per reference together with what the
store held under every url they consulted; a cached expansion is used only after one
search confirms those stored CodeSystems/ValueSets are unchanged (so a ValueSet created,
updated or deleted through the API, in this process or another, takes effect at once).
"""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

import orjson

from ..storage.protocol import Store
from .conceptmap import NOT_A_MATCH, ConceptMapContent, Match
from .errors import InvalidCodeError, NotSupportedError, TooCostlyError, UnknownResourceError
from .expand import Code, Expander
from .model import CodeSystemContent, ValueSetDefinition
from .results import CodeValidation, ExpansionEntry, LookupResult, Translation
from .sources import (
    DEFAULT_FOLDER,
    CoreSource,
    FolderSource,
    Found,
    Stamp,
    StoreSource,
    pick,
    split_canonical,
)

Direction = Literal["descendants", "ancestors"]
Subsumption = Literal["equivalent", "subsumes", "subsumed-by", "not-subsumed"]
DEFAULT_LIMIT = 10_000
CACHE_SIZE = 256
_LOCAL_ID = re.compile(r"^ValueSet/([A-Za-z0-9\-.]{1,64})$")


@dataclass
class _Deps:
    """What a result depended on in the store: per url, the stored resources under it;
    per ``ValueSet/id``, its version (None: absent)."""

    urls: dict[str, Stamp] = field(default_factory=dict)
    ids: dict[str, int | None] = field(default_factory=dict)


class Terminology:
    def __init__(
        self,
        store: Store | None,
        *,
        folder: Path = DEFAULT_FOLDER,
        core: CoreSource | None = None,
        limit: int = DEFAULT_LIMIT,
        base_url: str | None = None,
    ) -> None:
        self.stored = StoreSource(store) if store is not None else None
        self.folder = FolderSource(folder)
        self.core = core or CoreSource()
        self.limit = limit
        self.base_url = base_url.rstrip("/") if base_url else None
        self._expansions: OrderedDict[str, tuple[frozenset[Code], _Deps]] = OrderedDict()
        self._parsed: dict[tuple[str, str, int], CodeSystemContent | ValueSetDefinition] = {}

    # ------------------------------------------------------------------ public API

    async def expand(self, valueset_ref: str) -> frozenset[Code]:
        """The codes of the ValueSet ``valueset_ref`` (see the module docstring)."""
        cached = self._expansions.get(valueset_ref)
        if cached is not None and await self._fresh(cached[1]):
            self._expansions.move_to_end(valueset_ref)
            return cached[0]
        deps = _Deps()
        expander = self._expander(deps)
        local = self._local_id(valueset_ref)
        if local is not None:
            vs = await self._stored_by_id(local, deps)
            if vs is None:
                raise UnknownResourceError(f"Unknown ValueSet '{valueset_ref}'")
            codes = await expander.expand(vs, (vs.url,) if vs.url else ())
        else:
            codes = await expander.expand_ref(valueset_ref)
        self._expansions[valueset_ref] = (codes, deps)
        if len(self._expansions) > CACHE_SIZE:
            self._expansions.popitem(last=False)
        return codes

    async def subsumption(self, system: str, code: str, direction: Direction) -> frozenset[Code]:
        """``code`` and the codes it subsumes (descendants) or that subsume it (ancestors)."""
        url, version = split_canonical(system)
        cs = await self.codesystem(url, version)
        if cs is None:
            raise NotSupportedError(f"CodeSystem {system} is not known here: no hierarchy to search")
        if not cs.hierarchical:
            raise NotSupportedError(f"CodeSystem {system} is not hierarchical: :above/:below do not apply")
        if code not in cs.concepts:
            raise InvalidCodeError(f"Code '{code}' is not defined in CodeSystem {system}")
        codes = cs.descendants(code) if direction == "descendants" else cs.ancestors(code)
        if len(codes) > self.limit:
            raise TooCostlyError(
                f"{system}|{code} has {len(codes)} {direction} (with itself), more than the "
                f"expansion limit {self.limit}: refused rather than cut"
            )
        return frozenset((url, c) for c in codes)

    async def codesystem(self, url: str, version: str | None = None) -> CodeSystemContent | None:
        return await self._codesystem(url, version, _Deps())

    async def valueset(self, url: str, version: str | None = None) -> ValueSetDefinition | None:
        return await self._valueset(url, version, _Deps())

    # ------------------------------------------------- terminology operations (operations/)

    async def expand_definition(self, vs: ValueSetDefinition) -> frozenset[Code]:
        """The codes of a ValueSet given as a resource (``$expand`` with ``valueSet``; not cached)."""
        return await self._expander(_Deps()).expand(vs, (vs.url,) if vs.url else ())

    async def known_codesystem(self, system: str, version: str | None = None) -> CodeSystemContent:
        """The CodeSystem ``system`` (``url`` or ``url|version``), or ``UnknownResourceError``."""
        url, v = split_canonical(system)
        cs = await self.codesystem(url, version or v)
        if cs is None:
            label = f"{url}|{version or v}" if (version or v) else url
            raise UnknownResourceError(f"CodeSystem {label} is not known here")
        return cs

    async def lookup(
        self, system: str, code: str, version: str | None = None, cs: CodeSystemContent | None = None
    ) -> LookupResult:
        """CodeSystem-lookup: "Given a code/system, or a Coding, get additional details about
        the concept, including definition, status, designations, and properties"."""
        cs = cs or await self.known_codesystem(system, version)
        concept = cs.concepts.get(code)
        if concept is None:
            _incomplete(cs, code)
            raise InvalidCodeError(f"Code '{code}' is not defined in CodeSystem {cs.url or system}")
        return LookupResult(
            system=cs.url or system,
            name=cs.name or cs.url or system,
            version=cs.version,
            concept=concept,
            children=tuple(cs.children().get(code, ())),
            property_types=dict(cs.property_types),
        )

    def check_in_codesystem(self, cs: CodeSystemContent, code: str, display: str | None) -> CodeValidation:
        """CodeSystem-validate-code of ``code`` (and ``display``, when given) in ``cs``.

        Displays are compared after trimming and case-folding, against the concept's display
        and its designations (R4: "Whether displays are case sensitive is code system
        dependent"). A code missing from a CodeSystem whose content here is not complete
        cannot be judged and is refused (``NotSupportedError``), never reported valid or invalid.
        """
        concept = cs.concepts.get(code)
        if concept is None:
            _incomplete(cs, code)
            return CodeValidation(False, f"Unknown code '{code}' in CodeSystem {cs.url}")
        if display is not None and not _display_ok(concept.display, concept.designations, display):
            return CodeValidation(
                False,
                f"The display '{display}' is not a valid display for the code '{code}' in "
                f"CodeSystem {cs.url} (expected '{concept.display}')",
                concept.display or None,
            )
        return CodeValidation(True, None, concept.display or None)

    async def check_in_valueset(
        self,
        codes: frozenset[Code],
        label: str,
        system: str,
        code: str,
        display: str | None,
        system_version: str | None = None,
    ) -> CodeValidation:
        """ValueSet-validate-code of ``system|code`` against an expansion (``codes``); the
        display is checked against the CodeSystem when it is known here."""
        url, v = split_canonical(system)
        cs = await self.codesystem(url, system_version or v)
        if (url, code) not in codes:
            reason = f"The code '{url}|{code}' is not in the ValueSet {label}"
            if cs is not None and cs.complete and code not in cs.concepts:
                reason += f" (it is not defined in CodeSystem {url})"
            return CodeValidation(False, reason)
        if cs is None or code not in cs.concepts:
            return CodeValidation(True)
        return self.check_in_codesystem(cs, code, display)

    async def describe(self, codes: frozenset[Code], designations: bool = False) -> list[ExpansionEntry]:
        """The expansion entries of ``codes`` with their displays, in a stable order: by
        system, then in the CodeSystem's concept order (codes it does not define last, by code)."""
        by_system: dict[str, list[str]] = {}
        for system, code in codes:
            by_system.setdefault(system, []).append(code)
        out: list[ExpansionEntry] = []
        for system in sorted(by_system):
            cs = await self.codesystem(system)
            concepts = cs.concepts if cs is not None else {}
            rank = {c: i for i, c in enumerate(concepts)}
            for code in sorted(by_system[system], key=lambda c: (rank.get(c, len(rank)), c)):
                concept = concepts.get(code)
                out.append(
                    ExpansionEntry(
                        system,
                        code,
                        concept.display if concept is not None else "",
                        cs.version if cs is not None else None,
                        concept.designations if (designations and concept is not None) else (),
                    )
                )
        return out

    async def subsumes(
        self,
        system: str,
        code_a: str,
        code_b: str,
        version: str | None = None,
        cs: CodeSystemContent | None = None,
    ) -> Subsumption:
        """CodeSystem-subsumes: "The subsumption relationship between code/Coding "A" and
        code/Coding "B". There are 4 possible codes to be returned (equivalent, subsumes,
        subsumed-by, and not-subsumed)"; ``subsumes`` when A is an ancestor of B."""
        cs = cs or await self.known_codesystem(system, version)
        for which, code in (("A", code_a), ("B", code_b)):
            if code not in cs.concepts:
                _incomplete(cs, code)
                raise InvalidCodeError(
                    f"Code {which} '{code}' is not defined in CodeSystem {cs.url or system}"
                )
        if code_a == code_b:
            return "equivalent"
        if code_a in cs.ancestors(code_b):
            return "subsumes"
        if code_b in cs.ancestors(code_a):
            return "subsumed-by"
        return "not-subsumed"

    async def conceptmap(self, url: str, version: str | None = None) -> ConceptMapContent | None:
        found = await self._stored("ConceptMap", url, version, _Deps())
        if found is not None:
            return ConceptMapContent.from_resource(found.body)
        return self.folder.conceptmap(url, version) or self.core.conceptmap(url, version)

    async def conceptmaps_for(self, system: str, reverse: bool) -> list[ConceptMapContent]:
        """Every ConceptMap here with a group from (``reverse``: to) ``system``: stored ones
        first, then those of ``terminology/``, then the core (a url found earlier wins)."""
        out: dict[str, ConceptMapContent] = {}
        if self.stored is not None:
            param = "target-system" if reverse else "source-system"
            for f in await self.stored.conceptmaps(param, system):
                cm = ConceptMapContent.from_resource(f.body)
                key = cm.url or f"ConceptMap/{f.id}"
                if key not in out or (cm.version or "") > (out[key].version or ""):
                    out[key] = cm
        for cm in [*self.folder.conceptmaps(), *self.core.conceptmaps()]:
            side = (g.target if reverse else g.source for g in cm.groups)
            if cm.url not in out and system in side:
                out[cm.url] = cm
        return list(out.values())

    async def _with_display(self, match: Match) -> Match:
        """A match whose map gives no display, with the display of its CodeSystem when known."""
        if match.display or not match.system:
            return match
        cs = await self.codesystem(match.system)
        concept = cs.concepts.get(match.code) if cs is not None else None
        return replace(match, display=concept.display) if concept is not None else match

    async def translate(
        self,
        system: str,
        code: str,
        maps: list[ConceptMapContent],
        *,
        source: str | None = None,
        target: str | None = None,
        target_system: str | None = None,
        reverse: bool = False,
    ) -> Translation:
        """ConceptMap-translate of ``system|code`` over ``maps`` (one given by url or
        instance, or every map from that system), keeping maps whose source / target
        ValueSets are ``source`` / ``target`` when those are given (swapped for ``reverse``)."""
        matches: list[Match] = []
        notes: list[str] = []
        want_source, want_target = (target, source) if reverse else (source, target)
        for cm in maps:
            if (
                want_source is not None
                and split_canonical(cm.source or "")[0] != split_canonical(want_source)[0]
            ):
                continue
            if (
                want_target is not None
                and split_canonical(cm.target or "")[0] != split_canonical(want_target)[0]
            ):
                continue
            found, why = cm.translate(system, code, target_system=target_system, reverse=reverse)
            matches += [await self._with_display(m) for m in found]
            notes += why
        ok = any(m.equivalence not in NOT_A_MATCH for m in matches)
        if not matches:
            notes.insert(0, f"No mapping found for '{system}|{code}'")
        return Translation(ok, tuple(matches), "; ".join(notes) or None)

    # ------------------------------------------------------------------ sources

    def _expander(self, deps: _Deps) -> Expander:
        async def codesystem(url: str, version: str | None) -> CodeSystemContent | None:
            return await self._codesystem(url, version, deps)

        async def valueset(url: str, version: str | None) -> ValueSetDefinition | None:
            return await self._valueset(url, version, deps)

        return Expander(codesystem, valueset, self.limit)

    async def _stored(self, resource_type: str, url: str, version: str | None, deps: _Deps) -> Found | None:
        if self.stored is None:
            return None
        found = await self.stored.by_urls([url])
        deps.urls[url] = frozenset(
            (f.resource_type, f.id, f.version_id) for f in found if f.body.get("url") == url
        )
        return pick(found, resource_type, url, version)

    async def _codesystem(self, url: str, version: str | None, deps: _Deps) -> CodeSystemContent | None:
        found = await self._stored("CodeSystem", url, version, deps)
        if found is not None:
            parsed = self._parse(found)
            return parsed if isinstance(parsed, CodeSystemContent) else None
        return self.folder.codesystem(url, version) or self.core.codesystem(url, version)

    async def _valueset(self, url: str, version: str | None, deps: _Deps) -> ValueSetDefinition | None:
        found = await self._stored("ValueSet", url, version, deps)
        if found is not None:
            parsed = self._parse(found)
            return parsed if isinstance(parsed, ValueSetDefinition) else None
        return self.folder.valueset(url, version) or self.core.valueset(url, version)

    async def _stored_by_id(self, id: str, deps: _Deps) -> ValueSetDefinition | None:
        if self.stored is None:
            return None
        found = await self.stored.by_id("ValueSet", id)
        deps.ids[id] = found.version_id if found is not None else None
        if found is None:
            return None
        parsed = self._parse(found)
        return parsed if isinstance(parsed, ValueSetDefinition) else None

    def _parse(self, found: Found) -> CodeSystemContent | ValueSetDefinition:
        key = (found.resource_type, found.id, found.version_id)
        parsed = self._parsed.get(key)
        if parsed is None:
            if found.resource_type == "CodeSystem":
                parsed = CodeSystemContent.from_resource(found.body)
            else:
                parsed = ValueSetDefinition.from_resource(found.body)
            if len(self._parsed) >= CACHE_SIZE:
                self._parsed.clear()
            self._parsed[key] = parsed
        return parsed

    def _local_id(self, ref: str) -> str | None:
        if self.base_url and ref.startswith(self.base_url + "/"):
            ref = ref[len(self.base_url) + 1 :]
        m = _LOCAL_ID.match(ref)
        return m.group(1) if m else None

    async def _fresh(self, deps: _Deps) -> bool:
        """Whether the stored resources a cached result used are still the same."""
        if self.stored is None:
            return True
        if deps.urls and await self.stored.stamps(list(deps.urls)) != deps.urls:
            return False
        for id, version in deps.ids.items():
            found = await self.stored.by_id("ValueSet", id)
            if (found.version_id if found is not None else None) != version:
                return False
        return True


def _incomplete(cs: CodeSystemContent, code: str) -> None:
    """Refuse to judge a code missing from a CodeSystem whose content here is not complete
    (SNOMED CT, LOINC ... are shipped as ``not-present``; a ``fragment`` or ``example``)."""
    if not cs.complete:
        raise NotSupportedError(
            f"CodeSystem {cs.url} has content '{cs.content}' here, not 'complete': "
            f"whether '{code}' is in it cannot be told"
        )


def _norm(text: str) -> str:
    return " ".join(text.split()).casefold()


def _display_ok(display: str, designations: tuple[object, ...], given: str) -> bool:
    wanted = _norm(given)
    candidates = [display, *(getattr(d, "value", "") for d in designations)]
    return any(_norm(c) == wanted for c in candidates if c)


def dumps_codes(codes: frozenset[Code]) -> bytes:
    """Deterministic JSON of an expansion (for tests and diagnostics)."""
    return orjson.dumps(sorted(codes))
