"""Eligibility at scheme scale: ``POST CoverageEligibilityRequest/$submit`` over HTTP.

Builds once (cached under ``--data-dir``) a scheme of ``--families`` families (default
10,000; 2–6 members, ~40,000 insurees) with the product of tests/api/eligibility_data.py,
one policy per family (90 % active with start dates spread over 2024, 5 % idle, 5 %
expired) and a consumption ledger per policy with 0–8 claims of history, written through
``scheme/ledger.py`` (``apply`` + ``save_ledger``) as claim valuation will. The families are
loaded as transaction Bundles through the real app in-process.

Then starts the server (uvicorn in a subprocess, ``--workers``) on that database and sends
``--requests`` eligibility requests (70 % by ``Patient/<id>``, 30 % by insurance number;
0–3 items among service A1, items 0182 / 0999 and the hospitalization benefit) over
``--concurrency`` keep-alive connections after a warm-up; every answer is checked (200, a
CoverageEligibilityResponse for the right patient). Prints requests/s and p50/p95/p99;
``--json`` writes them. Target on 2 cores: ≥ 1,000 req/s, p99 ≤ 20 ms.

    .venv/bin/python bench/eligibility.py [--families 10000] [--requests 20000]
        [--concurrency 8] [--workers 1] [--data-dir bench/results/eligibility-data] [--json F]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import shutil
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import ROOT, Conn, free_port, print_table, request, server, write_json

SERVICE_DAY = "2024-09-01"
FAMILIES_PER_BUNDLE = 50
CAT = "https://openimis.org/fhir/CodeSystem/coverage-item-category"
INSURANCE_NUMBER = "https://openimis.org/fhir/insurance-number"


def _people(rng: random.Random, f: int) -> list[tuple[str, str, str]]:
    """(id, insurance number, birth date) of family ``f``'s members, head first."""
    size = rng.randint(2, 6)
    out = []
    for m in range(size):
        year = rng.randint(1950, 1995) if m < 2 else rng.randint(2000, 2023)
        out.append(
            (f"p{f}-{m}", f"{f:07d}{m:02d}", f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}")
        )
    return out


def _scheme(families: int, seed: int) -> tuple[list[list[dict[str, Any]]], list[dict[str, Any]]]:
    """Bundles of resources, and per family its people and policy (for ledgers and requests)."""
    from tests.api import eligibility_data as data

    rng = random.Random(seed)
    bundles: list[list[dict[str, Any]]] = [[data.product()]]
    meta: list[dict[str, Any]] = []
    for f in range(families):
        people = _people(rng, f)
        fid, head = f"fam{f}", people[0][0]
        res: list[dict[str, Any]] = [
            data.patient(pid, num, birth, fid, i == 0, None if i == 0 else ("8" if i == 1 else "4"))
            for i, (pid, num, birth) in enumerate(people)
        ]
        res.append(data.family(fid, head, [p[0] for p in people], people[0][1]))
        roll = rng.random()
        month = rng.randint(1, 12)
        start = f"2024-{month:02d}-01" if roll < 0.95 else "2023-01-01"
        end = f"2025-{month:02d}-01" if roll < 0.95 else "2023-12-31"
        status = "1" if roll < 0.05 else ("8" if roll >= 0.95 else "2")
        members = [(p[0], None if status == "1" else start, end) for p in people]
        res.append(data.policy(f"pol{f}", fid, head, start, end, members, status))
        if len(bundles[-1]) >= FAMILIES_PER_BUNDLE * 7:
            bundles.append([])
        bundles[-1].extend(res)
        meta.append({"people": people, "policy": f"pol{f}", "claims": rng.randint(0, 8)})
    return bundles, meta


