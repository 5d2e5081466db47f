"""The SearchParameter registry: the 1,375 official R4 parameters plus custom ones.

``get(type, code)`` resolves a parameter defined on the type itself or on
``Resource``/``DomainResource`` (``_id``, ``_lastUpdated``, ``_tag``, ``_profile``,
``_security``, ``_source``, ...). A parameter's ``expression`` is kept as published;
union expressions shared by several bases (``AllergyIntolerance.code | Condition.code |
...``) are pruned per type by ``fhirpath_paths.branches_for``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any, cast

from ..definitions import Definitions, load
from ..errors import InvalidError
from .ir import ParamType

__all__ = ["PARAM_TYPES", "SearchParamDef", "SearchRegistry", "default_registry"]

PARAM_TYPES: frozenset[str] = frozenset(
    {"string", "token", "reference", "date", "number", "quantity", "uri", "composite", "special"}
)
_COMMON_BASES = ("Resource", "DomainResource")
_NOT_DOMAIN = frozenset({"Bundle", "Binary", "Parameters"})


@dataclass(frozen=True)
class SearchParamDef:
    code: str
    type: ParamType
    url: str
    expression: str | None
    targets: tuple[str, ...] = ()
    components: tuple[tuple[str, str], ...] = ()  # (definition canonical, expression)
    base: tuple[str, ...] = ()


def _from_dict(sp: dict[str, Any]) -> SearchParamDef:
    code = sp.get("code")
    ptype = sp.get("type")
    base = sp.get("base")
    if not isinstance(code, str) or not code:
        raise InvalidError("SearchParameter.code is required", "SearchParameter.code", issue_code="required")
    if ptype not in PARAM_TYPES:
        raise InvalidError(
            f"SearchParameter.type '{ptype}' is not a search parameter type",
            "SearchParameter.type",
            issue_code="value",
        )
    if isinstance(base, str):
        base = [base]
    if not isinstance(base, list) or not base or not all(isinstance(b, str) for b in base):
        raise InvalidError("SearchParameter.base is required", "SearchParameter.base", issue_code="required")
    expression = sp.get("expression")
    components = []
    for comp in sp.get("component") or ():
        if isinstance(comp, dict):
            components.append((str(comp.get("definition", "")), str(comp.get("expression", ""))))
    return SearchParamDef(
        code=code,
        type=cast(ParamType, ptype),
        url=str(sp.get("url") or ""),
        expression=expression if isinstance(expression, str) and expression.strip() else None,
        targets=tuple(t for t in sp.get("target") or () if isinstance(t, str)),
        components=tuple(components),
        base=tuple(base),
    )


class SearchRegistry:
    """Search parameters by resource type and code.

    ``generation`` increases on every ``add`` so compiled extractors can notice."""

    def __init__(self, search_params: Iterable[dict[str, Any]], resource_types: Iterable[str] = ()) -> None:
        self.resource_types: frozenset[str] = frozenset(resource_types)
        self._by_type: dict[str, dict[str, SearchParamDef]] = {}
        self._by_url: dict[str, SearchParamDef] = {}
        self._merged: dict[str, dict[str, SearchParamDef]] = {}
        # (base, code) -> the parameter a custom one with another url displaced there
        self._shadowed: dict[tuple[str, str], SearchParamDef] = {}
        self.generation = 0
        for sp in search_params:
            self._put(_from_dict(sp))

    @classmethod
    def from_definitions(cls, definitions: Definitions | None = None) -> SearchRegistry:
        d = definitions or load()
        return cls(d.search_params, d.resource_types)

    def _put(self, spd: SearchParamDef) -> None:
        old = self._by_url.get(spd.url) if spd.url else None
        if old is not None:
            for b in old.base:
                if self._by_type.get(b, {}).get(old.code) is old:
                    del self._by_type[b][old.code]
                    if not (old.code == spd.code and b in spd.base):
                        back = self._shadowed.pop((b, old.code), None)
                        if back is not None and self._by_url.get(back.url) is back:
                            self._by_type[b][old.code] = back
        for b in spd.base:
            displaced = self._by_type.get(b, {}).get(spd.code)
            if displaced is not None and displaced.url != spd.url:
                self._shadowed.setdefault((b, spd.code), displaced)
            self._by_type.setdefault(b, {})[spd.code] = spd
        if spd.url:
            self._by_url[spd.url] = spd
        self._merged.clear()
        self.generation += 1

    def add(self, search_parameter_resource: dict[str, Any]) -> SearchParamDef:
        """Register a SearchParameter resource created at run time; it replaces a parameter
        with the same url, and overrides one with the same code on the same base."""
        spd = self.check(search_parameter_resource)
        self._put(spd)
        return spd

    def check(self, search_parameter_resource: dict[str, Any]) -> SearchParamDef:
        """The definition ``add`` would register, without registering it (InvalidError if bad)."""
        spd = _from_dict(search_parameter_resource)
        if spd.expression is not None:
            from .fhirpath_paths import check_expression

            problem = check_expression(spd.expression)
            if problem is not None:
                raise InvalidError(
                    f"SearchParameter.expression '{spd.expression}' is not valid FHIRPath: {problem}",
                    "SearchParameter.expression",
                    issue_code="value",
                )
        return spd

    def remove(self, url: str) -> SearchParamDef | None:
        """Unregister the parameter with ``url`` (a retired or deleted SearchParameter);
        a parameter it had displaced on a base (same code, other url) comes back."""
        spd = self._by_url.pop(url, None) if url else None
        if spd is None:
            return None
        for b in spd.base:
            codes = self._by_type.get(b, {})
            if codes.get(spd.code) is spd:
                del codes[spd.code]
                back = self._shadowed.pop((b, spd.code), None)
                if back is not None and self._by_url.get(back.url) is back:
                    codes[spd.code] = back
        self._merged.clear()
        self.generation += 1
        return spd

    def by_url(self, url: str) -> SearchParamDef | None:
        return self._by_url.get(url)

    def get(self, resource_type: str, code: str) -> SearchParamDef | None:
        own = self._by_type.get(resource_type)
        if own is not None:
            spd = own.get(code)
            if spd is not None:
                return spd
        spd = self._by_type.get("Resource", {}).get(code)
        if spd is not None:
            return spd
        if resource_type not in _NOT_DOMAIN:
            return self._by_type.get("DomainResource", {}).get(code)
        return None

    def common(self, code: str) -> SearchParamDef | None:
        """A parameter defined on Resource/DomainResource (valid for system search)."""
        return self._by_type.get("Resource", {}).get(code) or self._by_type.get("DomainResource", {}).get(
            code
        )

    def for_type(self, resource_type: str) -> dict[str, SearchParamDef]:
        merged = self._merged.get(resource_type)
        if merged is None:
            merged = dict(self._by_type.get("Resource", {}))
            if resource_type not in _NOT_DOMAIN:
                merged.update(self._by_type.get("DomainResource", {}))
            merged.update(self._by_type.get(resource_type, {}))
            self._merged[resource_type] = merged
        return merged


@cache
def default_registry() -> SearchRegistry:
    """The shared registry of the official parameters (custom ones are added to it)."""
    return SearchRegistry.from_definitions()
