"""Number and quantity values (search/types/number.py, quantity.py)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from fhir_server.search.index import NumberEntry, QuantityEntry
from fhir_server.search.types import ParseContext, ValueParseError
from fhir_server.search.types import number as number_t
from fhir_server.search.types import quantity as quantity_t
from fhir_server.search.types.number import implicit_range

CTX = ParseContext("value")


def num(v: str) -> NumberEntry:
    e = number_t.number_entry(Decimal(v))
    assert e is not None
    return e


def nm(query: str, value: str) -> bool:
    return number_t.match_value(number_t.parse(query, None, CTX), num(value))


def test_implicit_ranges() -> None:
    assert implicit_range(Decimal("100")) == (99.5, 100.5)
    assert implicit_range(Decimal("100.00")) == (99.995, 100.005)
    assert implicit_range(Decimal("1.50")) == (1.495, 1.505)
    assert implicit_range(Decimal("1e2")) == (50.0, 150.0)
    assert implicit_range(Decimal("-5")) == (-5.5, -4.5)
    assert number_t.to_decimal(3) == Decimal(3)
    assert number_t.to_decimal(0.1) == Decimal("0.1")
    assert number_t.to_decimal(True) is None
    assert number_t.to_decimal(Decimal("NaN")) is None


def test_search_html_number_examples() -> None:
    """search.html 3.1.1.4.4 number: "[parameter]=100 Values that equal 100, to 3 significant
    figures precision, so this is actually searching for values in the range [99.5 ... 100.5)";
    "[parameter]=100.00 ... [99.995 ... 100.005)"; "lt100 Values that are less than exactly
    100"; "le100 ... less or equal to exactly 100"; "gt100 ... greater than exactly 100";
    "ge100 ... greater or equal to exactly 100"; "ne100 Values that are not equal to 100
    (actually, in the range 99.5 to 100.5)"."""
    assert nm("100", "99.5") and nm("100", "100.4") and not nm("100", "100.5") and not nm("100", "99.4")
    assert nm("100.00", "100") and nm("100.00", "100.004") and not nm("100.00", "100.01")
    assert nm("lt100", "99.99") and not nm("lt100", "100")
    assert nm("le100", "100") and not nm("le100", "100.01")
    assert nm("gt100", "100.1") and nm("gt100", "100.5") and not nm("gt100", "100")
    assert nm("ge100", "100") and not nm("ge100", "99.9")
    assert nm("ne100", "100.5") and nm("ne100", "99.4") and not nm("ne100", "99.5")


def test_number_sa_eb_ap() -> None:
    assert nm("sa100", "100.1") and not nm("sa100", "100")
    assert nm("eb100", "99.9") and not nm("eb100", "100")
    assert nm("ap100", "109") and nm("ap100", "91") and not nm("ap100", "111") and not nm("ap100", "89")


@pytest.mark.parametrize("bad", ["", "abc", "1,5", "1.2.3", "e5", "1e", "--1", "zz5"])
def test_invalid_numbers(bad: str) -> None:
    with pytest.raises(ValueParseError):
        number_t.parse(bad, None, CTX)


def qm(query: str, entry: QuantityEntry) -> bool:
    return quantity_t.match_value(quantity_t.parse(query, None, CTX), entry)


MG = QuantityEntry(5.4, 5.35, 5.45, "http://unitsofmeasure.org", "mg", "mg")
MG_UNIT_ONLY = QuantityEntry(5.4, 5.35, 5.45, None, None, "mg")


def test_search_html_quantity_examples() -> None:
    """search.html 3.1.1.4.5 quantity: "value-quantity=5.4|http://unitsofmeasure.org|mg Search
    for all the observations with a value of 5.4(+/-0.05) mg where mg is understood as a UCUM
    unit (system/code)"; "value-quantity=5.4||mg ... where the unit - either the code (code) or
    the stated human unit (unit) are "mg""; "value-quantity=5.4 ... (irrespective of the unit)";
    "value-quantity=le5.4|http://unitsofmeasure.org|mg ... less than or equal to 5.4 mg"."""
    assert qm("5.4|http://unitsofmeasure.org|mg", MG)
    assert qm("5.4|http://unitsofmeasure.org|mg", MG._replace(value=5.44))  # 5.4(+/-0.05)
    assert not qm("5.4|http://unitsofmeasure.org|mg", MG._replace(value=5.46))
    assert not qm("5.4|http://unitsofmeasure.org|mg", MG_UNIT_ONLY)
    assert not qm("5.4|http://unitsofmeasure.org|g", MG)
    assert qm("5.4||mg", MG) and qm("5.4||mg", MG_UNIT_ONLY)
    assert not qm("5.4||g", MG)
    assert qm("5.4", MG) and qm("5.4", MG_UNIT_ONLY)
    assert qm("le5.4|http://unitsofmeasure.org|mg", MG) and not qm("lt5.4|http://unitsofmeasure.org|mg", MG)
    assert qm(r"5.4||m\|g", QuantityEntry(5.4, 5.35, 5.45, None, "m|g", None))


def test_quantity_extraction() -> None:
    out: list = []  # type: ignore[type-arg]
    quantity_t.extract(({"value": Decimal("2.0"), "currency": "USD"}, "Money", None), None, out)  # type: ignore[arg-type]
    quantity_t.extract(({"low": {"value": 1}, "high": {"value": 2, "unit": "a"}}, "Range", None), None, out)  # type: ignore[arg-type]
    quantity_t.extract(({"origin": {"value": 1}}, "SampledData", None), None, out)  # type: ignore[arg-type]
    quantity_t.extract(({"unit": "mg"}, "Quantity", None), None, out)  # type: ignore[arg-type]
    assert [(e.value, e.code, e.unit) for e in out] == [
        (2.0, "USD", None),
        (1.0, None, None),
        (2.0, None, "a"),
    ]


@pytest.mark.parametrize("bad", ["5.4|mg", "x|a|b", "5.4|a|b|c", ""])
def test_invalid_quantities(bad: str) -> None:
    with pytest.raises(ValueParseError):
        quantity_t.parse(bad, None, CTX)
