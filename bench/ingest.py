"""Transaction ingest of the Synthea bundles (../shared/data/synthea) over HTTP.

Loads the two *Information* batch bundles first, then every patient transaction bundle,
and prints resources/s; in the same run, the raw floor: the same documents and index rows
written straight through SQLite, one transaction per bundle.

    .venv/bin/python bench/ingest.py [--concurrency 2] [--repeat 1] [--json bench/results/ingest.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import ROOT, Conn, free_port, print_table, request, server, write_json
from fhir_server import clock
from fhir_server.definitions import load
from fhir_server.interactions.resources import stamp
from fhir_server.search.extract import Extractor
from fhir_server.search.registry import SearchRegistry
from fhir_server.storage.protocol import WriteOp
from fhir_server.storage.sqlite.params import ParamIds
from fhir_server.storage.sqlite.schema import DDL
from fhir_server.storage.sqlite.store import apply_write

SYNTHEA = ROOT.parent / "shared" / "data" / "synthea"


def bundles() -> tuple[list[Path], list[Path]]:
    if not SYNTHEA.exists():
        sys.exit(f"{SYNTHEA} is absent: the Synthea bundles live in ../shared/data/synthea")
    info = sorted(SYNTHEA.glob("*Information*.json"), key=lambda p: not p.name.startswith("hospital"))
    patients = sorted(p for p in SYNTHEA.glob("*.json") if "Information" not in p.name)
    return info, patients


async def http_ingest(db: Path, concurrency: int) -> list[dict[str, Any]]:
    info, patients = bundles()
    port = free_port()
    rows = []
    with server(f"sqlite:///{db}", port):
        for label, files, conc in (
            ("batch (Information)", info, 1),
            ("transaction (patients)", patients, concurrency),
        ):
            payloads = [p.read_bytes() for p in files]
            resources = sum(len(json.loads(b)["entry"]) for b in payloads)
            conns = [await Conn.open(port) for _ in range(conc)]
            queue = iter(payloads)
            errors = 0

            async def worker(conn: Conn, queue: Any = queue) -> None:
                nonlocal errors
                for body in queue:
                    status, out = await conn.send(request("POST", "/fhir/", body))
                    if status != 200 or (b'"outcome"' in out and b'"status":"4' in out):
                        errors += 1

            start = time.perf_counter()
            await asyncio.gather(*(worker(c) for c in conns))
            seconds = time.perf_counter() - start
            for c in conns:
                c.close()
            rows.append(_row(label, len(files), resources, seconds, errors))
    return rows


def raw_floor(db: Path) -> dict[str, Any]:
    info, patients = bundles()
    extractor = Extractor(SearchRegistry.from_definitions(load()))
    prepared: list[list[WriteOp]] = []
    resources = 0
    for path in [*info, *patients]:
        ops = []
        for entry in json.loads(path.read_bytes())["entry"]:
            doc = entry["resource"]
            rid = str(uuid.uuid4())
            us = clock.now_us()
            lu = clock.instant(us)
            ops.append(
                WriteOp(
                    doc["resourceType"], rid, 1, 0, lu, us, stamp(doc, rid, 1, lu), extractor.extract(doc)
                )
            )
        resources += len(ops)
        prepared.append(ops)
    conn = sqlite3.connect(str(db), isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.executescript(DDL)
    params = ParamIds()
    params.load(conn)
    start = time.perf_counter()
    for ops in prepared:
        conn.execute("BEGIN IMMEDIATE")
        for op in ops:
            apply_write(conn, params, op)
        conn.execute("COMMIT")
        params.commit()
    seconds = time.perf_counter() - start
    conn.close()
    return _row("raw floor (sqlite3, same rows)", len(prepared), resources, seconds, 0)


def _row(label: str, bundles_n: int, resources: int, seconds: float, errors: int) -> dict[str, Any]:
    return {
        "phase": label,
        "bundles": bundles_n,
        "resources": resources,
        "seconds": round(seconds, 2),
        "resources_per_s": round(resources / seconds, 1),
        "errors": errors,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--concurrency", type=int, default=2)
    ap.add_argument("--json", dest="json_path")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rows = asyncio.run(http_ingest(Path(tmp) / "http.db", args.concurrency))
        total_res = sum(r["resources"] for r in rows)
        total_s = sum(r["seconds"] for r in rows)
        rows.append(
            _row(
                "all over HTTP",
                sum(r["bundles"] for r in rows),
                total_res,
                total_s,
                sum(r["errors"] for r in rows),
            )
        )
        rows.append(raw_floor(Path(tmp) / "raw.db"))
    print_table(
        "Synthea ingest over HTTP (SQLite, synchronous=FULL)",
        rows,
        ["phase", "bundles", "resources", "seconds", "resources_per_s", "errors"],
    )
    write_json(args.json_path, {"rows": rows})


if __name__ == "__main__":
    main()