async def _build(db: Path, families: int, seed: int) -> list[dict[str, Any]]:
    import httpx

    from fhir_server.app import create_app
    from fhir_server.config import Settings
    from fhir_server.insurance.ledger import Amounts, ClaimConsumption, apply
    from fhir_server.scheme.ledger import load_ledger, save_ledger
    from tests.api.eligibility_data import transaction

    bundles, meta = _scheme(families, seed)
    app = create_app(
        Settings(store=f"sqlite:///{db}", base_url="http://bench/fhir", sqlite_synchronous="NORMAL")
    )
    rng = random.Random(seed + 1)
    t0 = time.perf_counter()
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench/fhir/", timeout=600) as c:
            for i, resources in enumerate(bundles):
                r = await c.post("", json=transaction(resources))
                if r.status_code != 200:
                    raise RuntimeError(f"bundle {i}: HTTP {r.status_code} {r.text[:500]}")
                if i % 20 == 0:
                    print(f"  bundle {i + 1}/{len(bundles)} ({time.perf_counter() - t0:.0f}s)", flush=True)
        srv = app.state.server
        claims = 0
        for lo in range(0, len(meta), 200):
            async with srv.store.transaction() as tx:
                for fam in meta[lo : lo + 200]:
                    ledger = await load_ledger(tx, fam["policy"])
                    for n in range(fam["claims"]):
                        who = rng.choice(fam["people"])[0]
                        amount = Decimal(rng.randint(1, 60) * 500)
                        category = rng.choice(["consultation", "visit", "surgery", "hospitalization"])
                        ledger = apply(
                            ledger,
                            ClaimConsumption(
                                f"{fam['policy']}-clm{n}",
                                who,
                                quantities={
                                    ("service", "A1"): Decimal(1),
                                    ("item", "0182"): Decimal(rng.randint(1, 12)),
                                },
                                categories={category: amount},
                                deducted=Amounts(g=Decimal(min(2000, 500 * rng.randint(0, 4)))),
                                remunerated=Amounts(g=amount),
                            ),
                        )
                        claims += 1
                    await save_ledger(srv, tx, ledger)
    print(
        f"  built {families} families, {sum(len(f['people']) for f in meta)} insurees, {claims} claims "
        f"in {time.perf_counter() - t0:.0f}s",
        flush=True,
    )
    return meta


def ensure(data_dir: Path, families: int, seed: int) -> tuple[Path, list[dict[str, Any]]]:
    data_dir.mkdir(parents=True, exist_ok=True)
    db = data_dir / f"elig-s{seed}-{families}.db"
    side = db.with_suffix(".json")
    if db.exists() and side.exists():
        return db, json.loads(side.read_text())
    tmp = db.with_suffix(".tmp.db")
    for p in data_dir.glob(tmp.name + "*"):
        p.unlink()
    meta = asyncio.run(_build(tmp, families, seed))
    shutil.move(tmp, db)
    side.write_text(json.dumps(meta))
    return db, meta


def _bodies(meta: list[dict[str, Any]], n: int, seed: int) -> list[tuple[bytes, str]]:
    rng = random.Random(seed + 2)
    choices = [
        {"category": {"coding": [{"system": CAT, "code": "service"}]}, "productOrService": {"text": "A1"}},
        {"category": {"coding": [{"system": CAT, "code": "item"}]}, "productOrService": {"text": "0182"}},
        {"category": {"coding": [{"system": CAT, "code": "item"}]}, "productOrService": {"text": "0999"}},
        {"category": {"coding": [{"system": CAT, "code": "benefit"}]}, "productOrService": {"text": "H"}},
    ]
    out = []
    for _ in range(n):
        fam = rng.choice(meta)
        pid, number, _birth = rng.choice(fam["people"])
        patient = (
            {"reference": f"Patient/{pid}"}
            if rng.random() < 0.7
            else {"identifier": {"system": INSURANCE_NUMBER, "value": number}}
        )
        body = {
            "resourceType": "CoverageEligibilityRequest",
            "patient": patient,
            "servicedDate": SERVICE_DAY,
            "item": rng.sample(choices, rng.randint(0, 3)),
        }
        if not body["item"]:
            del body["item"]
        raw = json.dumps(body).encode()
        out.append((request("POST", "/fhir/CoverageEligibilityRequest/$submit", raw), pid))
    return out


