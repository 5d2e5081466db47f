"""Evaluation on top of ``fhirpathpy``: its parser and evaluators, our context and function table.

``fhirpathpy.apply_parsed_path`` builds the evaluation context from a plain dict of variables and
wraps user functions so that they only see plain data; both are too narrow for FHIR (the spec's
``%vs-[name]``/``%ext-[name]`` variables, functions that need the typed nodes or the context).
This module does the same few steps itself (``do_eval`` on the parsed tree, then the same
conversion of the result to plain data) with:

- the environment variables of FHIR R4 (fhirpath.html#vars): ``%ucum``, ``%sct``, ``%loinc``,
  ``%vs-[name]``, ``%ext-[name]``, besides ``%resource``/``%rootResource``/``%context``;
- :data:`fhir_server.fhirpath.functions.FUNCTIONS` merged over fhirpathpy's invocation table
  (fixes and functions it lacks; each says what upstream lacks);
- ``trace()`` going to the ``fhir_server.fhirpath`` logger instead of stdout;
- a pre-pass over the parsed tree (:func:`rewrite`) for what cannot be expressed as a function
  (``sort(-key)``: descending keys).

No fhirpathpy module is modified.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

from antlr4 import CommonTokenStream, InputStream  # type: ignore[import-untyped]
from antlr4.error.ErrorListener import ErrorListener  # type: ignore[import-untyped]
from antlr4.tree.Tree import ParseTreeWalker  # type: ignore[import-untyped]
from fhirpathpy.engine import do_eval
from fhirpathpy.engine.invocations.constants import constants
from fhirpathpy.engine.nodes import FP_Type, ResourceNode
from fhirpathpy.engine.util import arraify, get_data
from fhirpathpy.models import models
from fhirpathpy.parser import parse
from fhirpathpy.parser.ASTPathListener import ASTPathListener
from fhirpathpy.parser.generated.FHIRPathLexer import FHIRPathLexer
from fhirpathpy.parser.generated.FHIRPathParser import FHIRPathParser

from .functions import DECIMAL_LITERAL, FUNCTIONS, SORT_DESC

log = logging.getLogger("fhir_server.fhirpath")

UCUM = "http://unitsofmeasure.org"
MODEL: dict[str, Any] = models["r4"]

# fhirpath.html#vars (FHIR R4): the fixed variables and the two families built from a name.
FIXED_VARIABLES: dict[str, str] = {
    "ucum": UCUM,
    "sct": "http://snomed.info/sct",
    "loinc": "http://loinc.org",
}


class Environment(dict[str, Any]):
    """The evaluation variables; ``%vs-[name]`` and ``%ext-[name]`` resolve on demand."""

    def __contains__(self, key: object) -> bool:
        return super().__contains__(key) or self._derived(key) is not None

    def __missing__(self, key: str) -> Any:
        value = self._derived(key)
        if value is None:
            raise KeyError(key)
        return value

    @staticmethod
    def _derived(key: object) -> str | None:
        if isinstance(key, str):
            if key.startswith("vs-") and len(key) > 3:
                return f"http://hl7.org/fhir/ValueSet/{key[3:]}"
            if key.startswith("ext-") and len(key) > 4:
                return f"http://hl7.org/fhir/StructureDefinition/{key[4:]}"
        return None


def _twin(item: Any, before: Any) -> bool:
    """``item`` is the extension half of a primitive (``_birthDate`` beside ``birthDate``)."""
    return (
        isinstance(item, ResourceNode)
        and isinstance(before, ResourceNode)
        and isinstance(item.data, Mapping)
        and set(item.data) <= {"id", "extension"}
        and not isinstance(before.data, Mapping | list)
        and item.propName == before.propName
        and item.path == before.path
    )


def without_twins(coll: Any) -> Any:
    """fhirpathpy yields a primitive that has both a value and extensions as two items (the value,
    then its ``_x`` object): ``birthDate.count()`` is 2 and ``birthDate = @1974-12-25`` false.
    Functions and operators see one item (the value); navigation keeps both, so that
    ``birthDate.extension`` still finds the extensions."""
    if not isinstance(coll, list) or len(coll) < 2:
        return coll
    out = [coll[0]]
    for item in coll[1:]:
        if not _twin(item, out[-1]):
            out.append(item)
    return out


# Functions that navigate or filter keep the extension half of primitives (see without_twins).
_NAVIGATING_NAMES = (
    "extension children descendants where select repeat exists empty ofType trace all "
    "aggregate iif type is as isOp asOp | union combine hasValue getValue"
)
_NAVIGATING = frozenset(_NAVIGATING_NAMES.split())


def _dedupe(entry: dict[str, Any]) -> dict[str, Any]:
    fn = entry["fn"]

    def call(ctx: Any, data: Any, *params: Any) -> Any:
        return fn(ctx, without_twins(data), *(without_twins(p) for p in params))

    call.__name__ = getattr(fn, "__name__", "fn")  # upstream special-cases trace_fn by name
    return {**entry, "fn": call}


def _table() -> dict[str, dict[str, Any]]:
    from fhirpathpy.engine.invocations import invocation_registry

    registry: dict[str, Any] = invocation_registry
    merged = {**registry, **FUNCTIONS}
    return {name: entry if name in _NAVIGATING else _dedupe(entry) for name, entry in merged.items()}


INVOCATIONS = _table()


def _trace(label: str, values: Any) -> None:
    if log.isEnabledFor(logging.DEBUG):
        log.debug("trace %s: %s", label, [get_data(v) for v in arraify(values)])


class _Raise(ErrorListener):  # type: ignore[misc]
    """fhirpathpy's parser recovers from syntax errors (``Patient.name.where(`` evaluates);
    an invariant or a search parameter with a syntax error must be refused instead."""

    def syntaxError(self, *args: Any) -> None:  # antlr: (recognizer, symbol, line, column, msg, e)
        raise SyntaxError(f"column {args[3]}: {args[4]}")


# ``div`` is an operator, yet ``Narrative.div`` is an element: ``text.div`` (as the R4
# invariants, the official patch cases and the reference implementation write it) means the
# element. String literals and delimited identifiers are left alone.
_STRING = r"'(?:[^'\\]|\\.)*'"
_DIV = re.compile(rf"({_STRING}|`(?:[^`\\]|\\.)*`)|(\.div\b)(?!\s*\()")


def _div(match: re.Match[str]) -> str:
    return match.group(1) or ".`div`"


def strict_parse(expression: str) -> dict[str, Any]:
    """fhirpathpy's parse tree of ``expression``, raising ``SyntaxError`` on any syntax error."""
    lexer = FHIRPathLexer(InputStream(_DIV.sub(_div, expression)))
    lexer.removeErrorListeners()
    lexer.addErrorListener(_Raise())
    parser = FHIRPathParser(CommonTokenStream(lexer))
    parser.removeErrorListeners()
    parser.addErrorListener(_Raise())
    listener = ASTPathListener()
    ParseTreeWalker().walk(listener, parser.expression())
    tree: dict[str, Any] = listener.parentStack[0]
    return tree


