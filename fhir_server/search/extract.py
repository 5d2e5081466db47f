"""Write-time extraction of index entries (``search/index.py``) from a resource.

``Extractor.extract(resource)`` evaluates every search parameter of the resource's type
(compiled once per type, recompiled when the registry changes) and converts the values
with the type modules in ``search/types``. ``_id`` and ``_lastUpdated`` are not
extracted (backends keep them as columns); composite parameters of the shapes in
``types/composite.SHAPES`` give CompositeEntry values (each component's relative path
evaluated on every element the composite's expression yields); other composites and
special parameters are skipped, except ``near`` on Location (``types/near.py``: a
PositionEntry from ``Location.position``). Contained resources are indexed on their own
under ``contained.CONTAINED_KEY`` (``search/contained.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..definitions import Definitions, load
from . import contained as contained_t
from .fhirpath_paths import NodeProgram, PathCompiler, Program
from .index import Entry, IndexEntries
from .registry import SearchParamDef, SearchRegistry
from .types import ExtractContext, Node
from .types import composite as composite_t
from .types import date as date_t
from .types import near as near_t
from .types import number as number_t
from .types import quantity as quantity_t
from .types import reference as reference_t
from .types import string as string_t
from .types import token as token_t
from .types import uri as uri_t

__all__ = ["Extractor"]

_NOT_EXTRACTED = frozenset({"_id", "_lastUpdated"})

Converter = Callable[[Node, ExtractContext, list[Entry]], None]

_CONVERTERS: dict[str, Converter] = {
    "string": string_t.extract,
    "token": token_t.extract,
    "date": date_t.extract,
    "number": number_t.extract,
    "quantity": quantity_t.extract,
    "uri": uri_t.extract,
}


@dataclass(frozen=True)
class _Compiled:
    code: str
    type: str
    program: Program
    targets: frozenset[str] = frozenset()
    components: tuple[tuple[NodeProgram, Converter], ...] = ()  # composite parameters


class Extractor:
    """Index entries for resources, with parameters from ``registry``.

    ``base_url`` (e.g. ``https://example.org/fhir``) makes absolute references to this
    server local (``Patient/1``)."""

    def __init__(
        self,
        registry: SearchRegistry,
        base_url: str | None = None,
        definitions: Definitions | None = None,
    ) -> None:
        self.registry = registry
        defs = definitions or load()
        self.ctx = ExtractContext(
            base_url=base_url.rstrip("/") if base_url else None,
            valuesets=defs.valuesets,
            resource_types=defs.resource_types,
        )
        self._paths = PathCompiler(defs, self.ctx)
        self._compiled: dict[str, list[_Compiled]] = {}
        self._generation = registry.generation

    def compiled(self, resource_type: str) -> list[_Compiled]:
        if self._generation != self.registry.generation:
            self._compiled.clear()
            self._generation = self.registry.generation
        out = self._compiled.get(resource_type)
        if out is None:
            out = []
            for code, spd in sorted(self.registry.for_type(resource_type).items()):
                if code in _NOT_EXTRACTED or spd.expression is None:
                    continue
                components: tuple[tuple[NodeProgram, Converter], ...] = ()
                if spd.type == "composite":
                    found = self._components(spd)
                    if found is None:
                        continue  # a composite shape not supported
                    components = found
                elif spd.type == "special" and spd.url != near_t.URL:
                    continue  # special parameters other than Location.near
                elif spd.type not in _CONVERTERS and spd.type not in ("reference", "special"):
                    continue
                program = self._paths.compile_expression(spd.expression, resource_type)
                if program is not None:
                    out.append(_Compiled(code, spd.type, program, frozenset(spd.targets), components))
            self._compiled[resource_type] = out
        return out

    def _components(self, spd: SearchParamDef) -> tuple[tuple[NodeProgram, Converter], ...] | None:
        types = composite_t.component_types(spd, self.registry)
        if not composite_t.supported(types):
            return None
        out: list[tuple[NodeProgram, Converter]] = []
        for (_, expression), ctype in zip(spd.components, types, strict=True):
            program = self._paths.compile_relative(expression)
            if program is None or ctype is None:
                return None
            out.append((program, _CONVERTERS[ctype]))
        return tuple(out)

    def extract(self, resource: dict[str, Any]) -> IndexEntries:
        rtype = resource.get("resourceType")
        if not isinstance(rtype, str):
            return {}
        ctx = self.ctx
        result: IndexEntries = {}
        for cp in self.compiled(rtype):
            nodes = cp.program(resource)
            if not nodes:
                continue
            entries: list[Entry] = []
            if cp.type == "reference":
                identifiers: list[Entry] = []
                for node in nodes:
                    if node[1] in ctx.resource_types and cp.targets and node[1] not in cp.targets:
                        continue  # a resource as value (Bundle.entry[0].resource) of another type
                    reference_t.extract(node, ctx, entries, identifiers)
                if identifiers:
                    result[cp.code + ":identifier"] = list(dict.fromkeys(identifiers))
            elif cp.type == "composite":
                for node in nodes:
                    composite_t.extract(node, cp.components, ctx, entries)
            else:
                convert = near_t.extract if cp.type == "special" else _CONVERTERS[cp.type]
                for node in nodes:
                    convert(node, ctx, entries)
                if cp.type == "token":
                    of_type: list[Entry] = []
                    for node in nodes:
                        token_t.extract_of_type(node, of_type)
                    if of_type:
                        result[cp.code + token_t.OF_TYPE_SUFFIX] = list(dict.fromkeys(of_type))
            if entries:
                result[cp.code] = entries if len(entries) == 1 else list(dict.fromkeys(entries))
        if resource.get("contained"):  # each contained resource indexed on its own, kept apart
            inner = contained_t.extract(resource, self.extract)
            if inner:
                result[contained_t.CONTAINED_KEY] = inner
        return result
