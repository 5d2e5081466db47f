"""The real ASGI app over HTTP (httpx), on a real SQLite file; and a live uvicorn server
for the real FHIR clients (fhirpy, fhirclient)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from fhir_server.app import create_app
from fhir_server.config import Settings

BASE = "http://testserver/fhir"
FHIR_JSON = {"Content-Type": "application/fhir+json"}


def make_settings(tmp_path: Path, **kw: object) -> Settings:
    kw.setdefault("policy_expiry_interval", 0)  # no expiry job racing the tests (tested on its own)
    return Settings(store=f"sqlite:///{tmp_path / 'fhir.db'}", base_url=BASE, **kw)  # type: ignore[arg-type]


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(make_settings(tmp_path, max_body_bytes=2_000_000))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE + "/") as c:
            yield c


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real uvicorn server in a thread; yields its FHIR base URL."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}/fhir"
    tmp = tmp_path_factory.mktemp("live")
    app = create_app(Settings(store=f"sqlite:///{tmp / 'fhir.db'}", base_url=base, port=port))
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 20
    while not server.started:
        if time.time() > deadline:
            raise RuntimeError("live server did not start")
        time.sleep(0.05)
    yield base
    server.should_exit = True
    thread.join(timeout=10)


def patient(family: str = "Chalmers", **extra: object) -> dict[str, object]:
    body: dict[str, object] = {
        "resourceType": "Patient",
        "name": [{"family": family, "given": ["Peter", "James"]}],
        "gender": "male",
        "birthDate": "1974-12-25",
    }
    body.update(extra)
    return body


def issue_codes(outcome: dict[str, object]) -> list[str]:
    assert outcome["resourceType"] == "OperationOutcome", outcome
    return [i["code"] for i in outcome["issue"]]  # type: ignore[index, union-attr]
