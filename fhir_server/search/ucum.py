"""UCUM canonical forms of quantities, for searches across units (search.html R4, quantity:
"GET [base]/Observation?value-quantity=5.4|http://unitsofmeasure.org|mg ... where mg is
understood as a UCUM unit"; a server that canonicalises finds ``5400|...|ug`` too).

``canonical(code)`` gives the affine map of a UCUM code to SI base units (``mg`` ->
``x * 1e-6`` kg; ``Cel`` -> ``x + 273.15`` K) and the base unit's name, through
``ucumvert`` (a UCUM grammar on top of pint), loaded lazily on first use. Codes it cannot
parse (annotations only, arbitrary units like ``[IU]`` that pint does not know) give None:
such quantities are compared as written. Canonical values are rounded to 12 significant
digits so that equal quantities in different units compare equal despite binary floats.
"""

from __future__ import annotations

import math
import threading
from functools import cache
from typing import Any

__all__ = ["UCUM_SYSTEM", "canonical", "to_canonical"]

UCUM_SYSTEM = "http://unitsofmeasure.org"
_lock = threading.RLock()  # pint registries are not documented as thread-safe
_registry: list[Any] = []


def _ureg() -> Any:
    with _lock:
        if not _registry:
            from ucumvert import PintUcumRegistry

            _registry.append(PintUcumRegistry())
        return _registry[0]


@cache
def canonical(code: str) -> tuple[float, float, str] | None:
    """(scale, offset, canonical unit) for a UCUM code, or None when it cannot convert."""
    try:
        with _lock:
            ureg = _ureg()
            parsed = ureg.from_ucum(code)
            magnitude = float(parsed.magnitude)
            units = parsed.units
            zero = ureg.Quantity(0.0, units).to_base_units()
            one = ureg.Quantity(magnitude, units).to_base_units()
            offset = float(zero.magnitude)
            scale = float(one.magnitude) - offset
            unit = format(one.units, "~")
    except Exception:  # not UCUM, not convertible, or ucumvert missing: compare as written
        return None
    if not math.isfinite(scale) or scale <= 0 or not math.isfinite(offset):
        return None
    if not unit:  # dimensionless: arbitrary units ([IU]) are not commensurable with %
        return None
    return scale, offset, unit


def _round(x: float) -> float:
    return float(f"{x:.12g}")


def to_canonical(values: tuple[float, ...], code: str | None) -> tuple[tuple[float, ...], str] | None:
    """``values`` in the canonical unit of ``code`` (None when not convertible)."""
    if not code:
        return None
    c = canonical(code)
    if c is None:
        return None
    scale, offset, unit = c
    return tuple(_round(v * scale + offset) for v in values), unit
