"""patch: ``PATCH [base]/[type]/[id]`` with JSON Patch or FHIRPath Patch (http.html#patch).

The patched resource is validated like any update; If-Match applies.
"""

from __future__ import annotations

from typing import Any, Literal

from .. import fhirjson
from ..errors import GoneError, NotFoundError, PreconditionFailedError, UnprocessableError
from ..patch import apply_fhirpath_patch, apply_json_patch
from ..scheme import hooks
from ..server import Server
from ..storage.protocol import Transaction
from .profile_enforcement import enforce
from .resources import prepare, require_type, write
from .result import Result
from .retry import with_retries
from .update import check_id, parse_etag

PatchKind = Literal["json", "fhirpath"]


async def patch_in(
    server: Server,
    tx: Transaction,
    resource_type: str,
    id: str,
    body: Any,
    kind: PatchKind,
    if_match: str | None = None,
) -> Result:
    current = await tx.read(resource_type, id)
    if current is None:
        raise NotFoundError(f"{resource_type}/{id} is not known")
    if current.deleted:
        raise GoneError(f"{resource_type}/{id} was deleted")
    if if_match is not None and parse_etag(if_match) != current.version:
        raise PreconditionFailedError(
            f"If-Match does not match the current version {current.version} of {resource_type}/{id}",
            expression="If-Match",
        )
    resource = fhirjson.loads(current.body)
    patched = apply_json_patch(resource, body) if kind == "json" else apply_fhirpath_patch(resource, body)
    if (
        not isinstance(patched, dict)
        or patched.get("resourceType") != resource_type
        or patched.get("id") != id
    ):
        raise UnprocessableError("A patch must not change the resourceType or the id", expression="id")
    prepared = prepare(server, patched, resource_type)
    await enforce(server, patched)
    op = await write(server, tx, prepared, resource_type, id, current, "PATCH")
    return Result(200, op.stored(), issues=hooks.drain())


async def patch(
    server: Server, resource_type: str, id: str, body: Any, kind: PatchKind, if_match: str | None = None
) -> Result:
    require_type(server, resource_type)
    check_id(id)
    return await with_retries(
        server,
        lambda tx: patch_in(server, tx, resource_type, id, body, kind, if_match),
        if_match=if_match,
        what=f"{resource_type}/{id}",
    )
