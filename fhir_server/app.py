"""The composition root: the only place that picks a backend and wires the parts."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from . import logs
from .api.negotiation import response_type
from .api.responses import Formatter, error_response
from .api.routes import Dispatcher, prefer_of
from .config import Settings
from .context import RequestContext
from .definitions import load
from .errors import ConflictError, FhirError, InvalidError
from .interactions import search_parameters
from .operations import expire_policies
from .operations.reindex_jobs import ReindexJobs
from .scheme.register import register as register_scheme
from .search import ucum
from .search.extract import Extractor
from .search.profiles import load_search_parameters
from .search.registry import SearchRegistry
from .server import Server
from .storage.protocol import Store, VersionConflict
from .stores import open_store
from .terminology import Terminology
from .validation.invariants import rule_system
from .validation.profiles import Profiles, parse_required

logger = logging.getLogger("fhir_server.http")


def build_server(settings: Settings, store: Store | None = None) -> Server:
    definitions = load()
    registry = SearchRegistry.from_definitions(definitions)
    for sp in load_search_parameters(settings.profiles_path, settings.canonical_base):
        registry.add(sp)  # ours (profiles/); run-time ones are loaded from the store at start-up
    store = store or open_store(settings)
    server = Server(
        settings=settings,
        store=store,
        definitions=definitions,
        registry=registry,
        extractor=Extractor(registry, settings.fhir_base),
        terminology=Terminology(store, limit=settings.expansion_limit, base_url=settings.fhir_base),
    )
    server.jobs = ReindexJobs(server)
    server.profiles = Profiles(
        definitions,
        server.terminology,
        store,
        folder=settings.profiles_path,
        system=rule_system(settings.canonical_base),
        required=parse_required(settings.required_profiles),
    )
    register_scheme(server)
    return server


def create_app(settings: Settings | None = None, store: Store | None = None) -> FastAPI:
    settings = settings or Settings.from_env()
    server = build_server(settings, store)
    dispatcher = Dispatcher(server)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await server.store.start()
        await search_parameters.load_stored(server)
        # load the UCUM unit registry now (~0.5 s) rather than inside the first request with a quantity
        await asyncio.to_thread(ucum.canonical, "mg")
        logs.log(logger, logging.INFO, "started", store=server.store.name, base=server.base_url)
        # what start-up loaded (definitions, profiles, registries) lives as long as the process:
        # keep it out of the collector's generations so full collections stay short (tail latency)
        gc.collect()
        gc.freeze()
        jobs = server.jobs
        assert jobs is not None
        await jobs.resume_all()  # $reindex jobs interrupted by the last stop
        expiry = (
            asyncio.create_task(expire_policies.daily(server, settings.policy_expiry_interval))
            if settings.policy_expiry_interval > 0
            else None
        )
        try:
            yield
        finally:
            if expiry is not None:
                expiry.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await expiry
            await jobs.close()
            await server.store.close()

    app = FastAPI(title="FHIR R4 server", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.server = server
    prefix = "/" + "/".join(p for p in settings.fhir_base.split("/")[3:] if p)

    @app.get("/health")
    async def health() -> Response:
        ready = await server.store.ready()
        body = {
            "status": "ok" if ready else "unavailable",
            "live": True,
            "ready": ready,
            "store": server.store.name,
        }
        return JSONResponse(body, 200 if ready else 503)

    async def fhir(request: Request) -> Response:
        start = time.perf_counter()
        request_id = request.headers.get("x-request-id") or uuid.uuid4().hex
        path = request.url.path[len(prefix) :] if prefix != "/" else request.url.path
        segments = [s for s in path.split("/") if s]
        fmt = Formatter("application/fhir+json", False)
        try:
            params = request.query_params
            fmt = Formatter("application/fhir+json", params.get("_pretty") == "true")
            fmt.media = response_type(request.headers.get("accept"), params.get("_format"))
            ctx = RequestContext(settings.fhir_base, prefer_of(request), request_id)
            async with search_parameters.tracking(server):  # SearchParameters written: (un)register
                response = await dispatcher.dispatch(request, segments, fmt, ctx)
        except FhirError as err:
            response = error_response(err, fmt)
        except VersionConflict as conflict:  # a unit that is not redone lost an optimistic race
            response = error_response(ConflictError(f"Concurrent change: {conflict}"), fmt)
        except RecursionError:
            response = error_response(
                InvalidError("Content is nested too deeply", issue_code="structure"), fmt
            )
        except Exception:
            logger.exception("unhandled error", extra={"fields": {"request_id": request_id}})
            internal = FhirError("Internal server error", issue_code="exception", status=500)
            response = error_response(internal, fmt)
        response.headers["X-Request-Id"] = request_id
        logs.log(
            logger,
            logging.INFO,
            "request",
            request_id=request_id,
            method=request.method,
            path=request.url.path,
            status=response.status_code,
            ms=round((time.perf_counter() - start) * 1000, 2),
        )
        return response

    methods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]
    app.add_route(prefix, fhir, methods=methods)
    app.add_route(prefix + "/", fhir, methods=methods)
    app.add_route(prefix + "/{path:path}", fhir, methods=methods)
    app.add_middleware(FhirFastPath, handler=fhir, prefix=prefix)
    return app


class FhirFastPath:
    """ASGI middleware: requests under the FHIR base go straight to the FHIR handler.

    The handler already turns every error into an OperationOutcome, so the framework's
    router and its exception, telemetry and body-limit layers (about two thirds of the
    per-request CPU of a read, measured with py-spy) are skipped for them; everything
    else (``/health``) takes the normal FastAPI path. The routes above stay registered
    for introspection and as the fallback.
    """

    def __init__(self, app: ASGIApp, handler: Callable[[Request], Awaitable[Response]], prefix: str) -> None:
        self.app = app
        self.handler = handler
        self.prefix = prefix.rstrip("/")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and (
            path == self.prefix
            or path.startswith(self.prefix + "/")
            or (not self.prefix and path != "/health")
        ):
            response = await self.handler(Request(scope, receive))
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)
