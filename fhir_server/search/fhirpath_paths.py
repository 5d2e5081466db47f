"""A fast, typed walker for the FHIRPath subset that search expressions use.

Covers 99 % of the official R4 SearchParameter expressions: paths, unions (``|``),
``as X`` / ``.as(X)`` / ``.ofType(X)``, indexers (``entry[0]``), ``first()``,
``.where(resolve() is X)`` (a check of the reference's target type, no resolution),
``.where(field='literal')`` and ``.extension('url')``. Anything else compiles with ``fhirpathpy`` instead
(``Patient.deceased.exists() and Patient.deceased != false``).

The walker tracks the static FHIR type of every value with the element tables of
``definitions.load()``, which expands choice elements (``Observation.value`` ->
``valueQuantity``, ``valueString``, ...) and lets extraction tell a ``date`` from a
``code``. It yields *nodes* ``(value, fhir_type, binding)`` (see ``types/__init__``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..definitions import Definitions
from .types import ExtractContext, Node
from .types.reference import reference_type

__all__ = [
    "NodeProgram",
    "PathCompiler",
    "Program",
    "Unsupported",
    "branches_for",
    "check_expression",
    "split_union",
]

_RESOURCE = "@resource"  # element typed "Resource": the type is the value's resourceType
_COMMON_ROOTS = frozenset({"Resource", "DomainResource"})

_TOKEN_RE = re.compile(
    r"\s*(?:(?P<str>'(?:[^'\\]|\\.)*')|(?P<num>\d+)|(?P<id>[A-Za-z_][A-Za-z0-9_]*|`[^`]*`)"
    r"|(?P<op>!=|[.()\[\]|=,]))"
)

Op = tuple[str, ...]
Program = Callable[[dict[str, Any]], list[Node]]
NodeProgram = Callable[[Node], list[Node]]  # a relative path from one node


class Unsupported(Exception):
    """The expression uses FHIRPath beyond the walker's subset."""


def split_union(expression: str) -> list[str]:
    """Split on top-level ``|`` (outside parentheses, brackets and string literals)."""
    parts: list[str] = []
    depth = 0
    quote = False
    start = 0
    i = 0
    while i < len(expression):
        c = expression[i]
        if quote:
            if c == "\\":
                i += 1
            elif c == "'":
                quote = False
        elif c == "'":
            quote = True
        elif c in "([":
            depth += 1
        elif c in ")]":
            depth -= 1
        elif c == "|" and depth == 0:
            parts.append(expression[start:i].strip())
            start = i + 1
        i += 1
    parts.append(expression[start:].strip())
    return [p for p in parts if p]


_ROOT_RE = re.compile(r"[\s(]*([A-Za-z_][A-Za-z0-9_]*)")


def branches_for(expression: str, resource_type: str) -> list[str]:
    """The union branches of ``expression`` that apply to ``resource_type``: those rooted
    at the type itself, at Resource/DomainResource, or at no type name at all."""
    kept = []
    for branch in split_union(expression):
        m = _ROOT_RE.match(branch)
        root = m.group(1) if m else ""
        if root == resource_type or root in _COMMON_ROOTS or not root[:1].isupper():
            kept.append(branch)
    return kept