def compile_tree(expression: str) -> dict[str, Any]:
    """The parsed tree of ``expression`` after :func:`rewrite` (raises on syntax errors)."""
    tree = strict_parse(expression)
    rewrite(tree)
    return tree


_DESC_CALL: dict[str, Any] | None = None


def _desc_call() -> dict[str, Any]:
    """A ``FunctionInvocation`` node calling the internal descending-key marker."""
    global _DESC_CALL
    if _DESC_CALL is None:
        tree = parse(f"x.{SORT_DESC}()")
        _DESC_CALL = tree["children"][0]["children"][1]
    return _DESC_CALL


def _decimal_term(text: str) -> dict[str, Any]:
    """An ``InvocationTerm`` calling the decimal-literal function with ``text``."""
    tree = parse(f"{DECIMAL_LITERAL}('{text}')")
    term: dict[str, Any] = tree["children"][0]["children"][0]
    return term


def rewrite(node: dict[str, Any]) -> None:
    """Pre-processing of the parsed tree. ``sort(-key)`` (FHIRPath 3.0 ``sort``): a descending
    key is ``-`` before the key expression, which fhirpathpy would evaluate as a numeric negation
    (and refuse on strings); the key becomes ``key.<marker>()`` so that ``sort`` sees the direction."""
    children = node.get("children") or []
    # ``1.0``: upstream's number literal makes any integral value an integer (1.0 -> 1), losing
    # the decimal type and its scale; keep it a Decimal.
    if node.get("type") == "TermExpression" and len(children) == 1:
        lit = children[0]
        num = (lit.get("children") or [None])[0] if lit.get("type") == "LiteralTerm" else None
        if isinstance(num, dict) and num.get("type") == "NumberLiteral" and "." in str(num.get("text")):
            node["children"][0] = _decimal_term(str(num["text"]))
            return
    if node.get("type") == "Functn" and len(children) == 2:
        ident, params = children
        if ident.get("text") == "sort" and params.get("type") == "ParamList":
            for i, p in enumerate(params.get("children") or []):
                if p.get("type") == "PolarityExpression" and p.get("terminalNodeText") == ["-"]:
                    params["children"][i] = {
                        "type": "InvocationExpression",
                        "text": p.get("text"),
                        "terminalNodeText": ["."],
                        "children": [p["children"][0], _desc_call()],
                    }
    for child in children:
        if isinstance(child, dict):
            rewrite(child)


def run(tree: dict[str, Any], resource: Any, variables: Mapping[str, Any], raw: bool = False) -> list[Any]:
    """Evaluate a tree from :func:`compile_tree` (or :func:`strict_parse`) on ``resource``; plain
    data out (FHIRPath system values such as dates and quantities stay ``fhirpathpy`` objects), as
    ``fhirpathpy.evaluate``. ``raw``: fhirpathpy's nodes (with their paths), as its
    ``returnRawData`` option, for callers that need to know where a result lives (patch)."""
    constants.reset()
    data_root = arraify(resource)
    env = Environment(FIXED_VARIABLES)
    env["context"] = resource
    env.update(variables)
    ctx: dict[str, Any] = {
        "dataRoot": data_root,
        "vars": env,
        "model": MODEL,
        "userInvocationTable": INVOCATIONS,
        "traceFn": _trace,
    }
    node = do_eval(ctx, data_root, tree["children"][0])
    if raw:
        return [
            item
            for item in arraify(node)
            if not (
                isinstance(item, ResourceNode)
                and isinstance(item.data, dict)
                and list(item.data.keys()) == ["extension"]
            )
        ]
    out = _plain(node)
    return list(out) if isinstance(out, list) else [out]


def _plain(node: Any) -> Any:
    """fhirpathpy's own result conversion (``apply_parsed_path``'s ``visit``)."""
    data = get_data(node)
    if isinstance(node, list):
        res = []
        for item in data:
            i = _plain(item)
            if isinstance(i, dict) and list(i.keys()) == ["extension"]:
                continue  # the internal form of a primitive's extensions
            res.append(i)
        return res
    if isinstance(data, dict) and not isinstance(data, FP_Type):
        return {key: _plain(value) for key, value in data.items()}
    return data


__all__ = ["MODEL", "Environment", "ResourceNode", "compile_tree", "rewrite", "run"]
