"""``fhir-server serve [--host] [--port] [--store URL] [--base-url URL]`` (also ``python -m fhir_server``).

``fhir-server load PATH... [--store URL | --url BASE]`` loads JSON resources, Bundles and
folders (files in name order) through the normal write path: in this process into the store,
or over HTTP into a running server (``fhir_server/loader.py``).

``fhir-server package install NAME@VERSION|FILE|URL ... [--store URL] [--registry URL]``
installs FHIR packages into the store (``packages/``; several at once: dependencies
first); ``fhir-server package list [--store URL]`` lists the installed ones, ``fhir-server package
uninstall NAME`` deletes what one installed. A server
running on the same store sees installed SearchParameters at its next start (this
process has its own registry); ValueSets, CodeSystems and StructureDefinitions are read
from the store at once.

Every option can come from the environment (``FHIR_HOST``, ``FHIR_PORT``,
``FHIR_STORE``, ``FHIR_BASE_URL``, ...; see ``config.py``); options win over it.
"""

from __future__ import annotations

import argparse
import sys

from .config import Settings


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="fhir-server", description="FHIR R4 server for insurance schemes")
    sub = p.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the HTTP server")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--store", help="sqlite:///path/file.db (default ./data/fhir.db) or mongodb://...")
    serve.add_argument("--base-url", dest="base_url", help="public base URL, e.g. https://x.org/fhir")
    serve.add_argument("--max-body-bytes", dest="max_body_bytes", type=int)
    serve.add_argument("--sqlite-synchronous", dest="sqlite_synchronous", choices=["FULL", "NORMAL"])
    serve.add_argument("--log-level", dest="log_level")
    serve.add_argument("--workers", type=int, default=1)
    loading = sub.add_parser("load", help="load resources, Bundles and folders (files in name order)")
    loading.add_argument("paths", nargs="+", metavar="PATH", help="a .json resource or Bundle, or a folder")
    loading.add_argument("--store", help="sqlite:///path/file.db or mongodb://... (default FHIR_STORE)")
    loading.add_argument(
        "--url", help="load into a running server over HTTP instead, e.g. http://host:8080/fhir"
    )
    loading.add_argument("--base-url", dest="base_url")
    package = sub.add_parser("package", help="install and list FHIR packages (implementation guides)")
    actions = package.add_subparsers(dest="action", required=True)
    install = actions.add_parser("install", help="install packages: NAME@VERSION, a .tgz file or a URL")
    install.add_argument("specs", nargs="+", metavar="NAME@VERSION|FILE")
    install.add_argument("--store", help="sqlite:///path/file.db or mongodb://... (default FHIR_STORE)")
    install.add_argument("--registry", dest="package_registry", help="npm registry (FHIR_PACKAGE_REGISTRY)")
    install.add_argument("--base-url", dest="base_url")
    listing = actions.add_parser("list", help="list the installed packages")
    listing.add_argument("--store")
    remove = actions.add_parser("uninstall", help="delete what an installed package installed")
    remove.add_argument("name")
    remove.add_argument("--store")
    return p


async def package_command(args: argparse.Namespace) -> int:
    from .app import build_server
    from .errors import FhirError
    from .interactions import search_parameters
    from .packages import install_all, installed, load
    from .packages.install import uninstall

    overrides = {k: v for k, v in vars(args).items() if k in ("store", "package_registry", "base_url")}
    server = build_server(Settings.from_env(**overrides))
    await server.store.start()
    try:
        if args.action == "list":
            for record in await installed(server):
                count = len(record.get("resources", []))
                print(f"{record['name']}@{record['version']}\t{count} resources\t{record.get('source', '')}")
            return 0
        await search_parameters.load_stored(server)
        try:
            async with search_parameters.tracking(server):  # pending-reindex state for new parameters
                if args.action == "uninstall":
                    reports = [await uninstall(server, args.name)]
                else:
                    packages = [await load(server, spec) for spec in args.specs]
                    reports = await install_all(server, packages)
        except FhirError as err:
            for issue in err.issues:
                where = f" [{', '.join(issue.expression)}]" if issue.expression else ""
                print(f"error: {issue.diagnostics}{where}", file=sys.stderr)
            return 1
        for report in reports:
            if report.status == "already-installed":
                print(f"{report.label}: already installed (nothing changed)")
                continue
            actions = [r["action"] for r in report.resources]
            kinds = (
                ("deleted", "kept") if report.status == "uninstalled" else ("created", "updated", "unchanged")
            )
            counts = ", ".join(f"{actions.count(a)} {a}" for a in kinds)
            print(f"{report.label}: {report.status} ({counts}) from {report.source}")
            for r in report.resources:
                print(f"  {r['action']:9} {r['reference']} {r.get('url', '')}".rstrip())
        return 0
    finally:
        await server.store.close()


async def load_command(args: argparse.Namespace) -> int:
    """Load ``args.paths`` in order; 0 when everything was stored, 1 at the first refusal."""
    from pathlib import Path

    import httpx

    from .loader import FileReport, Loader, LoadError

    def report(done: FileReport) -> None:
        print(done.summary())
        for action, reference in done.actions:
            print(f"  {action:9} {reference}")

    paths = [Path(p) for p in args.paths]
    try:
        if args.url:
            async with httpx.AsyncClient(base_url=args.url.rstrip("/") + "/", timeout=120) as client:
                await Loader(client, report).load(paths)
            return 0
        from .app import create_app

        overrides = {k: v for k, v in vars(args).items() if k in ("store", "base_url") and v}
        settings = Settings.from_env(**overrides)
        app = create_app(settings)
        transport = httpx.ASGITransport(app=app)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url=settings.fhir_base + "/", timeout=None) as client,
        ):
            await Loader(client, report).load(paths)
        return 0
    except LoadError as err:
        print(err.describe(), file=sys.stderr)
        return 1
    except httpx.HTTPError as err:
        print(f"error: {args.url}: {err}", file=sys.stderr)
        return 1


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.command == "load":
        import asyncio

        return asyncio.run(load_command(args))
    if args.command == "package":
        import asyncio

        return asyncio.run(package_command(args))
    if args.command == "serve":
        import os

        import uvicorn

        from . import logs

        overrides = {k: v for k, v in vars(args).items() if k not in ("command", "workers")}
        settings = Settings.from_env(**overrides)
        logs.setup(settings.log_level)
        # the app factory reads the environment: hand the effective settings over through it
        for key, value in vars(settings).items():
            os.environ["FHIR_" + key.upper()] = str(value)
        uvicorn.run(
            "fhir_server.app:create_app",
            factory=True,
            host=settings.host,
            port=settings.port,
            workers=args.workers,
            log_level="warning",
            access_log=False,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
