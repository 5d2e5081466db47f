"""delete: ``DELETE [base]/[type]/[id]`` and conditional delete (http.html#delete, #cdelete).

A delete writes a versioned tombstone; reading it afterwards gives 410 Gone. Deleting
a resource that does not exist, or is already deleted, succeeds without a new version.
"""

from __future__ import annotations

from ..errors import Issue, PreconditionFailedError
from ..server import Server
from ..storage.protocol import Transaction
from .conditional import matches
from .resources import require_type, write
from .result import Result
from .retry import with_retries
from .update import check_id, parse_etag


async def delete_in(
    server: Server, tx: Transaction, resource_type: str, id: str, if_match: str | None = None
) -> Result:
    current = await tx.read(resource_type, id)
    if if_match is not None:
        expected = parse_etag(if_match)
        if current is None or current.deleted or current.version != expected:
            raise PreconditionFailedError(
                f"If-Match version {expected} does not match {resource_type}/{id}", expression="If-Match"
            )
    if current is None or current.deleted:
        return Result(
            200,
            current,
            issues=[
                Issue(
                    "information", "informational", f"{resource_type}/{id} does not exist: nothing to delete"
                )
            ],
        )
    op = await write(server, tx, None, resource_type, id, current, "DELETE")
    return Result(
        200,
        op.stored(),
        issues=[
            Issue("information", "informational", f"Deleted {resource_type}/{id} (version {op.version})")
        ],
    )


async def delete(server: Server, resource_type: str, id: str, if_match: str | None = None) -> Result:
    require_type(server, resource_type)
    check_id(id)
    return await with_retries(
        server,
        lambda tx: delete_in(server, tx, resource_type, id, if_match),
        if_match=if_match,
        what=f"{resource_type}/{id}",
    )


async def conditional_delete_in(server: Server, tx: Transaction, resource_type: str, criteria: str) -> Result:
    found = await matches(server, tx, resource_type, criteria)
    if len(found) > 1:
        raise PreconditionFailedError(
            f"Conditional delete criteria '{criteria}' match more than one resource"
        )
    if not found:
        return Result(
            200, None, issues=[Issue("information", "not-found", "No resource matched: nothing deleted")]
        )
    return await delete_in(server, tx, resource_type, found[0][1])


async def conditional_delete(server: Server, resource_type: str, criteria: str) -> Result:
    require_type(server, resource_type)
    async with server.store.transaction() as tx:
        return await conditional_delete_in(server, tx, resource_type, criteria)
