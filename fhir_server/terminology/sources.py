"""Where CodeSystems and ValueSets come from, in the order they are consulted:

1. ``StoreSource``: the resources stored in this server (created at run time through the
   API), found by ``url`` with the store's own search, so a new or changed ValueSet is
   used by the next request;
2. ``FolderSource``: the JSON files of the top-level ``terminology/`` folder (our
   implementation guide: CodeSystem and ValueSet resources, or Bundles of them);
3. ``CoreSource``: the R4 core terminology shipped compressed
   (``fhir_server/definitions/data/r4-terminology.json.gz``).

The folder and the core are read once, on first use (not at import or start-up).
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

import orjson

from ..search.ir import Clause, ParamRef, SearchQuery, UriValue
from ..storage.protocol import Store, StoredVersion
from .conceptmap import ConceptMapContent
from .model import CodeSystemContent, ValueSetDefinition

CORE_DATA = Path(__file__).resolve().parent.parent / "definitions" / "data" / "r4-terminology.json.gz"
DEFAULT_FOLDER = Path(__file__).resolve().parent.parent.parent / "terminology"
KINDS = ("CodeSystem", "ValueSet", "ConceptMap")
STORE_LOOKUP_LIMIT = 1000

Stamp = frozenset[tuple[str, str, int]]  # (type, id, version) of the stored resources with a url


def split_canonical(ref: str) -> tuple[str, str | None]:
    """``url|version`` -> (url, version)."""
    url, bar, version = ref.partition("|")
    return url, (version if bar and version else None)


@dataclass(frozen=True)
class Found:
    """A stored CodeSystem or ValueSet."""

    resource_type: str
    id: str
    version_id: int
    body: dict[str, Any]


class StoreSource:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def by_urls(self, urls: Sequence[str]) -> list[Found]:
        """Current CodeSystems and ValueSets whose ``url`` is one of ``urls`` (one search)."""
        if not urls:
            return []
        clause = Clause(ParamRef("url", "uri"), None, tuple(UriValue(u) for u in sorted(set(urls))))
        query = SearchQuery(resource_types=KINDS, criteria=(clause,), count=STORE_LOOKUP_LIMIT)
        page = await self.store.search(query)
        return [_found(item) for item in page.items if not item.deleted]

    async def conceptmaps(self, param: str, system: str) -> list[Found]:
        """Current ConceptMaps with a group whose source (``param`` = ``source-system``) or
        target (``target-system``) is ``system`` (one search)."""
        clause = Clause(ParamRef(param, "uri"), None, (UriValue(system),))
        query = SearchQuery(resource_types=("ConceptMap",), criteria=(clause,), count=STORE_LOOKUP_LIMIT)
        page = await self.store.search(query)
        return [_found(item) for item in page.items if not item.deleted]

    async def by_id(self, resource_type: str, id: str) -> Found | None:
        item = await self.store.read(resource_type, id)
        return None if item is None or item.deleted else _found(item)

    async def stamps(self, urls: Sequence[str]) -> dict[str, Stamp]:
        """Per url, what is stored under it now (to tell whether a cached expansion is stale)."""
        out: dict[str, set[tuple[str, str, int]]] = {u: set() for u in urls}
        for f in await self.by_urls(urls):
            url = f.body.get("url")
            if isinstance(url, str) and url in out:
                out[url].add((f.resource_type, f.id, f.version_id))
        return {u: frozenset(s) for u, s in out.items()}


def _found(item: StoredVersion) -> Found:
    return Found(item.resource_type, item.id, item.version, orjson.loads(item.body))


def pick(found: Sequence[Found], resource_type: str, url: str, version: str | None) -> Found | None:
    """The stored resource of that type, url and (when given) version; the highest
    ``version`` string otherwise (then the most recently created)."""
    hits = [
        f
        for f in found
        if f.resource_type == resource_type
        and f.body.get("url") == url
        and (version is None or f.body.get("version") == version)
    ]
    if not hits:
        return None
    return max(hits, key=lambda f: (str(f.body.get("version", "")), f.version_id, f.id))


class FolderSource:
    """CodeSystem / ValueSet JSON files under ``folder`` (read once, on first use)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._loaded: (
            tuple[dict[str, list[CodeSystemContent]], dict[str, list[ValueSetDefinition]]] | None
        ) = None
        self._maps: dict[str, list[ConceptMapContent]] = {}

    def _load(self) -> tuple[dict[str, list[CodeSystemContent]], dict[str, list[ValueSetDefinition]]]:
        if self._loaded is None:
            codesystems: dict[str, list[CodeSystemContent]] = {}
            valuesets: dict[str, list[ValueSetDefinition]] = {}
            for res in _resources(self.folder):
                url = res.get("url")
                if not isinstance(url, str):
                    continue
                if res.get("resourceType") == "CodeSystem":
                    codesystems.setdefault(url, []).append(CodeSystemContent.from_resource(res))
                elif res.get("resourceType") == "ValueSet":
                    valuesets.setdefault(url, []).append(ValueSetDefinition.from_resource(res))
                elif res.get("resourceType") == "ConceptMap":
                    self._maps.setdefault(url, []).append(ConceptMapContent.from_resource(res))
            self._loaded = (codesystems, valuesets)
        return self._loaded

    def codesystem(self, url: str, version: str | None) -> CodeSystemContent | None:
        return _version(self._load()[0].get(url, []), version)

    def valueset(self, url: str, version: str | None) -> ValueSetDefinition | None:
        return _version(self._load()[1].get(url, []), version)

    def conceptmap(self, url: str, version: str | None) -> ConceptMapContent | None:
        self._load()
        return _version(self._maps.get(url, []), version)

    def conceptmaps(self) -> list[ConceptMapContent]:
        self._load()
        return [m for url in sorted(self._maps) if (m := _version(self._maps[url], None)) is not None]


