"""Keyset paging for MongoDB: sort specs, "after this row" filters, opaque cursors.

Never skip/offset: a cursor carries the sort values of the last row served and its
``_id``; the next page is the rows strictly after it in the sort order. Sorts are on
scalar fields only (per-parameter keys ``sa.<code>``/``sd.<code>`` computed at write
time, see ``documents.sort_keys``), with ``_id`` ascending as the tie-breaker.
Resources without a value for a sort parameter come last in both directions: each
parameter key is preceded by its presence flag ``sp.<code>`` sorted descending
(null/missing is the lowest BSON value). The "after" predicate handles null values.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ...errors import InvalidError
from ...search.ir import SortKey
from .documents import SORT_ASC, SORT_DESC, SORT_PRESENT, field_name

Filter = dict[str, Any]


@dataclass(frozen=True)
class SortField:
    path: str  # dotted path in the document
    descending: bool

    def value(self, doc: Mapping[str, Any]) -> Any:
        cur: Any = doc
        for part in self.path.split("."):
            if not isinstance(cur, Mapping) or part not in cur:
                return None
            cur = cur[part]
        return cur


def sort_fields(keys: Sequence[SortKey]) -> list[SortField]:
    """The sort as scalar fields; a parameter key is led by its presence flag (descending),
    so that resources without a value come last in both directions."""
    fields: list[SortField] = []
    for k in keys:
        if k.type == "_id" or k.param == "_id":
            fields.append(SortField("id", k.descending))
        elif k.type == "_lastUpdated" or k.param == "_lastUpdated":
            fields.append(SortField("lu_us", k.descending))
        else:  # dates sort descending on their latest end, everything else on the smallest value
            prefix = SORT_DESC if k.descending and k.type == "date" else SORT_ASC
            fields.append(SortField(f"{SORT_PRESENT}.{field_name(k.param)}", True))
            fields.append(SortField(f"{prefix}.{field_name(k.param)}", k.descending))
    return fields


def mongo_sort(
    fields: Sequence[SortField], tiebreak: str = "_id", tiebreak_desc: bool = False
) -> list[tuple[str, int]]:
    spec = [(f.path, -1 if f.descending else 1) for f in fields]
    spec.append((tiebreak, -1 if tiebreak_desc else 1))
    return spec


def _after(f: SortField, value: Any) -> Filter | None:
    """Rows strictly after ``value`` on one field, or None when nothing can follow."""
    if not f.descending:
        return {f.path: {"$ne": None}} if value is None else {f.path: {"$gt": value}}
    if value is None:
        return None
    return {"$or": [{f.path: {"$lt": value}}, {f.path: None}]}


def after_filter(
    fields: Sequence[SortField],
    values: Sequence[Any],
    last_id: Any,
    tiebreak: str = "_id",
    tiebreak_desc: bool = False,
) -> Filter:
    """The keyset predicate: lexicographically after (values..., last_id)."""
    branches: list[Filter] = []
    for i, f in enumerate(fields):
        nxt = _after(f, values[i])
        if nxt is None:
            continue
        equal = [{fields[j].path: values[j]} for j in range(i)]
        branches.append({"$and": [*equal, nxt]} if equal else nxt)
    equal = [{f.path: v} for f, v in zip(fields, values, strict=True)]
    last = {tiebreak: {"$lt" if tiebreak_desc else "$gt": last_id}}
    branches.append({"$and": [*equal, last]} if equal else last)
    return branches[0] if len(branches) == 1 else {"$or": branches}


def signature(fields: Sequence[SortField]) -> str:
    text = ",".join(f"{f.path}:{int(f.descending)}" for f in fields)
    return hashlib.sha1(text.encode()).hexdigest()[:8]


def encode_cursor(sig: str, values: Sequence[Any], last_id: Any) -> str:
    raw = json.dumps({"s": sig, "k": list(values), "i": last_id}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, sig: str, n_values: int) -> tuple[list[Any], Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        values, last_id = data["k"], data["i"]
        ok = data["s"] == sig and isinstance(values, list) and len(values) == n_values
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidError("the paging cursor is malformed", expression=("_cursor",)) from exc
    if not ok:
        raise InvalidError("the paging cursor does not belong to this search", expression=("_cursor",))
    return values, last_id
