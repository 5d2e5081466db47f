"""FHIRPath for the whole server: one place that compiles and evaluates expressions.

Invariants (validation), FHIRPath Patch and the search-extraction fallback evaluate
through here, so a fix or an extension made for the official FHIRPath suite
(``../shared/data/fhir-test-cases/r4/fhirpath``) applies everywhere. The engine is
``fhirpathpy`` with the R4 model; expressions are compiled once and cached.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

__all__ = ["FhirPathError", "compile_expression", "evaluate", "evaluate_typed"]

Compiled = Callable[[Any, Mapping[str, Any]], list[Any]]


class FhirPathError(Exception):
    """The expression cannot be compiled or evaluated."""


def _has_value(inputs: list[Any]) -> list[bool]:
    """FHIRPath ``hasValue()`` (fhirpath.html#functions, FHIR extension): true when the
    input is a single primitive that has a value (not only extensions). fhirpathpy lacks it;
    the base invariants use it (``per-1``, ``qty-3``...)."""
    return [len(inputs) == 1 and inputs[0] is not None and not isinstance(inputs[0], dict | list)]


def _no_trace(*_: Any) -> None:
    """``trace()`` logs nothing (fhirpathpy prints to stdout without a callback)."""


_OPTIONS: dict[str, Any] = {
    "userInvocationTable": {"hasValue": {"fn": _has_value, "arity": {0: []}}},
    "traceFn": _no_trace,
}


@lru_cache(maxsize=4096)
def compile_expression(expression: str) -> Compiled:
    """The expression compiled against the R4 model (raises ``FhirPathError``)."""
    import fhirpathpy
    from fhirpathpy.models import models

    try:
        fn = fhirpathpy.compile(expression, models["r4"], _OPTIONS)
    except Exception as exc:  # the parser raises several kinds
        raise FhirPathError(f"'{expression}': {exc}") from exc

    def run(resource: Any, variables: Mapping[str, Any]) -> list[Any]:
        env = {"resource": resource, "rootResource": resource, "context": resource, **variables}
        try:
            out = fn(resource, env)
        except Exception as exc:
            raise FhirPathError(f"'{expression}': {exc}") from exc
        return list(out or ())

    return run


def evaluate(resource: Any, expression: str, variables: Mapping[str, Any] | None = None) -> list[Any]:
    """The collection ``expression`` yields on ``resource`` (``%resource``/``%context`` are the
    resource unless ``variables`` say otherwise)."""
    return compile_expression(expression)(resource, variables or {})


def evaluate_typed(
    node: Any, type_path: str, expression: str, variables: Mapping[str, Any] | None = None
) -> list[Any]:
    """``expression`` evaluated on ``node``, an element of the model path ``type_path``
    (``Patient.contact``, ``Period``) so that choice elements (``value``) and type tests
    resolve; ``%resource``/``%context`` as given in ``variables``."""
    from fhirpathpy.engine.nodes import ResourceNode

    typed = ResourceNode.create_node(node, type_path)  # type: ignore[no-untyped-call]
    return compile_expression(expression)(typed, variables or {})