def _resources(folder: Path) -> Iterator[dict[str, Any]]:
    if not folder.is_dir():
        return
    for path in sorted(folder.rglob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if not isinstance(data, dict):
            continue
        if data.get("resourceType") == "Bundle":
            for e in data.get("entry", []) or []:
                if isinstance(e, dict) and isinstance(e.get("resource"), dict):
                    yield e["resource"]
        else:
            yield data


_T = TypeVar("_T", CodeSystemContent, ValueSetDefinition, ConceptMapContent)


def _version(items: list[_T], version: str | None) -> _T | None:
    if version is not None:
        items = [i for i in items if i.version == version]
    return max(items, key=lambda i: i.version or "") if items else None


class CoreSource:
    """The R4 core CodeSystems and ValueSets (parsed per url on first use)."""

    def __init__(self, path: Path = CORE_DATA) -> None:
        self.path = path
        self._cs: dict[str, CodeSystemContent] = {}
        self._vs: dict[str, ValueSetDefinition] = {}
        self._cm: dict[str, ConceptMapContent] = {}

    def codesystem(self, url: str, version: str | None) -> CodeSystemContent | None:
        raw = _core(self.path)["codesystems"].get(url)
        if raw is None or (version is not None and raw.get("version") != version):
            return None
        if url not in self._cs:
            self._cs[url] = CodeSystemContent.from_compact(url, raw)
        return self._cs[url]

    def valueset(self, url: str, version: str | None) -> ValueSetDefinition | None:
        raw = _core(self.path)["valuesets"].get(url)
        if raw is None or (version is not None and raw.get("version") != version):
            return None
        if url not in self._vs:
            self._vs[url] = ValueSetDefinition.from_compact(url, raw)
        return self._vs[url]

    def conceptmap(self, url: str, version: str | None) -> ConceptMapContent | None:
        raw = _core(self.path).get("conceptmaps", {}).get(url)
        if raw is None or (version is not None and raw.get("version") != version):
            return None
        if url not in self._cm:
            self._cm[url] = ConceptMapContent.from_compact(url, raw)
        return self._cm[url]

    def conceptmaps(self) -> list[ConceptMapContent]:
        urls = sorted(_core(self.path).get("conceptmaps", {}))
        return [m for url in urls if (m := self.conceptmap(url, None)) is not None]


@cache
def _core(path: Path) -> dict[str, Any]:
    with gzip.open(path, "rb") as f:
        data: dict[str, Any] = json.load(f)
    return data
