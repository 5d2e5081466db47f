"""Profiles (constraint StructureDefinitions) by canonical url, and validation against them.

Where a StructureDefinition is looked up (shared convention of issue 4): resources stored
in the server (a StructureDefinition created through the REST API takes effect on the
next write: one search by url per profile and validation, the compiled tree is reused
while the stored version is the same), then the ``profiles/`` folder (ours), then the R4
core (``http://hl7.org/fhir/StructureDefinition/[Type]``: the base type itself, which
the base validator already enforces, so it adds nothing here).

A profile is compiled once per version (:mod:`.snapshot` builds its element tree over its
base chain); when compiled, the ValueSets its required and extensible bindings name are
expanded with the terminology service and the extension definitions it uses resolved,
and both are kept with it (:class:`~.profile_rules.Resolved`), so that the check itself
is synchronous and cheap. A ValueSet changed afterwards is seen when the profile is
recompiled (a new version of the StructureDefinition, or :meth:`Profiles.clear`).

Claimed profiles (``meta.profile``) are enforced on every write. A claimed profile we do
not know is reported as a *warning* (``profile-unknown``): validation.html lets a
resource claim profiles the receiver has not seen, and the official R4 examples claim
core profiles (vitalsigns, lipid...) that are not shipped here. A profile asked for
explicitly (``$validate?profile=``, or ``FHIR_REQUIRED_PROFILES``) must be known: there
an unknown one is an error.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from ..definitions import Definitions
from ..errors import Issue
from ..search.ir import Clause, ParamRef, SearchQuery, UriValue
from ..storage.protocol import Store
from ..terminology import Terminology, TerminologyError
from .invariants import RULE_SYSTEM_DEFAULT
from .profile_rules import (
    ProfileChecker,
    Resolved,
    instance_extension_urls,
    tree_extension_urls,
    trees_valuesets,
)
from .snapshot import ProfileTree, apply_differential, empty_tree, finish

CORE_PREFIX = "http://hl7.org/fhir/StructureDefinition/"
#: how long a compiled profile is reused before the store is asked again (see ``compiled``)
RECHECK_SECONDS = 2.0
MAX_DEPTH = 10  # baseDefinition chain


def parse_required(spec: str) -> dict[str, tuple[str, ...]]:
    """``Patient=url1,Claim=url2,Patient=url3`` -> {type: (urls...)}."""
    out: dict[str, list[str]] = {}
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        rtype, eq, url = part.partition("=")
        if not eq or not rtype.strip() or not url.strip():
            raise ValueError(f"FHIR_REQUIRED_PROFILES: '{part}' is not Type=profile-url")
        out.setdefault(rtype.strip(), []).append(url.strip())
    return {k: tuple(v) for k, v in out.items()}


@dataclass
class Compiled:
    tree: ProfileTree
    resolved: Resolved
    stamp: tuple[str, int] | None  # stored (id, version) it came from; None: folder


def folder_definitions(folder: Path) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    if not folder.is_dir():
        return out
    for p in sorted(folder.glob("*.json")):
        try:
            sd = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(sd, dict) and sd.get("resourceType") == "StructureDefinition" and sd.get("url"):
            out[str(sd["url"])] = sd
    return out


class Profiles:
    """StructureDefinitions by url, compiled and checked."""

    def __init__(
        self,
        definitions: Definitions,
        terminology: Terminology | None,
        store: Store | None,
        *,
        folder: Path | None = None,
        system: str = RULE_SYSTEM_DEFAULT,
        extra: Iterable[dict[str, Any]] = (),
        required: dict[str, tuple[str, ...]] | None = None,
    ) -> None:
        self.required = required or {}
        self.defs = definitions
        self.terminology = terminology
        self.store = store
        self.folder = folder
        self.system = system
        self._folder: dict[str, dict[str, Any]] | None = None
        self._extra = {str(sd["url"]): sd for sd in extra}
        self._compiled: dict[str, Compiled] = {}
        self._checked: dict[str, float] = {}  # when the store was last asked for each url
        self.checker = ProfileChecker(definitions, system)

    def add(self, sd: dict[str, Any]) -> None:
        """Register a StructureDefinition (tests, installed packages)."""
        self._extra[str(sd["url"])] = sd
        self._compiled.pop(str(sd["url"]), None)
        self._checked.pop(str(sd["url"]), None)

    def clear(self) -> None:
        self._compiled.clear()
        self._checked.clear()
        self._folder = None

    # ------------------------------------------------------------------ lookup

    def _folder_sds(self) -> dict[str, dict[str, Any]]:
        if self._folder is None:
            self._folder = folder_definitions(self.folder) if self.folder else {}
        return self._folder

    async def _stored(self, url: str) -> tuple[dict[str, Any], tuple[str, int]] | None:
        if self.store is None:
            return None
        clause = Clause(ParamRef("url", "uri"), None, (UriValue(url),))
        page = await self.store.search(
            SearchQuery(resource_types=("StructureDefinition",), criteria=(clause,), count=50)
        )
        hits = [i for i in page.items if not i.deleted]
        if not hits:
            return None
        best = max(hits, key=lambda i: (i.version, i.id))
        body = orjson.loads(best.body)
        if body.get("url") != url:
            return None
        return body, (best.id, best.version)

    async def definition(self, url: str) -> tuple[dict[str, Any], tuple[str, int] | None] | None:
        """The StructureDefinition of ``url`` (``url|version`` accepted) and its stored stamp."""
        url = url.split("|")[0]
        stored = await self._stored(url)
        if stored is not None:
            return stored
        sd = self._extra.get(url) or self._folder_sds().get(url)
        return (sd, None) if sd is not None else None

    def core_type(self, url: str) -> str | None:
        url = url.split("|")[0]
        if url.startswith(CORE_PREFIX):
            name = url[len(CORE_PREFIX) :]
            if self.defs.is_resource_type(name) or name in self.defs.types:
                return name
        return None

    async def compiled(self, url: str) -> Compiled | None:
        """The compiled profile ``url``; None when unknown. Core types compile to an empty tree.

        A compiled profile is reused without asking the store again for ``RECHECK_SECONDS``:
        a write of a StructureDefinition, ValueSet or CodeSystem through this process clears
        the cache at once (``clear``); one through another process of the same store takes
        effect within that time. Asking the store on every write cost a search per profiled
        write (about 0.3 ms, a tenth of an eligibility request)."""
        cached = self._compiled.get(url)
        now = time.monotonic()
        if cached is not None and now - self._checked.get(url, -RECHECK_SECONDS) < RECHECK_SECONDS:
            return cached
        self._checked[url] = now
        found = await self.definition(url)
        if found is None:
            core = self.core_type(url)
            if core is None:
                return None
            cached = self._compiled.get(url)
            if cached is None:
                cached = self._compiled[url] = Compiled(empty_tree(core), Resolved(), None)
            return cached
        sd, stamp = found
        if cached is not None and cached.stamp == stamp:
            return cached
        tree = await self._tree(sd, 0)
        if tree is None:
            return None
        resolved = Resolved()
        await self._resolve(tree, resolved)
        compiled = self._compiled[url] = Compiled(tree, resolved, stamp)
        return compiled

    async def _tree(self, sd: dict[str, Any], depth: int) -> ProfileTree | None:
        base_url = sd.get("baseDefinition")
        if sd.get("derivation") != "constraint" or type(base_url) is not str or depth > MAX_DEPTH:
            return None
        core = self.core_type(base_url)
        if core is not None:
            base = empty_tree(core, str(sd.get("kind", "resource")))
        else:
            found = await self.definition(base_url)
            if found is None:
                return None
            base_tree = await self._tree(found[0], depth + 1)
            if base_tree is None:
                return None
            base = base_tree
        return finish(apply_differential(base, sd))

    async def _resolve(self, tree: ProfileTree, resolved: Resolved, depth: int = 0) -> None:
        """Expand the bound ValueSets and resolve the extension definitions of ``tree``."""
        for url in trees_valuesets(tree):
            if url not in resolved.valuesets:
                resolved.valuesets[url] = await self._expand(url)
        if depth > MAX_DEPTH:
            return
        for url in tree_extension_urls(tree):
            await self.resolve_extension(url, resolved, depth)

    async def resolve_extension(self, url: str, resolved: Resolved, depth: int = 0) -> None:
        if url in resolved.extensions:
            return
        resolved.extensions[url] = None
        found = await self.definition(url)
        if found is None or found[0].get("type") != "Extension":
            return
        tree = await self._tree(found[0], 0)
        resolved.extensions[url] = tree
        if tree is not None:
            await self._resolve(tree, resolved, depth + 1)

    async def _expand(self, url: str) -> frozenset[tuple[str, str]] | None:
        if self.terminology is None:
            return None
        try:
            return await self.terminology.expand(url)
        except TerminologyError:
            return None  # not expandable here (SNOMED CT...): not checked

    # ------------------------------------------------------------------ validation

    async def validate(
        self,
        resource: dict[str, Any],
        *,
        demanded: Sequence[str] = (),
        claimed: bool = True,
    ) -> list[Issue]:
        """Issues of ``resource`` against the profiles it claims (``meta.profile``, unknown
        ones a warning) and the ``demanded`` ones (unknown ones an error)."""
        rtype = resource.get("resourceType")
        wanted: list[tuple[str, bool]] = [(u, True) for u in demanded]
        if claimed:
            meta = resource.get("meta")
            profiles = meta.get("profile") if isinstance(meta, dict) else None
            if isinstance(profiles, list):
                wanted.extend((u, False) for u in profiles if type(u) is str and u not in demanded)
        out: list[Issue] = []
        extension_urls: set[str] | None = None
        for url, must in wanted:
            compiled = await self.compiled(url)
            if compiled is None:
                out.append(
                    Issue(
                        "error" if must else "warning",
                        "not-found" if must else "informational",
                        f"Profile {url} is not known here" + ("" if must else ": the claim is not checked"),
                        ("Resource.meta.profile" if not must else str(rtype),),
                        "profile-unknown",
                        self.system,
                    )
                )
                continue
            if compiled.tree.type != rtype:
                out.append(
                    Issue(
                        "error",
                        "invalid",
                        f"Profile {url} constrains {compiled.tree.type}, not {rtype}",
                        (str(rtype),),
                        "profile-unknown",
                        self.system,
                    )
                )
                continue
            resolved = compiled.resolved
            if extension_urls is None:
                extension_urls = instance_extension_urls(resource, set())
            missing = [u for u in extension_urls if u not in resolved.extensions]
            if missing:
                resolved = Resolved(dict(resolved.valuesets), dict(resolved.extensions))
                for u in missing:
                    await self.resolve_extension(u, resolved)
                    compiled.resolved.extensions.setdefault(u, resolved.extensions.get(u))
            out.extend(self.checker.check(compiled.tree, resource, resolved))
        return out
