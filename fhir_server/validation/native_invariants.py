"""Native evaluation of the commonest shapes of profile invariants.

Our IG's invariants (``profiles/``) are mostly one comparison on the element they sit on:
``matches('^[0-9]+$')`` and ``length() <= 12`` on identifier values, ``value > 0`` on a
Quantity or Money, ``$this <= 100`` on a number. Evaluated through the FHIRPath engine each
costs ~150 µs (a typed node, the interpreter); here it is a Python expression. A shape is
only taken natively for the JSON type its FHIRPath meaning is plain for (a string for
``matches``/``length()``, a JSON number for comparisons); anything else returns None and the
caller evaluates the expression with ``fhir_server.fhirpath`` as before, so the result is
always the one FHIRPath gives: ``[True]``, ``[False]``, or ``[]`` when the value is absent.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from decimal import Decimal
from functools import lru_cache
from typing import Any

Native = Callable[[Any], list[bool] | None]

_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "=": operator.eq,
    "!=": operator.ne,
}
_NUMBER = r"-?\d+(?:\.\d+)?"
_MATCHES = re.compile(r"^matches\('((?:[^'\\]|\\.)*)'\)$")
_LENGTH = re.compile(r"^length\(\)\s*(<=|<|>=|>|=|!=)\s*(\d+)$")
_FIELD_CMP = re.compile(rf"^(value|\$this)\s*(<=|<|>=|>|=|!=)\s*({_NUMBER})$")


def _is_number(x: Any) -> bool:
    return type(x) in (int, float, Decimal)


@lru_cache(maxsize=1024)
def native(expression: str) -> Native | None:
    """A native evaluator of ``expression`` for the shapes above, else None."""
    text = expression.strip()
    if m := _MATCHES.match(text):
        pattern = re.compile(m.group(1).replace("\\'", "'"), re.DOTALL)

        def matches(v: Any) -> list[bool] | None:
            return [pattern.search(v) is not None] if type(v) is str else None

        return matches
    if m := _LENGTH.match(text):
        op, n = _OPS[m.group(1)], int(m.group(2))

        def length(v: Any) -> list[bool] | None:
            return [op(len(v), n)] if type(v) is str else None

        return length
    if m := _FIELD_CMP.match(text):
        field, op, limit = m.group(1), _OPS[m.group(2)], Decimal(m.group(3))

        def compare(v: Any) -> list[bool] | None:
            if field == "value":
                if type(v) is not dict:
                    return None
                if "value" not in v:
                    return []  # no value: the comparison is empty
                v = v["value"]
            if not _is_number(v):
                return None
            return [op(Decimal(str(v)) if type(v) is float else v, limit)]

        return compare
    return None
