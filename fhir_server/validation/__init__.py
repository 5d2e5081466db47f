"""Resource validation on every write (http://hl7.org/fhir/R4/validation.html).

``validate_resource(resource, expected_type=None) -> list[Issue]`` and
``raise_if_invalid(resource, expected_type=None)`` (raises ``InvalidResourceError``).
See :mod:`.validator` for what is checked and :mod:`.walker` for how rules plug in.
"""

from __future__ import annotations

from .validator import Validator, default_validator, has_errors, raise_if_invalid, validate_resource
from .walker import Check, ElementContext, Finding, Rule, Walker

__all__ = [
    "Check",
    "ElementContext",
    "Finding",
    "Rule",
    "Validator",
    "Walker",
    "default_validator",
    "has_errors",
    "raise_if_invalid",
    "validate_resource",
]