async def _run(port: int, reqs: list[tuple[bytes, str]], concurrency: int) -> dict[str, Any]:
    conns = [await Conn.open(port) for _ in range(concurrency)]
    latencies: list[float] = []
    errors: list[str] = []
    queue = iter(reqs)

    async def worker(conn: Conn) -> None:
        for raw, pid in queue:
            t0 = time.perf_counter()
            status, body = await conn.send(raw)
            latencies.append((time.perf_counter() - t0) * 1000)
            if (
                status != 200
                or b'"CoverageEligibilityResponse"' not in body
                or f'"Patient/{pid}"'.encode() not in body
            ):
                errors.append(f"{status}: {body[:200]!r}")

    start = time.perf_counter()
    await asyncio.gather(*(worker(c) for c in conns))
    seconds = time.perf_counter() - start
    for c in conns:
        c.close()
    latencies.sort()

    def pct(p: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(len(latencies) * p))], 2)

    return {
        "requests": len(latencies),
        "seconds": round(seconds, 2),
        "req_per_s": round(len(latencies) / seconds, 1),
        "p50_ms": round(statistics.median(latencies), 2),
        "p95_ms": pct(0.95),
        "p99_ms": pct(0.99),
        "errors": len(errors),
        "first_error": errors[0] if errors else "",
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--families", type=int, default=10_000)
    ap.add_argument("--requests", type=int, default=20_000)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--data-dir", type=Path, default=ROOT / "bench" / "results" / "eligibility-data")
    ap.add_argument("--json", dest="json_path")
    args = ap.parse_args()
    db, meta = ensure(args.data_dir, args.families, args.seed)
    run_db = db.with_suffix(".run.db")  # each run writes requests/responses: start from the clean copy
    shutil.copy(db, run_db)
    port = free_port()
    extra = {"FHIR_SQLITE_SYNCHRONOUS": "NORMAL"}
    rows = []
    with (
        server(f"sqlite:///{run_db}", port, extra_env=extra)
        if args.workers == 1
        else _workers(run_db, port, args.workers)
    ):
        asyncio.run(_run(port, _bodies(meta, max(200, args.requests // 10), args.seed + 7), args.concurrency))
        result = asyncio.run(_run(port, _bodies(meta, args.requests, args.seed), args.concurrency))
    rows.append(
        {"families": args.families, "workers": args.workers, "concurrency": args.concurrency, **result}
    )
    print_table(
        "CoverageEligibilityRequest/$submit (target: >= 1000 req/s, p99 <= 20 ms)",
        rows,
        [
            "families",
            "workers",
            "concurrency",
            "requests",
            "req_per_s",
            "p50_ms",
            "p95_ms",
            "p99_ms",
            "errors",
        ],
    )
    if result["first_error"]:
        print("first error:", result["first_error"])
    write_json(args.json_path, {"benchmark": "eligibility", "rows": rows})


def _workers(db: Path, port: int, workers: int):  # type: ignore[no-untyped-def]
    import os
    import subprocess
    import urllib.request
    from contextlib import contextmanager

    @contextmanager
    def run():  # type: ignore[no-untyped-def]
        env = {**os.environ, "FHIR_LOG_LEVEL": "warning", "FHIR_SQLITE_SYNCHRONOUS": "NORMAL"}
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "fhir_server",
                "serve",
                "--port",
                str(port),
                "--store",
                f"sqlite:///{db}",
                "--workers",
                str(workers),
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.time() + 60
            while True:
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1).read()
                    break
                except OSError:
                    if time.time() > deadline or proc.poll() is not None:
                        raise RuntimeError("server did not start") from None
                    time.sleep(0.2)
            yield
        finally:
            proc.terminate()
            proc.wait(timeout=20)

    return run()


if __name__ == "__main__":
    main()
