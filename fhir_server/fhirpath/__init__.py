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

__all__ = ["FhirPathError", "compile_expression", "evaluate"]

Compiled = Callable[[Any, Mapping[str, Any]], list[Any]]


class FhirPathError(Exception):
    """The expression cannot be compiled or evaluated."""


@lru_cache(maxsize=4096)
def compile_expression(expression: str) -> Compiled:
    """The expression compiled against the R4 model (raises ``FhirPathError``)."""
    import fhirpathpy
    from fhirpathpy.models import models

    try:
        fn = fhirpathpy.compile(expression, models["r4"])
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
