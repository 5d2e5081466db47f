"""FHIR search at full depth, and flat at scale: a synthetic insurance population at several
sizes and a mixed search workload over HTTP.

For each size (patients; default ``1000,8000``; the full run is ``--sizes 1000,8000,64000``,
which takes long and is not part of CI) the population (bench/population.py: families as
Group, Coverage per member, 2–4 Claims each with a ClaimResponse, an insurer and 50
facilities) is loaded as transaction Bundles, or reused: one database per size under
``--data-dir``, each grown from the largest smaller one. Then each query shape
(bench/search_shapes.py) runs alone, ``--requests`` times with ``--concurrency`` clients,
then all shapes together shuffled (the mix). Every response is checked against the
generated data: "errors" are HTTP errors and wrong results, "unsupported" responses carry an
OperationOutcome saying a parameter was ignored. The last table compares p50 at the largest
size with p50 at the smallest (target: at most 1.35x for every shape).

    .venv/bin/python bench/search.py [--sizes 1000,8000] [--requests 200] [--concurrency 8]
        [--data-dir bench/results/search-data] [--json bench/results/search.json]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import population as pop
from bench._common import ROOT, Conn, free_port, print_table, request, server, write_json
from bench.search_load import checkpoint, ensure
from bench.search_shapes import Job, Workload

_NEXT = re.compile(rb'"relation":"next","url":"https?://[^/"]+(/[^"]+)"')
RATIO_TARGET = 1.35
COLUMNS = ["shape", "requests", "req_per_s", "p50_ms", "p99_ms", "ok", "errors", "unsupported", "note"]


class Tally:
    def __init__(self) -> None:
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.notes: dict[str, str] = {}

    def add(self, shape: str, ms: float, outcome: str, note: str | None) -> None:
        self.latencies[shape].append(ms)
        self.counts[shape][outcome] += 1
        if note and shape not in self.notes:
            self.notes[shape] = note

    def rows(self, seconds: float | None = None) -> list[dict[str, Any]]:
        out = []
        everything = sum(len(v) for v in self.latencies.values())
        for shape, lat in self.latencies.items():
            lat = sorted(lat)
            c = self.counts[shape]
            out.append(
                {
                    "shape": shape,
                    "requests": len(lat),
                    "req_per_s": round(everything / seconds, 1) if seconds else "",  # of the whole phase
                    "p50_ms": round(statistics.median(lat), 2),
                    "p99_ms": round(lat[max(0, int(len(lat) * 0.99) - 1)], 2),
                    "ok": c["ok"],
                    "errors": c["error"] + c["wrong"],
                    "unsupported": c["unsupported"],
                    "note": self.notes.get(shape, "")[:90],
                }
            )
        return out


def classify(status: int, body: bytes, job: Job, page: int) -> tuple[str, str | None]:
    if status != 200:
        return "error", f"HTTP {status}: {body[:120].decode(errors='replace')}"
    if b'"mode":"outcome"' in body and b"ignored" in body:
        m = re.search(rb"Parameter\(s\) ignored: ([^\"]+)", body)
        return "unsupported", "ignored: " + (m.group(1).decode() if m else "?")
    reason = job.check(body, page, job.state)
    return ("wrong", reason) if reason else ("ok", None)


async def run_jobs(port: int, jobs: list[Job], concurrency: int, tally: Tally, budget: float) -> float:
    """Run the jobs over keep-alive connections, taking no new job after ``budget`` seconds
    (a shape slow enough to hit it shows fewer requests); the seconds taken."""
    conns = [await Conn.open(port) for _ in range(concurrency)]
    queue = iter(jobs)
    deadline = time.perf_counter() + budget

    async def worker(conn: Conn) -> None:
        for job in queue:
            if time.perf_counter() > deadline:
                break
            path: str | None = job.path
            page = 0
            while path is not None:
                t0 = time.perf_counter()
                status, body = await conn.send(request("GET", path))
                ms = (time.perf_counter() - t0) * 1000
                outcome, note = classify(status, body, job, page)
                shape = job.shape + (" next" if page else "")
                m = _NEXT.search(body)
                path = None
                if outcome == "ok" and page < job.next_pages:
                    if m is not None:
                        path = m.group(1).decode().replace("\\u0026", "&")
                    elif job.state.get("seen", 0) < job.state.get("want", 0):
                        outcome, note = "wrong", f"page {page}: no next link"
                tally.add(shape, ms, outcome, note)
                page += 1

    start = time.perf_counter()
    await asyncio.gather(*(worker(c) for c in conns))
    seconds = time.perf_counter() - start
    for c in conns:
        c.close()
    return seconds


async def bench_size(
    port: int, work: Workload, requests: int, concurrency: int, budget: float
) -> dict[str, Any]:
    """Each shape alone (req/s of its phase; the paging shape's first pages and next links
    share one phase), then the mix."""
    warm = Tally()
    for jobs in work.jobs(max(2, requests // 10)).values():
        await run_jobs(port, jobs, concurrency, warm, budget / 10)
    shapes: list[dict[str, Any]] = []
    for jobs in work.jobs(requests).values():
        tally = Tally()
        seconds = await run_jobs(port, jobs, concurrency, tally, budget)
        shapes += tally.rows(seconds)
    mixed = [j for jobs in work.jobs(requests).values() for j in jobs]
    random.Random(1).shuffle(mixed)
    tally = Tally()
    seconds = await run_jobs(port, mixed, concurrency, tally, budget * 3)
    rows = tally.rows()
    total = sum(r["requests"] for r in rows)
    mix = {
        "requests": total,
        "seconds": round(seconds, 2),
        "req_per_s": round(total / seconds, 1),
        "errors": sum(r["errors"] for r in rows),
        "unsupported": sum(r["unsupported"] for r in rows),
        "shapes": rows,
    }
    return {"shapes": shapes, "mix": mix}


def ratios(results: dict[int, dict[str, Any]]) -> list[dict[str, Any]]:
    sizes = sorted(results)
    small, large = sizes[0], sizes[-1]
    base = {r["shape"]: r for r in results[small]["shapes"]}
    out = []
    for r in results[large]["shapes"]:
        b = base.get(r["shape"])
        if b is None:
            continue
        ratio = round(r["p50_ms"] / b["p50_ms"], 2) if b["p50_ms"] else float("inf")
        out.append(
            {
                "shape": r["shape"],
                f"p50_ms@{small}": b["p50_ms"],
                f"p50_ms@{large}": r["p50_ms"],
                "ratio": ratio,
                "flag": f"> {RATIO_TARGET}" if ratio > RATIO_TARGET else "",
            }
        )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--sizes", default="1000,8000", help="patients per checkpoint; the full run: 1000,8000,64000"
    )
    ap.add_argument("--requests", type=int, default=200, help="requests per shape (per phase)")
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--budget", type=float, default=60, help="seconds per shape (3x for the mix), then stop")
    ap.add_argument("--data-dir", type=Path, default=ROOT / "bench" / "results" / "search-data")
    ap.add_argument("--skip", default="", help="shapes to leave out, comma-separated (e.g. sort+page)")
    ap.add_argument("--json", dest="json_path")
    args = ap.parse_args()
    sizes = sorted({int(s) for s in args.sizes.split(",") if s.strip()})
    results: dict[int, dict[str, Any]] = {}
    loads: list[dict[str, Any]] = []
    for size in sizes:
        print(f"\n== {size} patients")
        state = ensure(args.data_dir, args.seed, size)
        if not state["reused"]:
            loads.append({"size": size, **state["loads"][-1]})
        for load in state["loads"]:
            print(
                f"  load {load['from']}..{load['to']}: {load['resources']} resources in {load['bundles']} "
                f"transactions, {load['seconds']} s = {load['resources_per_s']} resources/s, "
                f"{load['errors']} errors" + (" (reused checkpoint)" if state["reused"] else "")
            )
        work = Workload(pop.facts(args.seed, size), state["patient_ids"], state["org_ids"], args.seed)
        work.skip = {s.strip() for s in args.skip.split(",") if s.strip()}
        port = free_port()
        db, _ = checkpoint(args.data_dir, args.seed, size)
        with server(f"sqlite:///{db}", port):
            res = asyncio.run(bench_size(port, work, args.requests, args.concurrency, args.budget))
        res["loads"] = state["loads"]
        results[size] = res
        print_table(
            f"search, {size} patients, concurrency {args.concurrency}, each shape alone",
            res["shapes"],
            COLUMNS,
        )
        mix = res["mix"]
        print(
            f"\nmix at {size} patients: {mix['requests']} requests in {mix['seconds']} s "
            f"= {mix['req_per_s']} req/s, {mix['errors']} errors, {mix['unsupported']} unsupported"
        )
    print_table(
        f"search mix, all sizes (concurrency {args.concurrency})",
        [{"patients": s, **{k: v for k, v in r["mix"].items() if k != "shapes"}} for s, r in results.items()],
        ["patients", "requests", "seconds", "req_per_s", "errors", "unsupported"],
    )
    table = ratios(results) if len(results) > 1 else []
    if table:
        print_table(
            f"p50 at {sizes[-1]} vs {sizes[0]} patients (target <= {RATIO_TARGET}x)", table, list(table[0])
        )
    write_json(args.json_path, {"sizes": sizes, "results": results, "loads": loads, "p50_ratio": table})


if __name__ == "__main__":
    main()
