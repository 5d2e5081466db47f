"""The route table of the FHIR REST API (http.html#summary), dispatched on path segments.

GET     [base]/metadata                      capabilities
POST    [base]                               batch / transaction
GET     [base] | [base]/_search (POST)       search-system
GET     [base]/_history                      history-system
GET     [base]/[type]  POST [type]/_search   search-type
POST    [base]/[type]                        create (If-None-Exist)
PUT     [base]/[type]?criteria               conditional update
DELETE  [base]/[type]?criteria               conditional delete
GET     [base]/[type]/_history               history-type
GET|PUT|PATCH|DELETE [base]/[type]/[id]      read, update, patch, delete
GET     [base]/[type]/[id]/_history[/vid]    history-instance, vread
GET     [base]/[Compartment]/[id]/[type]|*   compartment search (POST .../_search too)
POST    [base]/[type][/[id]]/$validate       $validate (operations/validate.py); GET with an id
POST    [base][/[type][/[id]]]/$reindex      $reindex (operations/reindex.py); GET [base]/$reindex-status
GET|POST [base]/CodeSystem|ValueSet|ConceptMap[/[id]]/$lookup|$validate-code|$subsumes|$expand|$translate
                                             terminology operations (operations/terminology.py)
POST    [base]/$install-package              install a FHIR package (operations/install_package.py);
GET     [base]/$packages                     the installed packages; POST [base]/$uninstall-package
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response

from ..context import Prefer, RequestContext
from ..errors import InvalidError, MethodNotAllowedError, NotFoundError
from ..interactions import (
    capabilities,
    compartment,
    create,
    delete,
    history,
    patch,
    read,
    search,
    update,
    vread,
)
from ..interactions.batch import batch
from ..interactions.bundle_entries import parse_bundle
from ..interactions.result import Result
from ..interactions.subsetting import check_summary, subset_body
from ..interactions.transaction import transaction
from ..operations import install_package, reindex
from ..operations import terminology as terminology_ops
from ..operations import validate as validate_op
from ..operations.registry import OperationAnswer, OperationCall
from ..scheme import hooks, photos
from ..server import Server
from .body import parse_json, read_body
from .negotiation import FORM, JSON_PATCH, check_body_type
from .responses import Formatter, result_response, version_headers

RESERVED = {"_format", "_pretty"}


class Dispatcher:
    def __init__(self, server: Server) -> None:
        self.server = server

    async def body(self, request: Request, *, patch: bool = False) -> tuple[Any, str]:
        media = check_body_type(request.headers.get("content-type"), patch=patch)
        raw = await read_body(request, self.server.settings.max_body_bytes)
        return parse_json(raw), media

    async def dispatch(
        self, request: Request, segments: list[str], fmt: Formatter, ctx: RequestContext
    ) -> Response:
        method = request.method
        hooks.start_collecting()
        params = [(k, v) for k, v in request.query_params.multi_items() if k not in RESERVED]
        server = self.server
        n = len(segments)
        prefer = ctx.prefer.return_

        def respond(result: Result) -> Response:
            return result_response(result, fmt, server.base_url, prefer)

        if n == 0:
            if method == "POST":
                body, _ = await self.body(request)
                kind, entries = parse_bundle(server, body)
                out = await (transaction if kind == "transaction" else batch)(server, ctx, entries)
                return fmt.render(out)
            if method == "GET":
                return fmt.render(await search.search(server, params, None, ctx.strict))
            raise MethodNotAllowedError(f"{method} is not allowed on the base URL")
        head = segments[0]
        if n == 1 and head == "metadata":
            self.only(method, "GET")
            return fmt.render(capabilities.capability_statement(server))
        if n == 1 and head == "_history":
            self.only(method, "GET")
            return fmt.render(await history.history(server, params, strict=ctx.strict))
        if n == 1 and head == "_search":
            self.only(method, "POST")
            return fmt.render(await search.search(server, await self.form(request, params), None, ctx.strict))
        if segments[-1] in ("$reindex", reindex.STATUS_PATH):
            body, status, headers = await reindex.operation(server, method, segments, params)
            return fmt.render(body, status, headers)
        if segments[-1] == validate_op.NAME:
            sent = request.headers.get("content-length", "0") != "0" or "transfer-encoding" in request.headers
            body = (await self.body(request))[0] if method == "POST" and sent else None
            return fmt.render(await validate_op.operation(server, method, segments, params, body))
        if terminology_ops.handles(segments):
            self.only(method, "GET", "POST")
            op_body = (await self.body(request))[0] if method == "POST" else None
            return fmt.render(await terminology_ops.operation(server, segments, params, op_body))
        if segments[-1] in install_package.ALL:
            content_type = request.headers.get("content-type")
            raw = await read_body(request, server.settings.max_body_bytes) if method == "POST" else None
            return fmt.render(await install_package.operation(server, method, segments, content_type, raw))
        if segments[-1].startswith("$") and n <= 3:
            answer = await self.registered_operation(request, segments, params)
            if answer is not None:
                return fmt.render(answer.body, answer.status, answer.headers or None)
        if head.startswith("$") or (n > 1 and segments[-1].startswith("$")):
            raise NotFoundError(f"Operation '{segments[-1]}' is not known", issue_code="not-supported")
        rtype = head
        if not server.definitions.is_resource_type(rtype):
            raise NotFoundError(f"Unknown resource type '{rtype}'", issue_code="not-supported")
        if n == 1:
            return await self.type_level(request, rtype, params, fmt, ctx, respond)
        if n == 2 and segments[1] == "_search":
            self.only(method, "POST")
            return fmt.render(
                await search.search(server, await self.form(request, params), rtype, ctx.strict)
            )
        if n == 2 and segments[1] == "_history":
            self.only(method, "GET")
            return fmt.render(await history.history(server, params, rtype, strict=ctx.strict))
        id = segments[1]
        if n == 2:
            return await self.instance(request, rtype, id, params, fmt, ctx, respond)
        if n == 3 and segments[2] == "_history":
            self.only(method, "GET")
            return fmt.render(await history.history(server, params, rtype, id, strict=ctx.strict))
        if n == 3:
            self.only(method, "GET")
            return fmt.render(await compartment.search(server, rtype, id, segments[2], params, ctx.strict))
        if n == 4 and segments[3] == "_search" and segments[2] != "_history":
            self.only(method, "POST")
            form = await self.form(request, params)
            return fmt.render(await compartment.search(server, rtype, id, segments[2], form, ctx.strict))
        if n == 4 and segments[2] == "_history":
            self.only(method, "GET")
            stored = await vread.vread(server, rtype, id, segments[3])
            return fmt.render(
                self.subset(stored.body, params), 200, version_headers(stored, server.base_url, False)
            )
        raise NotFoundError(f"No route for {method} /{'/'.join(segments)}")

    async def registered_operation(
        self, request: Request, segments: list[str], params: list[tuple[str, str]]
    ) -> OperationAnswer | None:
        """An operation registered on the server (operations/registry.py), or None if not one."""
        n = len(segments)
        rtype = segments[0] if n > 1 else None
        found = self.server.operations.find(rtype, segments[-1])
        if found is None:
            return None
        call = OperationCall(
            method=request.method,
            name=segments[-1],
            resource_type=rtype,
            id=segments[1] if n == 3 else None,
            params=params,
            body=None,
        )
        if call.level not in found.levels:
            raise NotFoundError(
                f"{call.name} is not defined at the {call.level} level", issue_code="not-supported"
            )
        self.only(request.method, *sorted(found.methods))
        if request.method == "POST":
            call = replace(call, body=(await self.body(request))[0])
        return await found.handler(self.server, call)

    @staticmethod
    def only(method: str, *allowed: str) -> None:
        if method not in allowed:
            raise MethodNotAllowedError(f"{method} is not allowed here (allowed: {', '.join(allowed)})")

    async def form(self, request: Request, params: list[tuple[str, str]]) -> list[tuple[str, str]]:
        media = check_body_type(request.headers.get("content-type"), form_ok=True)
        raw = await read_body(request, self.server.settings.max_body_bytes)
        if media != FORM and raw.strip():
            raise InvalidError("POST _search expects application/x-www-form-urlencoded parameters")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidError("The form body is not UTF-8") from None
        form = [(k, v) for k, v in parse_qsl(text, keep_blank_values=True) if k not in RESERVED]
        return params + form

    def subset(self, body: bytes, params: list[tuple[str, str]]) -> bytes:
        values = dict(params)
        summary = check_summary(values.get("_summary"))
        elements = tuple(e.strip() for e in values.get("_elements", "").split(",") if e.strip())
        return subset_body(self.server.definitions, body, summary, elements)

    async def type_level(
        self,
        request: Request,
        rtype: str,
        params: list[tuple[str, str]],
        fmt: Formatter,
        ctx: RequestContext,
        respond: Callable[[Result], Response],
    ) -> Response:
        method = request.method
        server = self.server
        if method == "GET":
            return fmt.render(await search.search(server, params, rtype, ctx.strict))
        if method == "POST":
            body, _ = await self.body(request)
            return respond(
                await create.create(server, rtype, body, ctx.new_id(), request.headers.get("if-none-exist"))
            )
        criteria = request.url.query
        if method == "PUT":
            if not params:
                raise InvalidError("PUT on a resource type needs an id or search criteria")
            body, _ = await self.body(request)
            return respond(
                await update.conditional_update(
                    server, rtype, criteria, body, ctx.new_id(), request.headers.get("if-match")
                )
            )
        if method == "DELETE":
            if not params:
                raise InvalidError("DELETE on a resource type needs search criteria")
            return respond(await delete.conditional_delete(server, rtype, criteria))
        raise MethodNotAllowedError(f"{method} is not allowed on a resource type")

    async def instance(
        self,
        request: Request,
        rtype: str,
        id: str,
        params: list[tuple[str, str]],
        fmt: Formatter,
        ctx: RequestContext,
        respond: Callable[[Result], Response],
    ) -> Response:
        method = request.method
        server = self.server
        if_match = request.headers.get("if-match")
        if method in ("GET", "HEAD"):
            stored = await read.read(server, rtype, id)
            headers = version_headers(stored, server.base_url, False)
            if not_modified(request, stored.version, stored.last_updated_us):
                return Response(b"", 304, headers=headers)
            if rtype == "Binary" and (raw := photos.raw_response(request.headers.get("accept"), stored)):
                return raw  # the content in its native form (http.html#binary)
            return fmt.render(self.subset(stored.body, params), 200, headers)
        if method == "PUT":
            body, _ = await self.body(request)
            return respond(await update.update(server, rtype, id, body, if_match))
        if method == "DELETE":
            return respond(await delete.delete(server, rtype, id, if_match))
        if method == "PATCH":
            body, media = await self.body(request, patch=True)
            kind: patch.PatchKind = "json" if media == JSON_PATCH else "fhirpath"
            return respond(await patch.patch(server, rtype, id, body, kind, if_match))
        raise MethodNotAllowedError(f"{method} is not allowed on a resource instance")


def not_modified(request: Request, version: int, last_updated_us: int) -> bool:
    """Conditional read (http.html#cread): If-None-Match wins over If-Modified-Since."""
    etag = request.headers.get("if-none-match")
    if etag:
        return etag.strip() in (f'W/"{version}"', f'"{version}"', "*")
    since = request.headers.get("if-modified-since")
    if since:
        try:
            when = parsedate_to_datetime(since)
        except (TypeError, ValueError):
            return False
        if when.tzinfo is None:
            return False
        # HTTP dates have whole seconds: compare at that precision
        return last_updated_us // 1_000_000 <= int(when.timestamp())
    return False


def prefer_of(request: Request) -> Prefer:
    return Prefer.parse(request.headers.get("prefer"))
