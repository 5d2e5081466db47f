"""create: ``POST [base]/[type]``, with ``If-None-Exist`` (http.html#create, #ccreate).

The server assigns the id (a client id in the body is ignored, as the spec says).
Conditional create checks the criteria and writes in one unit of work.
"""

from __future__ import annotations

from typing import Any

from ..errors import Issue, PreconditionFailedError
from ..scheme import hooks
from ..server import Server
from ..storage.protocol import Transaction
from .conditional import matches
from .profile_enforcement import enforce
from .resources import Prepared, as_resource, prepare, require_type, write
from .result import Result
from .retry import with_retries


async def create_in(
    server: Server,
    tx: Transaction,
    prepared: Prepared,
    new_id: str,
    if_none_exist: str | None = None,
) -> Result:
    if if_none_exist:
        found = await matches(server, tx, prepared.resource_type, if_none_exist)
        if len(found) > 1:
            raise PreconditionFailedError(
                f"If-None-Exist criteria '{if_none_exist}' match more than one resource",
                expression="If-None-Exist",
            )
        if found:
            existing = await tx.read(*found[0])
            return Result(
                200,
                existing,
                issues=[Issue("information", "duplicate", "Resource exists: not created")],
            )
    try:
        op = await write(server, tx, prepared, prepared.resource_type, new_id, None, "POST")
    except hooks.Existing as same:  # a retried create the scheme recognises (e.g. a premium's receipt)
        existing = await tx.read(same.resource_type, same.id)
        return Result(200, existing, issues=[*hooks.drain(), Issue("information", "duplicate", same.message)])
    return Result(201, op.stored(), location=True, issues=hooks.drain())


async def create(
    server: Server, resource_type: str, body: Any, new_id: str, if_none_exist: str | None = None
) -> Result:
    require_type(server, resource_type)
    prepared = prepare(server, as_resource(body, resource_type), resource_type)
    await enforce(server, prepared.resource)
    # a create can collide only through what its hooks also write (a premium's policy): retry
    return await with_retries(
        server,
        lambda tx: create_in(server, tx, prepared, new_id, if_none_exist),
        if_match=None,
        what=f"{resource_type} (and what it updates)",
    )
