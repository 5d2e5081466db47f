"""Large OR-sets of ``system|code`` tokens (the expansions behind ``:in``, ``:not-in``,
``:below``, ``:above``), grouped per system so that each backend compiles them as one
set lookup per system on its token index (SQLite ``code IN (json_each(?))``, MongoDB
``$in`` inside the ``$elemMatch``) instead of thousands of ORed equalities. The
semantics are unchanged: the clause matches when an entry equals one of the pairs.
"""

from __future__ import annotations

from collections.abc import Sequence

from .ir import TokenValue, Value

SET_MIN = 8  # from this many values on, system|code pairs are grouped


def group_codes(values: Sequence[Value]) -> tuple[dict[str, list[str]], list[Value]]:
    """(system -> sorted codes) for the TokenValues with both a system and a code, and the
    other values unchanged; nothing is grouped below ``SET_MIN`` values."""
    if len(values) < SET_MIN:
        return {}, list(values)
    groups: dict[str, set[str]] = {}
    rest: list[Value] = []
    for v in values:
        if isinstance(v, TokenValue) and v.system and v.code is not None and v.text is None:
            groups.setdefault(v.system, set()).add(v.code)
        else:
            rest.append(v)
    return {s: sorted(c) for s, c in sorted(groups.items())}, rest
