"""``_list`` (search.html#list): ``GET [base]/Patient?_list=42`` restricts a search to the
resources of the searched type that ``List/42`` references in ``List.entry.item``.

The List is read when the search runs and the parameter becomes an ``_id`` criterion
(``IdClause``) ANDed with the others, so every backend, paging and ``_sort`` work
unchanged. Comma-separated lists are ORed (the union of their items), repeated
``_list`` parameters ANDed. Entries marked ``deleted`` are skipped; references are
local (``Patient/1``, ``Patient/1/_history/2``) or absolute on this server's base.
A List that does not exist (or was deleted) references nothing: the search is empty
and a warning in the Bundle's OperationOutcome says so. Functional lists
(``$current-problems``...) are not supported. Only type searches take ``_list``
(an id criterion cannot tell two types apart).
"""

from __future__ import annotations

import json
from typing import Any

from ..errors import InvalidError, Issue, NotSupportedError
from ..search.ir import IdClause
from ..server import Server


def _local_id(reference: str, resource_type: str, base: str) -> str | None:
    ref = reference
    if base and ref.startswith(base.rstrip("/") + "/"):
        ref = ref[len(base.rstrip("/")) + 1 :]
    parts = ref.split("/")
    if len(parts) in (2, 4) and parts[0] == resource_type and parts[1]:
        if len(parts) == 4 and parts[2] != "_history":
            return None
        return parts[1]
    return None


def list_items(body: dict[str, Any], resource_type: str, base: str) -> list[str]:
    """The ids of ``resource_type`` the List's entries reference, in list order."""
    out: dict[str, None] = {}
    for entry in body.get("entry") or ():
        if not isinstance(entry, dict) or entry.get("deleted") is True:
            continue
        item = entry.get("item")
        ref = item.get("reference") if isinstance(item, dict) else None
        if isinstance(ref, str) and (id := _local_id(ref, resource_type, base)) is not None:
            out[id] = None
    return list(out)


async def list_criteria(
    server: Server, params: list[tuple[str, str]], types: tuple[str, ...]
) -> tuple[list[tuple[str, str]], list[IdClause], list[Issue]]:
    """The parameters without ``_list``, one ``IdClause`` per ``_list`` parameter, and
    warnings for Lists that do not exist."""
    rest = [(k, v) for k, v in params if k != "_list"]
    values = [v for k, v in params if k == "_list"]
    if not values:
        return params, [], []
    if len(types) != 1:
        raise NotSupportedError("_list is supported on searches of one resource type", expression=("_list",))
    clauses: list[IdClause] = []
    issues: list[Issue] = []
    for raw in values:
        ids: dict[str, None] = {}
        for list_id in (v.strip() for v in raw.split(",")):
            if not list_id:
                raise InvalidError("_list takes the id of a List", "_list", issue_code="value")
            if list_id.startswith("$"):
                raise NotSupportedError(
                    f"Functional list '{list_id}' is not supported", expression=("_list",)
                )
            stored = await server.store.read("List", list_id)
            if stored is None or stored.deleted:
                issues.append(Issue("warning", "not-found", f"List/{list_id} does not exist", ("_list",)))
                continue
            ids.update(dict.fromkeys(list_items(json.loads(stored.body), types[0], server.base_url)))
        clauses.append(IdClause(tuple(ids)))
    return rest, clauses, issues