# --------------------------------------------------------------------------- parsing


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens: list[tuple[str, str]] = []
        pos = 0
        text = text.strip()
        while pos < len(text):
            m = _TOKEN_RE.match(text, pos)
            if m is None or m.end() == pos:
                raise Unsupported(f"cannot tokenise {text[pos:]!r}")
            kind = m.lastgroup or ""
            self.tokens.append((kind, m.group(kind)))
            pos = m.end()
        self.i = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self, value: str | None = None, kind: str | None = None) -> str:
        tok = self.peek()
        if tok is None or (value is not None and tok[1] != value) or (kind is not None and tok[0] != kind):
            raise Unsupported(f"expected {value or kind} at token {self.i}")
        self.i += 1
        return tok[1]

    def at(self, value: str) -> bool:
        tok = self.peek()
        return tok is not None and tok[1] == value and tok[0] != "str"

    def parse(self) -> list[list[Op]]:
        branches = self.union()
        if self.peek() is not None:
            raise Unsupported("trailing tokens")
        return branches

    def union(self) -> list[list[Op]]:
        branches = self.typed()
        while self.at("|"):
            self.take("|")
            branches += self.typed()
        return branches

    def typed(self) -> list[list[Op]]:
        branches = self.chain()
        if self.at("as"):
            self.take("as")
            t = self.type_name()
            branches = [[*b, ("as", t)] for b in branches]
        elif self.at("is"):
            raise Unsupported("is operator")
        return branches

    def type_name(self) -> str:
        name = self.take(kind="id")
        if self.at("."):  # FHIR.Quantity / System.String
            self.take(".")
            name = self.take(kind="id")
        return name.strip("`")

    def chain(self) -> list[list[Op]]:
        if self.at("("):
            self.take("(")
            branches = self.union()
            self.take(")")
        else:
            name = self.take(kind="id").strip("`")
            if self.at("("):
                raise Unsupported(f"function {name} at root")
            branches = [[("root", name)] if name[:1].isupper() else [("root", ""), ("field", name)]]
        while True:
            if self.at("."):
                self.take(".")
                ops = self.invocation()
                branches = [b + ops for b in branches]
            elif self.at("["):
                self.take("[")
                n = self.take(kind="num")
                self.take("]")
                branches = [[*b, ("index", n)] for b in branches]
            else:
                return branches

    def invocation(self) -> list[Op]:
        name = self.take(kind="id").strip("`")
        if not self.at("("):
            return [("field", name)]
        self.take("(")
        if name in ("as", "ofType"):
            t = self.type_name()
            self.take(")")
            return [("as", t)]
        if name == "first":
            self.take(")")
            return [("index", "0")]
        if name == "where":
            op = self.where_condition()
            self.take(")")
            return [op]
        if name == "extension":  # extension('url') = extension.where(url = 'url')
            kind, lit = self.peek() or ("", "")
            if kind != "str":
                raise Unsupported("extension() without a string literal")
            self.i += 1
            self.take(")")
            return [("field", "extension"), ("where_eq", "url", lit[1:-1].replace("\\'", "'"))]
        raise Unsupported(f"function {name}()")

    def where_condition(self) -> Op:
        first = self.take(kind="id")
        if first == "resolve":
            self.take("(")
            self.take(")")
            self.take("is")
            return ("where_is", self.type_name())
        if self.at("="):
            self.take("=")
            kind, lit = self.peek() or ("", "")
            if kind != "str":
                raise Unsupported("where with a non-string literal")
            self.i += 1
            return ("where_eq", first, lit[1:-1].replace("\\'", "'"))
        raise Unsupported("where condition")


def check_expression(expression: str) -> str | None:
    """None when the walker or fhirpathpy can compile ``expression``, else the problem."""
    try:
        _Parser(expression).parse()
        return None
    except Unsupported:
        pass
    from fhir_server.fhirpath import FhirPathError, compile_expression

    try:  # strict parse; evaluating once catches unknown functions
        compile_expression(expression)({}, {})
    except FhirPathError as exc:
        return str(exc)
    return None


# --------------------------------------------------------------------------- walking


