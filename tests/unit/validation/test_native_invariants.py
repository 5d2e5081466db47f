"""Native invariant shapes give exactly what the FHIRPath engine gives, or step aside."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from fhir_server.fhirpath import evaluate_typed
from fhir_server.validation.native_invariants import native

CASES: list[tuple[str, str, Any]] = [
    ("matches('^[0-9]+$')", "string", "123456"),
    ("matches('^[0-9]+$')", "string", "12a"),
    ("matches('^(0[1-9]|[12][0-9]|3[01])-(0[1-9]|1[0-2])$')", "string", "01-13"),
    ("matches('^(0[1-9]|[12][0-9]|3[01])-(0[1-9]|1[0-2])$')", "string", "31-12"),
    ("length() <= 12", "string", "1234567890123"),
    ("length() <= 8", "string", "KBH01"),
    ("value > 0", "Quantity", {"value": Decimal("0")}),
    ("value > 0", "Quantity", {"value": 3}),
    ("value >= 0", "Money", {"value": Decimal("-0.01"), "currency": "TZS"}),
    ("value > 0", "Quantity", {"unit": "mg"}),
    ("$this <= 15", "decimal", Decimal("15.0")),
    ("$this <= 15", "integer", 16),
]


@pytest.mark.parametrize(("expression", "type_path", "value"), CASES)
def test_native_equals_fhirpath(expression: str, type_path: str, value: Any) -> None:
    fast = native(expression)
    assert fast is not None
    assert fast(value) == evaluate_typed(value, type_path, expression, {})


def test_other_shapes_and_types_step_aside() -> None:
    assert native("start.exists() and end > start") is None
    fast = native("length() <= 8")
    assert fast is not None and fast(12) is None  # not a string: the engine decides
    cmp = native("value > 0")
    assert cmp is not None and cmp({"value": "3"}) is None
