"""SearchParameter resources written through the API become search parameters of this server.

searchparameter.html: "A search parameter that is defined ... may be used by a server
... status: draft | active | retired | unknown". Here:

* an ``active`` SearchParameter is checked before it is stored
  (``search/search_parameter_check.py``; a bad one: 422 and nothing stored), and
  after the request that wrote it, registered in ``server.registry`` (the Extractor
  recompiles on the registry's ``generation``, so later writes index it);
* a SearchParameter deleted, or written with another status, is unregistered;
* at start-up the stored active SearchParameters are registered again
  (``load_stored``), after ours from ``profiles/``;
* a parameter that is new (or whose definition changed) while resources of its base
  are stored is recorded as pending a reindex (``search/pending_reindex.py``, kept
  in the store) and searches using it get a warning until ``$reindex`` covers them.

Registration happens after the request, from what the store then holds (the writes
of one request are noted in a context variable by ``note_write``), so a write that
failed or was rolled back registers nothing.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any

from .. import clock, fhirjson, logs
from ..search.ir import Clause, ParamRef, SearchQuery, TokenValue
from ..search.pending_reindex import ANY_TYPE, PREFIX, Pending
from ..search.registry import SearchParamDef
from ..search.search_parameter_check import check_search_parameter
from ..server import Server

logger = logging.getLogger("fhir_server.search_parameters")

_written: ContextVar[set[str] | None] = ContextVar("search_parameters_written", default=None)
_ABSTRACT = ("Resource", "DomainResource")


def check_write(server: Server, resource: dict[str, Any]) -> None:
    """Before a SearchParameter is stored: an active one must be registrable."""
    if resource.get("status") == "active":
        check_search_parameter(resource, server.registry, server.definitions)


# what compiled profiles are made of (validation/profiles.py): a write of one recompiles them
PROFILE_SOURCES = frozenset({"StructureDefinition", "ValueSet", "CodeSystem"})
_profile_sources_written: ContextVar[list[bool] | None] = ContextVar("profile_sources_written", default=None)


def note_write(resource_type: str, id: str) -> None:
    """A SearchParameter was written in this request (``tracking`` settles it after); a
    StructureDefinition, ValueSet or CodeSystem: compiled profiles are dropped after it."""
    if resource_type in PROFILE_SOURCES:
        flag = _profile_sources_written.get()
        if flag is not None:
            flag.append(True)
    if resource_type == "SearchParameter":
        written = _written.get()
        if written is not None:
            written.add(id)


@asynccontextmanager
async def tracking(server: Server) -> AsyncIterator[None]:
    """Around one request: afterwards, (un)register the SearchParameters it wrote."""
    written: set[str] = set()
    token = _written.set(written)
    sources: list[bool] = []
    sources_token = _profile_sources_written.set(sources)
    try:
        yield
    finally:
        _written.reset(token)
        _profile_sources_written.reset(sources_token)
        if sources and server.profiles is not None:
            # a profile's bindings and extensions are resolved when it is compiled: recompile
            server.profiles.clear()
        if written:
            try:
                await settle(server, sorted(written))
            except Exception:  # the write stands; the registry catches up at the next write or start
                logger.exception("registering search parameters failed")


async def settle(server: Server, ids: list[str]) -> None:
    for id in ids:
        stored = await server.store.read("SearchParameter", id)
        resource = None if stored is None or stored.deleted else fhirjson.loads(stored.body)
        old_url = server.custom_params.get(id)
        if not isinstance(resource, dict) or resource.get("status") != "active":
            if old_url is not None:
                await unregister(server, id, old_url)
            continue
        if old_url is not None and old_url != resource.get("url"):
            await unregister(server, id, old_url)
        await register(server, id, resource)


def _same(a: SearchParamDef | None, b: SearchParamDef) -> bool:
    return a is not None and (a.code, a.type, a.expression, a.base, a.components, a.targets) == (
        b.code,
        b.type,
        b.expression,
        b.base,
        b.components,
        b.targets,
    )


async def register(server: Server, id: str, resource: dict[str, Any]) -> None:
    before = server.registry.by_url(str(resource.get("url") or ""))
    spd = server.registry.add(resource)
    server.custom_params[id] = spd.url
    logs.log(logger, logging.INFO, "search parameter registered", code=spd.code, url=spd.url)
    if _same(before, spd):
        return
    now = clock.now_us()
    for base in spd.base:
        rtype = ANY_TYPE if base in _ABSTRACT else base
        query = SearchQuery(resource_types=() if rtype == ANY_TYPE else (rtype,), count=0, total="accurate")
        count = (await server.store.search(query)).total or 0
        if count:
            pending = Pending(rtype, spd.code, spd.url, count, now)
            await server.store.write_state(pending.key, pending.to_json())
            server.pending.put(pending)


async def unregister(server: Server, id: str, url: str) -> None:
    spd = server.registry.remove(url)
    server.custom_params.pop(id, None)
    if spd is None:
        return
    logs.log(logger, logging.INFO, "search parameter removed", code=spd.code, url=url)
    for base in spd.base:
        rtype = ANY_TYPE if base in _ABSTRACT else base
        if server.pending.drop(rtype, spd.code) is not None:
            await server.store.write_state(f"{PREFIX}{rtype}/{spd.code}", None)


async def load_stored(server: Server) -> None:
    """At start-up: register the stored active SearchParameters, and load the pending state."""
    active = Clause(ParamRef("status", "token"), None, (TokenValue(None, "active"),))
    cursor: str | None = None
    while True:
        query = SearchQuery(resource_types=("SearchParameter",), criteria=(active,), count=500, cursor=cursor)
        page = await server.store.search(query)
        for item in page.items:
            resource = fhirjson.loads(item.body)
            try:
                check_search_parameter(resource, server.registry, server.definitions)
                spd = server.registry.add(resource)
            except Exception as exc:  # stored under other rules: keep serving, say so
                logs.log(
                    logger, logging.WARNING, "stored search parameter skipped", id=item.id, error=str(exc)
                )
                continue
            server.custom_params[item.id] = spd.url
        cursor = page.next_cursor
        if cursor is None:
            break
    for text in (await server.store.list_state(PREFIX)).values():
        server.pending.put(Pending.from_json(text))


def criteria_codes(query: SearchQuery) -> set[str]:
    """The parameter codes a search uses on its own types (criteria and sort keys)."""
    codes = {c.param.code for c in query.criteria if isinstance(c, Clause)}
    return codes | {k.param for k in query.sort}
