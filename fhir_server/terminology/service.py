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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import orjson

from ..storage.protocol import Store
from .errors import InvalidCodeError, NotSupportedError, TooCostlyError, UnknownResourceError
from .expand import Code, Expander
from .model import CodeSystemContent, ValueSetDefinition
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


def dumps_codes(codes: frozenset[Code]) -> bytes:
    """Deterministic JSON of an expansion (for tests and diagnostics)."""
    return orjson.dumps(sorted(codes))
