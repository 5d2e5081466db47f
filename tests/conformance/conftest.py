"""The real ASGI app on a real SQLite file, with room for large Bundles."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from fhir_server.app import create_app
from fhir_server.config import Settings

BASE = "http://testserver/fhir"


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(
        store=f"sqlite:///{tmp_path / 'fhir.db'}", base_url=BASE, max_body_bytes=64 * 1024 * 1024
    )
    app = create_app(settings)
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE + "/", timeout=120)
    async with app.router.lifespan_context(app), http as c:
        yield c
