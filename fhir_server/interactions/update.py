"""update: ``PUT [base]/[type]/[id]``, update-as-create, If-Match, conditional update.

http.html#update, #concurrency, #cond-update. Without If-Match a version conflict
(another writer got in between) is retried; with If-Match it is a 412.
"""

from __future__ import annotations

import re
from typing import Any

from ..errors import InvalidError, PreconditionFailedError
from ..scheme import hooks
from ..server import Server
from ..storage.protocol import Transaction
from .conditional import matches
from .profile_enforcement import enforce
from .resources import Prepared, as_resource, prepare, require_type, write
from .result import Result
from .retry import with_retries

ETAG = re.compile(r'^\s*(?:W/)?"?([^"]*)"?\s*$')
ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")


def parse_etag(value: str) -> int:
    m = ETAG.match(value)
    if not m or not (m.group(1).isascii() and m.group(1).isdigit()):
        raise InvalidError(f"If-Match '{value}' is not a version ETag like W/\"3\"", expression="If-Match")
    return int(m.group(1))


def check_id(id: str) -> None:
    if not ID.match(id):
        raise InvalidError(f"'{id}' is not a valid resource id", expression="id")


async def update_in(
    server: Server,
    tx: Transaction,
    prepared: Prepared,
    id: str,
    if_match: str | None = None,
) -> Result:
    current = await tx.read(prepared.resource_type, id)
    if if_match is not None:
        expected = parse_etag(if_match)
        actual = current.version if current else 0
        if actual != expected or current is None or current.deleted:
            raise PreconditionFailedError(
                f"If-Match version {expected} does not match the current version {actual} "
                f"of {prepared.resource_type}/{id}",
                expression="If-Match",
            )
    op = await write(server, tx, prepared, prepared.resource_type, id, current, "PUT")
    created = current is None or current.deleted
    return Result(201 if created else 200, op.stored(), location=created, issues=hooks.drain())


def _body_id(resource: dict[str, Any], url_id: str | None) -> str | None:
    body_id = resource.get("id")
    if url_id is not None:
        if body_id is None:
            raise InvalidError("The resource in an update must carry an id", expression="id")
        if body_id != url_id:
            raise InvalidError(
                f"The id in the body ('{body_id}') does not match the id in the URL ('{url_id}')",
                expression="id",
            )
    return body_id if isinstance(body_id, str) else None


async def update(
    server: Server, resource_type: str, id: str, body: Any, if_match: str | None = None
) -> Result:
    require_type(server, resource_type)
    check_id(id)
    resource = as_resource(body, resource_type)
    _body_id(resource, id)
    prepared = prepare(server, resource, resource_type)
    await enforce(server, resource)
    return await with_retries(
        server,
        lambda tx: update_in(server, tx, prepared, id, if_match),
        if_match=if_match,
        what=f"{resource_type}/{id}",
    )


async def conditional_update_in(
    server: Server,
    tx: Transaction,
    prepared: Prepared,
    criteria: str,
    new_id: str,
    if_match: str | None = None,
) -> Result:
    found = await matches(server, tx, prepared.resource_type, criteria)
    body_id = _body_id(prepared.resource, None)
    if len(found) > 1:
        raise PreconditionFailedError(
            f"Conditional update criteria '{criteria}' match more than one resource"
        )
    if found:
        id = found[0][1]
        if body_id is not None and body_id != id:
            raise InvalidError(
                f"The id in the body ('{body_id}') differs from the matching resource ('{id}')",
                expression="id",
            )
    else:
        id = body_id or new_id
        check_id(id)
    return await update_in(server, tx, prepared, id, if_match)


async def conditional_update(
    server: Server, resource_type: str, criteria: str, body: Any, new_id: str, if_match: str | None = None
) -> Result:
    require_type(server, resource_type)
    prepared = prepare(server, as_resource(body, resource_type), resource_type)
    await enforce(server, prepared.resource)
    async with server.store.transaction() as tx:
        return await conditional_update_in(server, tx, prepared, criteria, new_id, if_match)
