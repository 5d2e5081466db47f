"""``_explain`` (non-standard, after Blaze's ``__explain``): the parsed search and the
backend's plan, as a ``Parameters`` resource instead of the results.

``describe`` turns the IR into plain JSON data; ``to_parameters`` turns nested JSON data
(the description plus the store's ``explain``) into ``Parameters.parameter`` parts: a
dict becomes a part with nested parts, a list repeats its name, scalars become
``valueString`` / ``valueInteger`` / ``valueDecimal`` / ``valueBoolean``; None and empty
values are left out.
"""

from __future__ import annotations

from typing import Any

from .ir import (
    Clause,
    CompartmentClause,
    Criterion,
    HasClause,
    IdClause,
    LastUpdatedClause,
    SearchQuery,
    criterion_name,
)

Json = dict[str, Any]


def describe_criterion(c: Criterion) -> Json:
    if isinstance(c, IdClause):
        return {"parameter": "_id", "ids": list(c.ids), "negate": c.negate or None}
    if isinstance(c, LastUpdatedClause):
        return {"parameter": "_lastUpdated", "values": [repr(v) for v in c.values]}
    if isinstance(c, HasClause):
        return {
            "parameter": criterion_name(c),
            "sourceType": c.source_type,
            "referenceParameter": c.reference_param,
            "inner": describe_criterion(c.clause),
        }
    if isinstance(c, CompartmentClause):
        return {"parameter": "compartment", "target": c.target}
    return describe_clause(c)


def describe_clause(c: Clause) -> Json:
    out: Json = {
        "parameter": c.param.code,
        "type": c.param.type,
        "modifier": c.modifier,
        "values": [repr(v) for v in c.values],
    }
    if c.chain is not None:
        out["chain"] = {"targetType": c.chain.target_type, "inner": describe_clause(c.chain.clause)}
    return out


def describe(query: SearchQuery) -> Json:
    return {
        "resourceTypes": list(query.resource_types),
        "criterion": [describe_criterion(c) for c in query.criteria],
        "sort": [("-" if k.descending else "") + k.param for k in query.sort],
        "count": query.count,
        "total": query.total,
        "cursor": query.cursor,
        "include": [
            ("_revinclude" if i.reverse else "_include")
            + (":iterate" if i.iterate else "")
            + f"={i.source_type}:{i.param}"
            + (f":{i.target_type}" if i.target_type else "")
            for i in query.includes
        ],
        "ignored": list(query.ignored),
    }


def _part(name: str, value: Any) -> list[Json]:
    if value is None or value == [] or value == {}:
        return []
    if isinstance(value, list):
        return [p for v in value for p in _part(name, v)]
    if isinstance(value, dict):
        parts = [p for k, v in value.items() for p in _part(str(k), v)]
        return [{"name": name, "part": parts}] if parts else []
    if isinstance(value, bool):
        return [{"name": name, "valueBoolean": value}]
    if isinstance(value, int) and -(2**31) <= value < 2**31:
        return [{"name": name, "valueInteger": value}]
    if isinstance(value, float):
        return [{"name": name, "valueDecimal": value}]
    return [{"name": name, "valueString": str(value)}]


def to_parameters(data: Json) -> Json:
    return {
        "resourceType": "Parameters",
        "parameter": [p for k, v in data.items() for p in _part(k, v)],
    }
