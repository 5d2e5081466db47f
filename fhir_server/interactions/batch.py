"""batch: ``POST [base]`` with a Bundle of type batch (http.html#transaction).

Entries are independent: each runs in its own unit of work and gets its own
response, with an OperationOutcome when it fails. Entries are processed in order;
a ``fullUrl`` of an entry already processed can be referenced by later ones.
"""

from __future__ import annotations

from typing import Any

from ..context import RequestContext
from ..errors import FhirError
from ..server import Server
from ..validation import raise_if_invalid
from .bundle_entries import Entry, ReferenceMap, locate, rewrite_references
from .bundle_execute import entry_type, execute_write, read_response, response_entry, status_text
from .bundles import outcome
from .profile_enforcement import enforce


async def _run(server: Server, ctx: RequestContext, entry: Entry, refs: ReferenceMap) -> dict[str, Any]:
    if entry.method in ("GET", "HEAD"):
        return await read_response(server, entry)
    rtype = entry_type(server, entry)
    if entry.resource is not None and entry.method in ("POST", "PUT"):
        raise_if_invalid(entry.resource, expected_type=rtype)
        await enforce(server, entry.resource)
    async with server.store.transaction() as tx:
        refs.tx = tx
        if entry.resource is not None:
            await rewrite_references(entry.resource, refs.resolve)
        result = await execute_write(server, tx, entry, None, validated=True, new_id=ctx.new_id)
    if result.stored is not None:
        refs.add(entry.full_url, result.stored.resource_type, result.stored.id)
    return response_entry(server, result)


async def batch(server: Server, ctx: RequestContext, entries: list[Entry]) -> dict[str, Any]:
    refs = ReferenceMap(server)
    out: list[dict[str, Any]] = []
    for entry in entries:
        try:
            out.append(await _run(server, ctx, entry, refs))
        except FhirError as err:
            err = locate(err, entry)
            out.append({"response": {"status": status_text(err.status), "outcome": outcome(err.issues)}})
    return {"resourceType": "Bundle", "type": "batch-response", "entry": out}
