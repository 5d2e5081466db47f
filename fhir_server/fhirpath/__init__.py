"""FHIRPath for the whole server: one place that compiles and evaluates expressions.

Invariants (validation), FHIRPath Patch and the search-extraction fallback evaluate
through here, so a fix or an extension made for the official FHIRPath suite
(``../shared/data/fhir-test-cases/r4/fhirpath``) applies everywhere. The engine is
``fhirpathpy`` with the R4 model (its parser and evaluators), run by :mod:`.engine` with the FHIR
variables and the functions of :mod:`.functions` (what fhirpathpy lacks or gets wrong, measured
with the suite: ``bench/fhirpath_suite.py``, docs/decisions/0010-fhirpath.md); expressions are
compiled once and cached.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

__all__ = ["FhirPathError", "compile_expression", "evaluate", "evaluate_typed"]

Compiled = Callable[[Any, Mapping[str, Any]], list[Any]]


class FhirPathError(Exception):
    """The expression cannot be compiled or evaluated."""


@lru_cache(maxsize=4096)
def compile_expression(expression: str) -> Compiled:
    """The expression compiled against the R4 model (raises ``FhirPathError``)."""
    from .engine import compile_tree, run

    try:
        tree = compile_tree(expression)
    except Exception as exc:  # the parser raises several kinds
        raise FhirPathError(f"'{expression}': {exc}") from exc

    def compiled(resource: Any, variables: Mapping[str, Any]) -> list[Any]:
        env = {"resource": resource, "rootResource": resource, "context": resource, **variables}
        try:
            return run(tree, resource, env)
        except Exception as exc:
            raise FhirPathError(f"'{expression}': {exc}") from exc

    return compiled


def evaluate(resource: Any, expression: str, variables: Mapping[str, Any] | None = None) -> list[Any]:
    """The collection ``expression`` yields on ``resource`` (``%resource``/``%context`` are the
    resource unless ``variables`` say otherwise)."""
    return compile_expression(expression)(resource, variables or {})


def evaluate_typed(
    node: Any, type_path: str, expression: str, variables: Mapping[str, Any] | None = None
) -> list[Any]:
    """``expression`` evaluated on ``node``, an element of the model path ``type_path``
    (``Patient.contact``, ``Period``) so that choice elements (``value``) and type tests
    resolve; ``%resource``/``%context`` as given in ``variables`` (the invariants of
    validation/invariants.py and validation/profile_rules.py)."""
    from fhirpathpy.engine.nodes import ResourceNode

    typed = ResourceNode.create_node(node, type_path)  # type: ignore[no-untyped-call]
    return compile_expression(expression)(typed, variables or {})
