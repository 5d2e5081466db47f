"""Preparing a resource for storage: validate, index, stamp id and meta.

The body stored (and later served as stored) is the client's JSON with ``id``,
``meta.versionId`` and ``meta.lastUpdated`` set by the server; decimals keep their
text (msgspec with Decimal, see ``fhirjson.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import clock, fhirjson
from ..errors import InvalidError
from ..scheme.hooks import WriteEvent
from ..search.index import IndexEntries
from ..server import Server
from ..storage.protocol import Method, StoredVersion, Transaction, WriteOp
from ..validation import raise_if_invalid
from . import search_parameters
from .profile_enforcement import enforce


@dataclass
class Prepared:
    resource_type: str
    resource: dict[str, Any]
    index: IndexEntries


def require_type(server: Server, resource_type: str) -> None:
    if not server.definitions.is_resource_type(resource_type):
        from ..errors import NotFoundError

        raise NotFoundError(f"Unknown resource type '{resource_type}'", issue_code="not-supported")


def as_resource(body: Any, resource_type: str | None = None) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise InvalidError("The body must be a JSON object (a FHIR resource)", issue_code="structure")
    rt = body.get("resourceType")
    if not isinstance(rt, str):
        raise InvalidError(
            "The resource has no resourceType", expression="resourceType", issue_code="required"
        )
    if resource_type is not None and rt != resource_type:
        raise InvalidError(
            f"resourceType '{rt}' does not match the endpoint type '{resource_type}'",
            expression="resourceType",
        )
    return body


def prepare(
    server: Server, resource: dict[str, Any], resource_type: str, *, validated: bool = False
) -> Prepared:
    """Validate against the R4 definitions (unless already done) and extract the search index."""
    if server.write_hooks.completes(resource_type):
        return Prepared(resource_type, resource, {})  # validated and indexed after its hooks (write)
    if not validated:
        raise_if_invalid(resource, expected_type=resource_type)
    if resource_type == "SearchParameter":
        search_parameters.check_write(server, resource)
    return Prepared(resource_type, resource, server.extractor.extract(resource))


def stamp(resource: dict[str, Any], id: str, version: int, last_updated: str) -> bytes:
    out = dict(resource)
    out.pop("resourceType", None)
    meta = dict(out.pop("meta", None) or {})
    meta["versionId"] = str(version)
    meta["lastUpdated"] = last_updated
    # resourceType and id first, as FHIR JSON is usually written
    ordered: dict[str, Any] = {"resourceType": resource["resourceType"], "id": id, "meta": meta}
    out.pop("id", None)
    ordered.update(out)
    return fhirjson.dumps(ordered)


async def write(
    server: Server,
    tx: Transaction,
    prepared: Prepared | None,
    resource_type: str,
    id: str,
    current: StoredVersion | None,
    method: Method,
    *,
    hooks: bool = True,
) -> WriteOp:
    """Write a new version of ``resource_type/id`` after ``current`` (None: never existed).

    The scheme's write hooks for the type run first, in this unit of work (``scheme/hooks.py``);
    ``hooks=False`` is for the services' own nested writes."""
    event: WriteEvent | None = None
    if hooks and server.write_hooks.has(resource_type):
        event = WriteEvent(
            server, tx, resource_type, id, None if prepared is None else prepared.resource, current, method
        )
        changed = await server.write_hooks.run(event)
        if prepared is not None and changed is not None:  # a hook may have changed it in place
            prepared = Prepared(resource_type, changed, prepared.index)
    if prepared is not None and (hooks or server.write_hooks.completes(resource_type)):
        if server.write_hooks.completes(resource_type):  # validated on what will be stored
            raise_if_invalid(prepared.resource, expected_type=resource_type)
            await enforce(server, prepared.resource, completed=True)
        if server.write_hooks.has(resource_type):
            prepared = Prepared(resource_type, prepared.resource, server.extractor.extract(prepared.resource))
    version = (current.version if current else 0) + 1
    us = clock.now_us()
    last_updated = clock.instant(us)
    if prepared is None:
        body, index = b"", {}
    else:
        body, index = stamp(prepared.resource, id, version, last_updated), prepared.index
    op = WriteOp(
        resource_type=resource_type,
        id=id,
        version=version,
        expected_version=current.version if current else 0,
        last_updated=last_updated,
        last_updated_us=us,
        body=body,
        index=index,
        method=method,
    )
    await tx.write(op)
    for step in event.after if event is not None else ():  # the hooks' steps after the write
        await step()
    search_parameters.note_write(resource_type, id)
    return op
