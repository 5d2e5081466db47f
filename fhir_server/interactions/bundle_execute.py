"""Executing one Bundle entry inside a unit of work (shared by batch and transaction)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..errors import InvalidError, MethodNotAllowedError, NotFoundError
from ..server import Server
from ..storage.protocol import Transaction
from .bundle_entries import Entry
from .bundles import raw
from .create import create_in
from .delete import conditional_delete_in, delete_in
from .history import history
from .patch import patch_in
from .read import read
from .resources import prepare, require_type
from .result import Result
from .search import search
from .update import check_id, conditional_update_in, update_in
from .vread import vread

STATUS_TEXT = {
    200: "200 OK",
    201: "201 Created",
    204: "204 No Content",
    304: "304 Not Modified",
    400: "400 Bad Request",
    404: "404 Not Found",
    405: "405 Method Not Allowed",
    409: "409 Conflict",
    410: "410 Gone",
    412: "412 Precondition Failed",
    413: "413 Payload Too Large",
    415: "415 Unsupported Media Type",
    422: "422 Unprocessable Entity",
    500: "500 Internal Server Error",
}


def status_text(status: int) -> str:
    return STATUS_TEXT.get(status, str(status))


def entry_type(server: Server, entry: Entry) -> str:
    if not entry.path:
        raise InvalidError(
            f"{entry.where}.request.url '{entry.url}' names no resource type", f"{entry.where}.request.url"
        )
    operation = next((seg for seg in entry.path if seg.startswith("$")), None)
    if operation:
        raise NotFoundError(
            f"Operation '{operation}' is not known", f"{entry.where}.request.url", "not-supported"
        )
    require_type(server, entry.path[0])
    return entry.path[0]


async def execute_read(server: Server, entry: Entry) -> Result:
    from urllib.parse import parse_qsl

    rtype = entry_type(server, entry)
    params = parse_qsl(entry.query, keep_blank_values=True)
    p = entry.path
    if len(p) == 1:
        return Result(200, body=await search(server, params, rtype))
    if len(p) == 2:
        stored = await read(server, rtype, p[1])
        if entry.if_none_match and entry.if_none_match.strip() in (
            f'W/"{stored.version}"',
            f'"{stored.version}"',
        ):
            return Result(304, stored)
        return Result(200, stored)
    if len(p) == 3 and p[2] == "_history":
        return Result(200, body=await history(server, params, rtype, p[1]))
    if len(p) == 4 and p[2] == "_history":
        return Result(200, await vread(server, rtype, p[1], p[3]))
    raise InvalidError(
        f"{entry.where}.request.url '{entry.url}' is not a supported read", f"{entry.where}.request.url"
    )


async def execute_write(
    server: Server,
    tx: Transaction,
    entry: Entry,
    assigned_id: str | None,
    *,
    validated: bool,
    new_id: Callable[[], str] | None = None,
) -> Result:
    """POST/PUT/PATCH/DELETE of one entry.

    A transaction resolves identities beforehand and passes ``assigned_id``; a batch
    passes None and ``new_id``, and conditional create/update are decided here.
    """
    rtype = entry_type(server, entry)
    if entry.method in ("POST", "PUT"):
        assert entry.resource is not None
        prepared = prepare(server, entry.resource, rtype, validated=validated)
        if entry.method == "POST":
            if assigned_id is None:
                assert new_id is not None
                return await create_in(server, tx, prepared, new_id(), entry.if_none_exist)
            return await create_in(server, tx, prepared, assigned_id)
        if len(entry.path) == 1:
            if not entry.query:
                raise InvalidError(
                    f"{entry.where}: PUT needs an id or criteria", f"{entry.where}.request.url"
                )
            if assigned_id is None:
                assert new_id is not None
                return await conditional_update_in(
                    server, tx, prepared, entry.query, new_id(), entry.if_match
                )
            return await update_in(server, tx, prepared, assigned_id, entry.if_match)
        id = entry.path[1]
        check_id(id)
        if entry.resource.get("id") != id:
            raise InvalidError(
                f"The resource id ('{entry.resource.get('id')}') must match the id in request.url ('{id}')",
                f"{entry.where}.resource.id",
            )
        return await update_in(server, tx, prepared, id, entry.if_match)
    if entry.method == "DELETE":
        if len(entry.path) == 2:
            return await delete_in(server, tx, rtype, entry.path[1], entry.if_match)
        if len(entry.path) == 1 and entry.query:
            return await conditional_delete_in(server, tx, rtype, entry.query)
    if entry.method == "PATCH" and len(entry.path) == 2:
        if entry.resource is None:
            raise InvalidError(
                f"{entry.where} (PATCH) needs a Parameters resource (FHIRPath Patch)",
                f"{entry.where}.resource",
            )
        return await patch_in(server, tx, rtype, entry.path[1], entry.resource, "fhirpath", entry.if_match)
    raise MethodNotAllowedError(
        f"{entry.method} {entry.url} is not supported in a Bundle entry", f"{entry.where}.request"
    )


async def read_response(server: Server, entry: Entry) -> dict[str, Any]:
    """The response entry of a GET/HEAD entry, with the resource or Bundle it returns."""
    result = await execute_read(server, entry)
    out = response_entry(server, result)
    if result.body is not None:
        out["resource"] = result.body
    elif result.stored is not None and result.status == 200:
        out["resource"] = raw(result.stored.body)
    return out


def response_entry(server: Server, result: Result) -> dict[str, Any]:
    response: dict[str, Any] = {"status": status_text(result.status)}
    out: dict[str, Any] = {}
    stored = result.stored
    if stored is not None:
        out["fullUrl"] = f"{server.base_url}/{stored.resource_type}/{stored.id}"
        if result.status in (200, 201) and (result.location or result.status == 201 or not stored.deleted):
            response["location"] = f"{stored.resource_type}/{stored.id}/_history/{stored.version}"
        response["etag"] = f'W/"{stored.version}"'
        response["lastModified"] = stored.last_updated
    if result.issues:
        response["outcome"] = {
            "resourceType": "OperationOutcome",
            "issue": [i.to_fhir() for i in result.issues],
        }
    out["response"] = response
    return out
