"""An acknowledged write survives kill -9 (SQLite, WAL, synchronous=FULL)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from .conftest import patient

ROOT = Path(__file__).resolve().parents[2]


def _start(db: Path, port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "fhir_server", "serve", "--port", str(port), "--store", f"sqlite:///{db}"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 30
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1).read()
            return proc
        except OSError:
            if time.time() > deadline or proc.poll() is not None:
                proc.kill()
                raise RuntimeError("server did not start") from None
            time.sleep(0.1)


def _send(method: str, url: str, body: dict[str, object] | None = None) -> tuple[int, dict[str, object]]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/fhir+json"}
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")
def test_acknowledged_writes_survive_kill_9(tmp_path: Path) -> None:
    from .conftest import _free_port

    db = tmp_path / "durable.db"
    port = _free_port()
    proc = _start(db, port)
    base = f"http://127.0.0.1:{port}/fhir"
    ids = []
    try:
        for i in range(20):
            status, body = _send("POST", f"{base}/Patient", patient(f"Durable{i}"))
            assert status == 201
            ids.append(body["id"])
        status, _ = _send("PUT", f"{base}/Patient/{ids[0]}", patient("Updated", id=ids[0]))
        assert status == 200
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    proc = _start(db, port)
    try:
        for i, rid in enumerate(ids):
            status, body = _send("GET", f"{base}/Patient/{rid}")
            assert status == 200
            assert body["name"][0]["family"] == ("Updated" if i == 0 else f"Durable{i}")  # type: ignore[index]
        status, body = _send("GET", f"{base}/Patient?name=durable&_total=accurate")
        assert body["total"] == 19
    finally:
        proc.terminate()
        proc.wait()
