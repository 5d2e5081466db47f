"""Resolving search criteria for conditional interactions and references (http.html#cond-update).

Written once over the storage protocol; runs inside the caller's unit of work so that
the check and the write are atomic where the backend allows it.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from ..errors import InvalidError
from ..search.parser import parse_search
from ..server import Server
from ..storage.protocol import Transaction
from ..terminology.search_modifiers import resolve as resolve_terminology


async def matches(
    server: Server, tx: Transaction, resource_type: str, criteria: str, limit: int = 2
) -> list[tuple[str, str]]:
    """(type, id) of at most ``limit`` current resources matching ``criteria`` (a query string)."""
    params = [
        (k, v)
        for k, v in parse_qsl(criteria.lstrip("?"), keep_blank_values=True)
        if k not in ("_format", "_pretty", "_summary", "_elements", "_count", "_sort", "_total")
    ]
    if not params:
        raise InvalidError(
            "Conditional criteria are empty: a conditional interaction needs search parameters",
            issue_code="invalid",
        )
    query = parse_search((resource_type,), params, server.registry, strict=True, base_url=server.base_url)
    if query.contained != "false":  # a conditional interaction acts on resources, not contained ones
        raise InvalidError(
            "_contained is not supported in conditional criteria", "_contained", issue_code="not-supported"
        )
    query = await resolve_terminology(query, server.terminology)
    return await tx.search_keys(query, limit)