@dataclass
class PathCompiler:
    """Compiles expressions to walkers over JSON resources (one per definitions set)."""

    definitions: Definitions
    ctx: ExtractContext
    _fields: dict[tuple[str | None, str], list[tuple[str, str | None, str | None]]] = field(
        default_factory=dict
    )

    def field_options(self, fhir_type: str | None, name: str) -> list[tuple[str, str | None, str | None]]:
        """``(json_key, child_type, binding)`` for ``name`` on ``fhir_type`` (choices expanded)."""
        key = (fhir_type, name)
        opts = self._fields.get(key)
        if opts is None:
            opts = self._compute_options(fhir_type, name)
            self._fields[key] = opts
        return opts

    def _compute_options(self, fhir_type: str | None, name: str) -> list[tuple[str, str | None, str | None]]:
        if fhir_type is None:
            return [(name, None, None)]
        elements = self.definitions.types.get(fhir_type)
        if elements is None:
            return []  # primitive types have no children
        el = elements.get(name)
        if el is None:
            return [(name, None, None)]
        if el.choice:
            return [(name + t[0].upper() + t[1:], t, None) for t in el.types]
        t = el.types[0] if el.types else None
        if t == "Resource":
            t = _RESOURCE
        return [(name, t, el.binding if t == "code" else None)]

    def compile(self, ops: list[Op], resource_type: str) -> Program | None:
        """A walker for one branch; None when the branch does not apply to the type."""
        root = ops[0][1]
        if root and root != resource_type and root not in _COMMON_ROOTS:
            return None
        walk = self._walker(ops[1:])

        def run(resource: dict[str, Any]) -> list[Node]:
            return walk([(resource, resource_type, None)])

        return run

    def _walker(self, steps: list[Op]) -> Callable[[list[Node]], list[Node]]:
        """The nodes ``steps`` lead to from ``nodes``."""
        ctx = self.ctx
        options = self.field_options

        def walk(nodes: list[Node]) -> list[Node]:
            for op in steps:
                kind = op[0]
                if kind == "field":
                    name = op[1]
                    nxt: list[Node] = []
                    for value, t, _ in nodes:
                        if not isinstance(value, dict):
                            continue
                        for key, ct, binding in options(t, name):
                            x = value.get(key)
                            if x is None:
                                continue
                            if isinstance(x, list):
                                for item in x:
                                    if item is not None:
                                        nxt.append((item, _dyn(item) if ct == _RESOURCE else ct, binding))
                            else:
                                nxt.append((x, _dyn(x) if ct == _RESOURCE else ct, binding))
                    nodes = nxt
                elif kind == "as":
                    want = op[1].lower()
                    nodes = [n for n in nodes if n[1] is not None and n[1].lower() == want]
                elif kind == "index":
                    k = int(op[1])
                    nodes = nodes[k : k + 1]
                elif kind == "where_is":
                    nodes = [n for n in nodes if reference_type(n[0], n[1], ctx) == op[1]]
                elif kind == "where_eq":
                    nodes = [n for n in nodes if isinstance(n[0], dict) and n[0].get(op[1]) == op[2]]
                if not nodes:
                    return nodes
            return nodes

        return walk

    def compile_relative(self, expression: str) -> NodeProgram | None:
        """A program over one node for a relative expression (a composite's component:
        ``code``, ``value.as(Quantity) | value.as(Range)``); None when the expression is
        not a relative path the walker handles (``%resource...``)."""
        try:
            parsed = _Parser(expression).parse()
        except Unsupported:
            return None
        if any(ops[0] != ("root", "") for ops in parsed):
            return None
        walks = [self._walker(ops[1:]) for ops in parsed]

        def run(node: Node) -> list[Node]:
            out: list[Node] = []
            for walk in walks:
                out.extend(walk([node]))
            return out

        return run

    def compile_expression(self, expression: str, resource_type: str) -> Program | None:
        """A program for the branches of ``expression`` that apply to ``resource_type``
        (walker where possible, fhirpathpy otherwise); None if none applies."""
        programs: list[Program] = []
        for branch in branches_for(expression, resource_type):
            present = _PRESENT_NOT_FALSE.match(branch)
            if present:
                inner = self.compile_expression(present.group(1), resource_type)
                if inner is not None:
                    programs.append(_present_not_false(inner))
                    continue
            try:
                parsed = _Parser(branch).parse()
            except Unsupported:
                programs.append(_fhirpath_program(branch))
                continue
            for ops in parsed:
                prog = self.compile(ops, resource_type)
                if prog is not None:
                    programs.append(prog)
        if not programs:
            return None
        if len(programs) == 1:
            return programs[0]

        def union(resource: dict[str, Any]) -> list[Node]:
            out: list[Node] = []
            for p in programs:
                out.extend(p(resource))
            return out

        return union


# ``X.exists() and X != false`` (Patient-deceased): a boolean, without fhirpathpy
_PRESENT_NOT_FALSE = re.compile(r"^\(?([A-Za-z][A-Za-z0-9.]*)\.exists\(\) and \1 != false\)?$")


def _present_not_false(inner: Program) -> Program:
    """true when the element is present and not the boolean false, else false (FHIRPath
    ``exists() and != false``: a value of another type is never equal to false)."""

    def run(resource: dict[str, Any]) -> list[Node]:
        values = [n[0] for n in inner(resource)]
        return [(bool(values) and not any(v is False for v in values), None, None)]

    return run


def _dyn(value: Any) -> str | None:
    rt = value.get("resourceType") if isinstance(value, dict) else None
    return rt if isinstance(rt, str) else None


_PLAIN = (dict, str, bool, int, float)


def _fhirpath_program(expression: str) -> Program:
    """``fhir_server.fhirpath``, compiled once; untyped nodes; failures yield nothing (never raise)."""
    from fhir_server.fhirpath import FhirPathError, compile_expression

    try:
        fn = compile_expression(expression)
    except FhirPathError:

        def nothing(resource: dict[str, Any]) -> list[Node]:
            return []

        return nothing

    def run(resource: dict[str, Any]) -> list[Node]:
        try:
            result = fn(resource, {})
        except FhirPathError:
            return []
        nodes: list[Node] = []
        for item in result or ():
            value = item if isinstance(item, _PLAIN) or type(item).__name__ == "Decimal" else str(item)
            nodes.append((value, None, None))
        return nodes

    return run
