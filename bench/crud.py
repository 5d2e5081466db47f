"""CRUD benchmark over HTTP: create, read, update and search by token, with concurrency.

Starts the server (SQLite store, synchronous=FULL) in a subprocess, drives it with a light
keep-alive client, and measures in the same run the raw floor: the same documents and
index rows written (one transaction each) and read straight through SQLite.

    .venv/bin/python bench/crud.py [--count 5000] [--concurrency 16] [--json bench/results/crud.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import free_port, print_table, request, run_phase, server, write_json
from fhir_server import clock
from fhir_server.definitions import load
from fhir_server.interactions.resources import stamp
from fhir_server.search.extract import Extractor
from fhir_server.search.registry import SearchRegistry
from fhir_server.storage.protocol import WriteOp
from fhir_server.storage.sqlite.params import ParamIds
from fhir_server.storage.sqlite.schema import DDL
from fhir_server.storage.sqlite.store import apply_write


def patient(i: int) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "identifier": [{"system": "urn:bench:insuree", "value": f"INS{i:08d}"}],
        "active": True,
        "name": [{"family": f"Family{i % 977}", "given": [f"Given{i}"]}],
        "gender": "female" if i % 2 else "male",
        "birthDate": f"{1950 + i % 60}-{1 + i % 12:02d}-{1 + i % 28:02d}",
        "address": [{"city": f"Village{i % 113}", "district": "Central", "country": "TZ"}],
        "telecom": [{"system": "phone", "value": f"+255{i:09d}"}],
    }


async def http_phases(count: int, concurrency: int, db: Path) -> list[dict[str, Any]]:
    port = free_port()
    rows = []
    with server(f"sqlite:///{db}", port):
        bodies = [json.dumps(patient(i)).encode() for i in range(count)]
        create = await run_phase(port, [request("POST", "/fhir/Patient", b) for b in bodies], concurrency)
        ids = [json.loads(o)["id"] for o in create.pop("_outputs")]
        rows.append({"phase": "create", **create})
        order = random.Random(1).sample(range(count), count)
        read = await run_phase(port, [request("GET", f"/fhir/Patient/{ids[i]}") for i in order], concurrency)
        read.pop("_outputs")
        rows.append({"phase": "read", **read})
        upd = []
        for i in order:
            doc = patient(i)
            doc["id"] = ids[i]
            doc["active"] = False
            upd.append(request("PUT", f"/fhir/Patient/{ids[i]}", json.dumps(doc).encode()))
        update = await run_phase(port, upd, concurrency)
        update.pop("_outputs")
        rows.append({"phase": "update", **update})

        def one_hit(status: int, body: bytes) -> bool:
            return status == 200 and body.count(b'"fullUrl"') == 1

        searches = [request("GET", f"/fhir/Patient?identifier=urn:bench:insuree%7CINS{i:08d}") for i in order]
        search = await run_phase(port, searches, concurrency, one_hit)
        search.pop("_outputs")
        rows.append({"phase": "search token", **search})
    return rows


def raw_floor(count: int, db: Path) -> list[dict[str, Any]]:
    """The same documents and index rows, straight through sqlite3 (one transaction per write)."""
    definitions = load()
    extractor = Extractor(SearchRegistry.from_definitions(definitions))
    ops = []
    for i in range(count):
        doc = patient(i)
        doc["id"] = f"raw{i}"
        us = clock.now_us()
        lu = clock.instant(us)
        ops.append(
            WriteOp("Patient", doc["id"], 1, 0, lu, us, stamp(doc, doc["id"], 1, lu), extractor.extract(doc))
        )
    conn = sqlite3.connect(str(db), isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.executescript(DDL)
    params = ParamIds()
    params.load(conn)
    latencies = []
    start = time.perf_counter()
    for op in ops:
        t0 = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        apply_write(conn, params, op)
        conn.execute("COMMIT")
        params.commit()
        latencies.append((time.perf_counter() - t0) * 1000)
    write_s = time.perf_counter() - start
    rows = [_row("raw write (sqlite3)", latencies, write_s)]
    latencies = []
    start = time.perf_counter()
    for i in random.Random(1).sample(range(count), count):
        t0 = time.perf_counter()
        conn.execute(
            "SELECT body, version FROM resources WHERE type = ? AND id = ?", ("Patient", f"raw{i}")
        ).fetchone()
        latencies.append((time.perf_counter() - t0) * 1000)
    rows.append(_row("raw read (sqlite3)", latencies, time.perf_counter() - start))
    conn.close()
    return rows


def _row(phase: str, latencies: list[float], seconds: float) -> dict[str, Any]:
    latencies.sort()
    return {
        "phase": phase,
        "requests": len(latencies),
        "seconds": round(seconds, 3),
        "req_per_s": round(len(latencies) / seconds, 1),
        "p50_ms": round(statistics.median(latencies), 3),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1], 3),
        "errors": 0,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=5000)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--json", dest="json_path")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rows = asyncio.run(http_phases(args.count, args.concurrency, Path(tmp) / "http.db"))
        rows += raw_floor(args.count, Path(tmp) / "raw.db")
    create = next(r for r in rows if r["phase"] == "create")
    raw = next(r for r in rows if r["phase"].startswith("raw write"))
    ratio = round(raw["req_per_s"] / create["req_per_s"], 2)
    print_table(
        f"CRUD over HTTP, {args.count} Patients, concurrency {args.concurrency}, SQLite synchronous=FULL",
        rows,
        ["phase", "requests", "seconds", "req_per_s", "p50_ms", "p99_ms", "errors"],
    )
    print(f"\ncreate is {ratio}x slower than the raw SQLite floor (target: within 3x)")
    write_json(args.json_path, {"rows": rows, "create_vs_raw_floor": ratio, "count": args.count})


if __name__ == "__main__":
    main()
