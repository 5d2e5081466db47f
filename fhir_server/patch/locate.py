"""Evaluate a FHIRPath expression and say *where* in the JSON each result lives.

fhirpathpy returns values, but a patch needs locations. A location is the JSON path
from the resource root, e.g. ``("contact", 0, "name", "text")``. Results that are
JSON objects are found by identity (fhirpathpy hands back the very dicts of the
resource); primitives carry the ``propName`` fhirpathpy records while navigating
(``Patient.contact[0].name.text``), which is walked back through the JSON (choice
elements included) and checked against the value. A result that can be located
neither way (a computed value, or one reached through a function that drops the
navigation trail) is refused with 422.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from antlr4 import CommonTokenStream, InputStream  # type: ignore[import-untyped]
from antlr4.error.ErrorListener import ErrorListener  # type: ignore[import-untyped]
from antlr4.tree.Tree import ParseTreeWalker  # type: ignore[import-untyped]
from fhirpathpy.engine.nodes import ResourceNode
from fhirpathpy.parser.ASTPathListener import ASTPathListener as _ASTPathListener
from fhirpathpy.parser.generated.FHIRPathLexer import FHIRPathLexer
from fhirpathpy.parser.generated.FHIRPathParser import FHIRPathParser

from ..errors import InvalidError, UnprocessableError
from ..fhirpath.engine import run

Step = str | int
Location = tuple[Step, ...]

# fhirpathpy's functions carry no annotations: call them through Any
_ast_listener: Any = _ASTPathListener

# Rewrites before parsing (string literals and delimited identifiers are left alone):
# - "div" is a FHIRPath operator, yet Narrative.div is an element: the official cases and
#   the reference implementation accept ``Patient.text.div``, so ``.div`` → ``.`div```;
# - ``extension('u')`` → ``extension.where(url = 'u')``, its definition in the FHIRPath
#   spec: the extension() function (fhir_server.fhirpath's, which evaluates the path) does
#   not record the navigation trail needed to locate primitives below it.
_STRING = r"'(?:[^'\\]|\\.)*'"
_REWRITE = re.compile(rf"({_STRING}|`(?:[^`\\]|\\.)*`)|(\.div\b)|(?<![\w`])extension\(\s*({_STRING})\s*\)")


def _rewrite(match: re.Match[str]) -> str:
    if match.group(1):
        return match.group(1)
    if match.group(2):
        return ".`div`"
    return f"extension.where(url = {match.group(3)})"


_SEGMENT = re.compile(r"^([A-Za-z][A-Za-z0-9]*)(?:\[(\d+)\])?$")


class _Raise(ErrorListener):  # type: ignore[misc]
    """fhirpathpy's parser swallows syntax errors; we want them."""

    def syntaxError(self, *args: Any) -> None:  # antlr: (recognizer, symbol, line, column, msg, e)
        column, msg = args[3], args[4]
        raise SyntaxError(f"column {column}: {msg}")


def parse(expression: str, where: str) -> Any:
    """Parse strictly; a malformed expression is the client's error (400)."""
    try:
        lexer = FHIRPathLexer(InputStream(_REWRITE.sub(_rewrite, expression)))
        lexer.removeErrorListeners()
        lexer.addErrorListener(_Raise())
        parser = FHIRPathParser(CommonTokenStream(lexer))
        parser.removeErrorListeners()
        parser.addErrorListener(_Raise())
        listener = _ast_listener()
        ParseTreeWalker().walk(listener, parser.expression())
        return listener.parentStack[0]
    except Exception as exc:
        raise InvalidError(f"Invalid FHIRPath expression {expression!r}: {exc}", where) from None


def select(resource: dict[str, Any], expression: str, where: str) -> list[Location]:
    """Distinct locations of the elements ``expression`` selects in ``resource``."""
    ast = parse(expression, where)
    try:
        # evaluated by fhir_server.fhirpath (its functions and fixes), keeping the raw nodes
        nodes = run(ast, resource, {"resource": resource, "rootResource": resource}, raw=True)
    except Exception as exc:
        raise UnprocessableError(
            f"The FHIRPath expression {expression!r} cannot be evaluated on this resource: {exc}",
            where,
        ) from None
    index = {id(obj): loc for loc, obj in _objects(resource, ())}
    found: list[Location] = []
    for node in nodes if isinstance(nodes, list) else [nodes]:
        data = node.data if isinstance(node, ResourceNode) else node
        if data is None:  # fhirpathpy artefact for a null in a "_x" array
            continue
        loc = index.get(id(data)) if isinstance(data, (dict, list)) else None
        if loc is None:
            loc = _walk_prop_name(resource, node, data)
        if loc is None:
            raise UnprocessableError(
                f"The FHIRPath expression {expression!r} selects something that is not an "
                "element of the resource, or cannot be traced back to one (use member "
                "navigation, indexers and where() to select elements)",
                where,
            )
        loc = _value_side(loc)
        if loc not in found:
            found.append(loc)
    return found


def _objects(value: Any, loc: Location) -> Iterator[tuple[Location, Any]]:
    if isinstance(value, dict):
        yield loc, value
        for key, child in value.items():
            yield from _objects(child, (*loc, key))
    elif isinstance(value, list):
        for i, child in enumerate(value):
            yield from _objects(child, (*loc, i))


def _value_side(loc: Location) -> Location:
    """``("_birthDate",)`` (the extension side of a primitive) is the element ``birthDate``."""
    last = len(loc) - (2 if loc and isinstance(loc[-1], int) else 1)
    key = loc[last] if last >= 0 else None
    if isinstance(key, str) and key.startswith("_"):
        return (*loc[:last], key[1:], *loc[last + 1 :])
    return loc


def choice_key(obj: dict[str, Any], name: str) -> str | None:
    """The JSON key of choice element ``name`` in ``obj`` (``deceased`` → ``deceasedBoolean``)."""
    keys = [
        k.lstrip("_")
        for k in obj
        if k.lstrip("_").startswith(name)
        and len(k.lstrip("_")) > len(name)
        and k.lstrip("_")[len(name)].isupper()
    ]
    distinct = set(keys)
    return distinct.pop() if len(distinct) == 1 else None


def _has_objects(value: Any) -> bool:
    return isinstance(value, dict) or (isinstance(value, list) and any(isinstance(v, dict) for v in value))


def _walk_prop_name(resource: dict[str, Any], node: Any, data: Any) -> Location | None:
    prop = getattr(node, "propName", None)
    if not isinstance(prop, str):
        return None
    segments = prop.split(".")
    if segments[0] != resource.get("resourceType"):
        return None
    current: Any = resource
    loc: list[Step] = []
    for depth, segment in enumerate(segments[1:], start=2):
        match = _SEGMENT.match(segment)
        if not match or not isinstance(current, dict):
            return None
        name, index = match.group(1), match.group(2)
        key = name if (name in current or f"_{name}" in current) else choice_key(current, name)
        if key is None:
            return None
        value = current.get(key)
        below_primitive = depth < len(segments) and not _has_objects(value)
        if (value is None or below_primitive) and f"_{key}" in current:
            value, key = current[f"_{key}"], f"_{key}"  # a primitive's id/extension side
        loc.append(key)
        if isinstance(value, list):
            if index is None or int(index) >= len(value):
                return None
            loc.append(int(index))
            value = value[int(index)]
        elif index not in (None, "0"):
            return None
        current = value
    same = current is data or (type(current) is type(data) and current == data)
    return tuple(loc) if same else None
