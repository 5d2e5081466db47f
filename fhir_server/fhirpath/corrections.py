"""Corrections to R4 base-spec invariants whose FHIRPath is wrong as published (4.0.1).

The engine follows the FHIRPath suite; a few R4 invariants contradict it, and later FHIR versions
corrected them. Validation evaluates :func:`corrected` instead of the published text, so that valid
resources are not rejected by a defect of the specification. Each entry names the fix's source.
"""

from __future__ import annotations

__all__ = ["CORRECTIONS", "corrected"]

# (key, published expression) -> corrected expression
CORRECTIONS: dict[tuple[str, str], str] = {
    # que-7: ``answer is Boolean`` names System.Boolean, which a FHIR ``boolean`` is not
    # (suite: ``Patient.active.is(Boolean)`` is false); R4B/R5 write ``answer is boolean``.
    (
        "que-7",
        "operator = 'exists' implies (answer is Boolean)",
    ): "operator = 'exists' implies (answer is boolean)",
}

# dom-3: ``%resource.descendants().as(canonical)``: ``as()`` on more than one item is an error
# (suite: ``Patient.name.as(HumanName).use``); R5 uses ``ofType(...)``.
_DOM3_R4 = (
    "contained.where((('#'+id in (%resource.descendants().reference | "
    "%resource.descendants().as(canonical) | %resource.descendants().as(uri) | "
    "%resource.descendants().as(url))) or descendants().where(reference = '#').exists() or "
    "descendants().where(as(canonical) = '#').exists() or "
    "descendants().where(as(canonical) = '#').exists()).not()).trace('unmatched', id).empty()"
)
CORRECTIONS[("dom-3", _DOM3_R4)] = _DOM3_R4.replace(
    "%resource.descendants().as(", "%resource.descendants().ofType("
)


def corrected(key: str, expression: str) -> str:
    """The expression to evaluate for base invariant ``key`` published as ``expression``."""
    return CORRECTIONS.get((key, expression), expression)
