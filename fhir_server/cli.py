"""``fhir-server serve [--host] [--port] [--store URL] [--base-url URL]`` (also ``python -m fhir_server``).

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
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
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
