"""transaction: ``POST [base]`` with a Bundle of type transaction (http.html#transaction).

All or nothing, in one unit of work of the store. Steps, as the spec orders them:
1. validate every resource (before anything is written);
2. resolve identities: POST gets a new id (or the existing one when ``ifNoneExist``
   matches), PUT ``Type/id`` keeps its id, conditional PUT resolves its criteria;
3. rewrite references: ``fullUrl`` (``urn:uuid``, absolute) to ``Type/id``, and
   conditional references resolved by search (exactly one match);
4. process DELETE, then POST, then PUT/PATCH, then GET/HEAD;
5. answer a transaction-response with one entry per request entry, in request order.
A failure anywhere rolls everything back and is reported with the entry it concerns.
"""

from __future__ import annotations

from typing import Any

from ..context import RequestContext
from ..errors import FhirError, InvalidError, NotSupportedError, PreconditionFailedError
from ..scheme import hooks
from ..server import Server
from ..storage.protocol import Transaction
from ..validation import raise_if_invalid
from .bundle_entries import Entry, ReferenceMap, locate, rewrite_references
from .bundle_execute import entry_type, execute_write, read_response, response_entry
from .conditional import matches
from .profile_enforcement import enforce
from .result import Result

ORDER = {"DELETE": 0, "POST": 1, "PUT": 2, "PATCH": 2, "GET": 3, "HEAD": 3}
WRITES = ("POST", "PUT", "PATCH", "DELETE")


def _validate(server: Server, entries: list[Entry]) -> None:
    for entry in entries:
        if entry.method in ("POST", "PUT") and entry.resource is not None:
            rtype = entry_type(server, entry)
            if server.write_hooks.completes(rtype):
                continue  # validated after its write hooks complete it (scheme/hooks.py)
            try:
                raise_if_invalid(entry.resource, expected_type=rtype)
            except FhirError as err:
                raise locate(err, entry) from None


async def _enforce_profiles(server: Server, entries: list[Entry]) -> None:
    for entry in entries:
        if entry.method in ("POST", "PUT") and entry.resource is not None:
            try:
                await enforce(server, entry.resource)
            except FhirError as err:
                raise locate(err, entry) from None


async def _identities(
    server: Server, ctx: RequestContext, tx: Transaction, entries: list[Entry], refs: ReferenceMap
) -> tuple[dict[int, str], dict[int, Result]]:
    """The id each write entry acts on; entries already satisfied (ifNoneExist matched)."""
    ids: dict[int, str] = {}
    done: dict[int, Result] = {}
    seen: dict[str, int] = {}
    for entry in entries:
        if entry.method not in WRITES:
            continue
        rtype = entry_type(server, entry)
        if entry.method == "POST":
            if entry.if_none_exist:
                found = await matches(server, tx, rtype, entry.if_none_exist)
                if len(found) > 1:
                    raise PreconditionFailedError(
                        f"ifNoneExist '{entry.if_none_exist}' matches more than one resource",
                        f"{entry.where}.request.ifNoneExist",
                    )
                if found:
                    existing = await tx.read(*found[0])
                    done[entry.index] = Result(200, existing)
                    ids[entry.index] = found[0][1]
            ids.setdefault(entry.index, ctx.new_id())
        elif len(entry.path) >= 2:
            ids[entry.index] = entry.path[1]
        elif entry.query:
            found = await matches(server, tx, rtype, entry.query)
            if len(found) > 1:
                raise PreconditionFailedError(
                    f"Conditional {entry.method} '{entry.url}' matches more than one resource",
                    f"{entry.where}.request.url",
                )
            if found:
                ids[entry.index] = found[0][1]
            elif entry.method == "PUT":
                body_id = (entry.resource or {}).get("id")
                ids[entry.index] = body_id if isinstance(body_id, str) else ctx.new_id()
            else:
                done[entry.index] = Result(200)
                continue
        else:
            raise InvalidError(
                f"{entry.where}.request.url '{entry.url}' names no resource", f"{entry.where}.request.url"
            )
        key = f"{rtype}/{ids[entry.index]}"
        if key in seen and entry.index not in done:
            raise InvalidError(
                f"{entry.where} and Bundle.entry[{seen[key]}] both act on {key}", f"{entry.where}.request.url"
            )
        seen[key] = entry.index
        refs.add(entry.full_url, rtype, ids[entry.index])
        if entry.method == "PUT" and entry.resource is not None and len(entry.path) == 1:
            entry.resource["id"] = ids[entry.index]
    return ids, done


async def transaction(server: Server, ctx: RequestContext, entries: list[Entry]) -> dict[str, Any]:
    writes = [e for e in entries if e.method in WRITES]
    if len(writes) > 1 and not server.store.supports_transactions:
        raise NotSupportedError(
            f"This {server.store.name} store cannot apply {len(writes)} writes atomically (MongoDB needs a "
            "replica set for multi-document transactions); send a batch Bundle or single requests instead",
            "Bundle.type",
        )
    _validate(server, entries)
    await _enforce_profiles(server, entries)
    results: dict[int, Result] = {}
    hooks.start_deferring()  # entries come in any order: checks on later entries wait (scheme/hooks.py)
    async with server.store.transaction() as tx:
        refs = ReferenceMap(server, tx)
        ids, results = await _identities(server, ctx, tx, entries, refs)
        for entry in entries:
            if entry.resource is not None:
                try:
                    await rewrite_references(entry.resource, refs.resolve)
                except FhirError as err:
                    raise locate(err, entry) from None
        for entry in sorted(entries, key=lambda e: ORDER[e.method]):
            if entry.index in results or entry.method in ("GET", "HEAD"):
                continue
            try:
                results[entry.index] = await execute_write(
                    server, tx, entry, ids.get(entry.index), validated=True
                )
            except FhirError as err:
                raise locate(err, entry) from None
        await hooks.run_deferred()
    out: list[dict[str, Any]] = []
    for entry in entries:
        if entry.method in ("GET", "HEAD"):
            try:
                out.append(await read_response(server, entry))
            except FhirError as err:
                raise locate(err, entry) from None
        else:
            out.append(response_entry(server, results[entry.index]))
    return {"resourceType": "Bundle", "type": "transaction-response", "entry": out}
