"""Shared by batch and transaction: parsing Bundle entries and rewriting references.

http.html#transaction: entries carry ``request.method`` and ``request.url``; a
``fullUrl`` (``urn:uuid:...`` or an absolute URL) names a resource so that other
entries can reference it; conditional references (``Organization?identifier=s|v``)
are resolved by search and must match exactly one resource.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from ..errors import FhirError, InvalidError, Issue, NotFoundError, PreconditionFailedError
from ..server import Server
from ..storage.protocol import Transaction
from .conditional import matches

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


@dataclass
class Entry:
    index: int
    method: str
    url: str  # relative to the base, without leading slash
    path: list[str]  # path segments of url
    query: str  # query string (criteria) or ""
    full_url: str | None
    resource: dict[str, Any] | None
    if_none_exist: str | None
    if_match: str | None
    if_none_match: str | None = None

    @property
    def where(self) -> str:
        return f"Bundle.entry[{self.index}]"


def parse_bundle(server: Server, body: Any) -> tuple[str, list[Entry]]:
    if not isinstance(body, dict) or body.get("resourceType") != "Bundle":
        raise InvalidError("POST to the base expects a Bundle of type batch or transaction", "resourceType")
    kind = body.get("type")
    if kind not in ("batch", "transaction"):
        raise InvalidError(
            f"Bundle.type must be 'batch' or 'transaction' to be processed, not '{kind}'", "Bundle.type"
        )
    raw_entries = body.get("entry", [])
    if not isinstance(raw_entries, list):
        raise InvalidError("Bundle.entry must be an array", "Bundle.entry")
    return kind, [parse_entry(server, i, e) for i, e in enumerate(raw_entries)]


def parse_entry(server: Server, index: int, raw: Any) -> Entry:
    where = f"Bundle.entry[{index}]"
    if not isinstance(raw, dict):
        raise InvalidError(f"{where} must be an object", where)
    request = raw.get("request")
    if not isinstance(request, dict):
        raise InvalidError(
            f"{where}.request is required in a {where.split('.')[0]} to process", f"{where}.request"
        )
    method = request.get("method")
    if method not in METHODS:
        raise InvalidError(
            f"{where}.request.method '{method}' is not a valid HTTP verb", f"{where}.request.method"
        )
    url = request.get("url")
    if not isinstance(url, str) or not url:
        raise InvalidError(f"{where}.request.url is required", f"{where}.request.url")
    base = server.base_url
    if url.startswith(base + "/"):
        url = url[len(base) + 1 :]
    url = url.lstrip("/")
    parts = urlsplit(url)
    resource = raw.get("resource")
    if resource is not None and not isinstance(resource, dict):
        raise InvalidError(f"{where}.resource must be a resource object", f"{where}.resource")
    if method in ("POST", "PUT") and resource is None:
        raise InvalidError(f"{where} ({method}) has no resource", f"{where}.resource")
    full_url = raw.get("fullUrl")
    return Entry(
        index=index,
        method=method,
        url=url,
        path=[p for p in parts.path.split("/") if p],
        query=parts.query,
        full_url=full_url if isinstance(full_url, str) else None,
        resource=resource,
        if_none_exist=request.get("ifNoneExist"),
        if_match=request.get("ifMatch"),
        if_none_match=request.get("ifNoneMatch"),
    )


Resolver = Callable[[str], Awaitable[str | None]]


async def rewrite_references(node: Any, resolve: Resolver) -> None:
    """Replace every ``reference`` string for which ``resolve`` gives a new value."""
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, dict):
            for key, value in current.items():
                if key == "reference" and isinstance(value, str):
                    new = await resolve(value)
                    if new is not None:
                        current[key] = new
                elif isinstance(value, (dict, list)):
                    stack.append(value)
        elif isinstance(current, list):
            stack.extend(v for v in current if isinstance(v, (dict, list)))


class ReferenceMap:
    """fullUrl -> ``Type/id`` for the bundle, plus cached conditional references."""

    def __init__(self, server: Server, tx: Transaction | None = None) -> None:
        self.server = server
        self.tx = tx
        self.ids: dict[str, str] = {}
        self._conditional: dict[str, str] = {}

    def add(self, full_url: str | None, resource_type: str, id: str) -> None:
        if full_url:
            self.ids[full_url] = f"{resource_type}/{id}"
        self.ids[f"{self.server.base_url}/{resource_type}/{id}"] = f"{resource_type}/{id}"

    async def resolve(self, reference: str) -> str | None:
        if reference in self.ids:
            return self.ids[reference]
        if "?" in reference and self.tx is not None:
            type_, _, criteria = reference.partition("?")
            if self.server.definitions.is_resource_type(type_):
                return await self._resolve_conditional(reference, type_, criteria, self.tx)
        return None

    async def _resolve_conditional(self, reference: str, type_: str, criteria: str, tx: Transaction) -> str:
        if reference in self._conditional:
            return self._conditional[reference]
        found = await matches(self.server, tx, type_, criteria)
        if not found:
            raise NotFoundError(f"Conditional reference '{reference}' matches no resource")
        if len(found) > 1:
            raise PreconditionFailedError(
                f"Conditional reference '{reference}' matches more than one resource"
            )
        target = f"{found[0][0]}/{found[0][1]}"
        self._conditional[reference] = target
        return target


def locate(error: FhirError, entry: Entry) -> FhirError:
    """Point the error's expressions at the entry (``Patient.name`` -> ``Bundle.entry[2].resource.name``)."""
    prefix = f"{entry.where}.resource"
    rtype = entry.resource.get("resourceType") if entry.resource else None

    def move(expr: str) -> str:
        if rtype and (expr == rtype or expr.startswith(f"{rtype}.") or expr.startswith(f"{rtype}[")):
            return prefix + expr[len(rtype) :]
        if expr.startswith("Bundle.entry["):
            return expr
        return f"{entry.where}.{expr}" if expr else entry.where

    issues = [
        Issue(
            i.severity,
            i.code,
            f"{entry.where}: {i.diagnostics}",
            tuple(move(e) for e in i.expression),
            i.details_code,
        )
        for i in error.issues
    ]
    from ..errors import InvalidResourceError

    moved = InvalidResourceError(issues, status=error.status)
    moved.headers = error.headers
    return moved
