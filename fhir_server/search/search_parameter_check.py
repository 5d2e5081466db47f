"""Whether a SearchParameter resource can be registered (searchparameter.html).

An active SearchParameter written through the REST API becomes a search parameter
of this server (``interactions/search_parameters.py``), so it is checked before it
is stored: a known ``type`` other than ``special``; a ``code`` that is a usable
query-parameter name, not reserved (``_``) and not already taken on one of its bases
by another parameter; ``base`` types that exist; an ``expression`` ("a FHIRPath
expression that returns a set of elements for the search parameter") that the
extraction can evaluate, with a branch for every base and, where the path walker
reads it, elements that exist on their types; ``target`` resource types for
references; and ``component`` definitions that resolve for composites ("each
component ... the definition ... and the expression, relative to the expression of
the composite"). A refusal is an ``UnprocessableError`` (422) whose ``expression``
points at the element.
"""

from __future__ import annotations

import re
from typing import Any

from ..definitions import Definitions
from ..errors import UnprocessableError
from .fhirpath_paths import Unsupported, _Parser, branches_for
from .registry import SearchParamDef, SearchRegistry

__all__ = ["check_search_parameter"]

_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9\-_.]*$")
_ABSTRACT = frozenset({"Resource", "DomainResource"})


def _refuse(message: str, expression: str, code: str = "value") -> UnprocessableError:
    err: UnprocessableError = UnprocessableError(message, expression, issue_code=code)
    return err


def unknown_element(definitions: Definitions, branch: str) -> str | None:
    """For a branch the path walker reads: the first element that does not exist on the
    type it is asked of ("Patient has no element 'identifer'"); None otherwise (or when
    the branch is beyond the walker, e.g. a function only fhirpathpy evaluates)."""
    try:
        parsed = _Parser(branch).parse()
    except Unsupported:
        return None
    for ops in parsed:
        root = ops[0][1]
        types: set[str | None] = {root if root in definitions.types else None}
        for op in ops[1:]:
            if op[0] == "field":
                name, nxt = op[1], set[str | None]()
                for t in types:
                    elements = definitions.types.get(t) if t is not None else None
                    if elements is None or (t == "Resource" and name not in elements):
                        nxt.add(None)  # untyped from here on (contained resources, fhirpathpy)
                        continue
                    el = elements.get(name)
                    if el is not None:
                        nxt.update(el.types if el.choice else (el.types[0] if el.types else None,))
                if not nxt:
                    known = " or ".join(sorted(t for t in types if t))
                    return f"{known} has no element '{name}'"
                types = nxt
            elif op[0] == "as":
                types = {op[1] if op[1] in definitions.types else None}
    return None


def check_search_parameter(
    resource: dict[str, Any], registry: SearchRegistry, definitions: Definitions
) -> SearchParamDef:
    """The parameter ``resource`` defines, or an error saying what is wrong with it."""
    spd = registry.check(resource)  # code, type and base present; expression parses (400 otherwise)
    if not _CODE.match(spd.code):
        raise _refuse(
            f"SearchParameter.code '{spd.code}' is not usable as a search parameter name "
            "(letters, digits, '-', '_' and '.'; not starting with '_', which is reserved)",
            "SearchParameter.code",
        )
    if spd.type == "special":
        raise _refuse(
            "SearchParameter.type 'special' needs code in the server; it cannot be added at run time",
            "SearchParameter.type",
            "not-supported",
        )
    for i, base in enumerate(spd.base):
        if base not in definitions.resource_types and base not in _ABSTRACT:
            raise _refuse(
                f"SearchParameter.base '{base}' is not a resource type", f"SearchParameter.base[{i}]"
            )
        taken = registry.get(base, spd.code) if base not in _ABSTRACT else registry.common(spd.code)
        if taken is not None and taken.url != spd.url:
            raise _refuse(
                f"A search parameter '{spd.code}' already exists on {base} ({taken.url or 'built in'})",
                "SearchParameter.code",
                "duplicate",
            )
    for i, target in enumerate(spd.targets):
        if target not in definitions.resource_types:
            raise _refuse(
                f"SearchParameter.target '{target}' is not a resource type", f"SearchParameter.target[{i}]"
            )
    if spd.expression is None:
        raise _refuse(
            "SearchParameter.expression is required: the server extracts values with it",
            "SearchParameter.expression",
            "required",
        )
    for base in spd.base:
        branches = branches_for(spd.expression, base) if base not in _ABSTRACT else [spd.expression]
        if not branches:
            raise _refuse(
                f"SearchParameter.expression '{spd.expression}' has no branch for the base {base} "
                f"(each branch starts with its resource type, e.g. '{base}.identifier')",
                "SearchParameter.expression",
            )
        for branch in branches:
            problem = unknown_element(definitions, branch)
            if problem is not None:
                raise _refuse(
                    f"SearchParameter.expression '{spd.expression}': {problem}", "SearchParameter.expression"
                )
    if spd.type == "composite":
        _check_components(resource, spd, registry)
    return spd


def _check_components(resource: dict[str, Any], spd: SearchParamDef, registry: SearchRegistry) -> None:
    if len(spd.components) < 2:
        raise _refuse(
            "A composite SearchParameter needs at least two components (definition and expression)",
            "SearchParameter.component",
            "required",
        )
    for i, (definition, expression) in enumerate(spd.components):
        component = registry.by_url(definition)
        if component is None:
            raise _refuse(
                f"SearchParameter.component[{i}].definition '{definition}' is not a known SearchParameter",
                f"SearchParameter.component[{i}].definition",
            )
        if component.type in ("composite", "special"):
            raise _refuse(
                f"SearchParameter.component[{i}].definition is a {component.type} parameter",
                f"SearchParameter.component[{i}].definition",
            )
        if not expression.strip():
            raise _refuse(
                f"SearchParameter.component[{i}].expression is required",
                f"SearchParameter.component[{i}].expression",
                "required",
            )
