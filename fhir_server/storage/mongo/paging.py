"""Keyset paging for MongoDB: sort specs, "after this row" filters, opaque cursors.

Never skip/offset: a cursor carries the sort values of the last row served; the next
page is the rows strictly after it in the sort order, which always ends with unique
tie-breakers (search: ``id`` then ``type`` ascending, the reference matcher's order;
history: ``_id`` descending). Sorts are on scalar fields only (per-parameter keys
``sa.<code>``/``sd.<code>`` computed at write time, see ``documents.sort_keys``).
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
    descending: bool = False

    def value(self, doc: Mapping[str, Any]) -> Any:
        cur: Any = doc
        for part in self.path.split("."):
            if not isinstance(cur, Mapping) or part not in cur:
                return None
            cur = cur[part]
        return cur


SEARCH_TIEBREAK = (SortField("id"), SortField("type"))


def sort_fields(keys: Sequence[SortKey], one_type: bool = False) -> list[SortField]:
    """The search order as scalar fields, ending with the unique tie-breakers (``id``
    alone within one type, so the ``(type, id)`` index serves the default order); a
    parameter key is led by its presence flag (descending) so resources without a value
    come last."""
    fields: list[SortField] = []
    for k in keys:
        if k.type == "_id" or k.param == "_id":
            fields.append(SortField("id", k.descending))
        elif k.type == "_lastUpdated" or k.param == "_lastUpdated":
            fields.append(SortField("lu_us", k.descending))
        else:
            name = field_name(k.param)
            fields.append(SortField(f"{SORT_PRESENT}.{name}", True))
            fields.append(SortField(f"{SORT_DESC if k.descending else SORT_ASC}.{name}", k.descending))
    seen = {f.path for f in fields}
    tiebreak = SEARCH_TIEBREAK[:1] if one_type else SEARCH_TIEBREAK
    return [*fields, *(f for f in tiebreak if f.path not in seen)]


def mongo_sort(fields: Sequence[SortField]) -> list[tuple[str, int]]:
    return [(f.path, -1 if f.descending else 1) for f in fields]


def _after(f: SortField, value: Any) -> Filter | None:
    """Rows strictly after ``value`` on one field, or None when nothing can follow."""
    if not f.descending:
        return {f.path: {"$ne": None}} if value is None else {f.path: {"$gt": value}}
    if value is None:
        return None
    return {"$or": [{f.path: {"$lt": value}}, {f.path: None}]}


def after_filter(fields: Sequence[SortField], values: Sequence[Any]) -> Filter:
    """The keyset predicate: lexicographically after ``values`` in the order of ``fields``."""
    branches: list[Filter] = []
    for i, f in enumerate(fields):
        nxt = _after(f, values[i])
        if nxt is None:
            continue
        equal = [{fields[j].path: values[j]} for j in range(i)]
        branches.append({"$and": [*equal, nxt]} if equal else nxt)
    if not branches:
        return {"_id": {"$in": []}}
    return branches[0] if len(branches) == 1 else {"$or": branches}


def row_values(fields: Sequence[SortField], doc: Mapping[str, Any]) -> list[Any]:
    return [f.value(doc) for f in fields]


def signature(fields: Sequence[SortField]) -> str:
    text = ",".join(f"{f.path}:{int(f.descending)}" for f in fields)
    return hashlib.sha1(text.encode()).hexdigest()[:8]


def encode_cursor(fields: Sequence[SortField], doc: Mapping[str, Any]) -> str:
    raw = json.dumps({"s": signature(fields), "k": row_values(fields, doc)}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, fields: Sequence[SortField]) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        values = data["k"]
        ok = data["s"] == signature(fields) and isinstance(values, list) and len(values) == len(fields)
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidError("the paging cursor is malformed", expression=("_cursor",)) from exc
    if not ok:
        raise InvalidError("the paging cursor does not belong to this search", expression=("_cursor",))
    return list(values)
