"""EXPLAIN QUERY PLAN and timing of the SQL the SQLite compiler produces for one query of each
shape of bench/search.py, straight on a checkpoint database (no server).

    .venv/bin/python bench/search_explain.py [--size 8000] [--analyze]

``--analyze`` runs ``ANALYZE`` on a temporary copy first, to show what the planner does
with statistics (the server never runs ANALYZE today).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import parse_qsl, unquote

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import population as pop
from bench._common import ROOT
from bench.search_load import checkpoint
from bench.search_shapes import Workload
from fhir_server.definitions import load
from fhir_server.search.parser import parse_search
from fhir_server.search.registry import SearchRegistry
from fhir_server.storage.sqlite.params import ParamIds
from fhir_server.storage.sqlite.search_sql import compile_search, count_sql


def timed(conn: sqlite3.Connection, sql: str, args: list[object]) -> tuple[float, int]:
    runs = []
    n = 0
    for _ in range(5):
        t0 = time.perf_counter()
        n = len(conn.execute(sql, args).fetchall())
        runs.append((time.perf_counter() - t0) * 1000)
    return statistics.median(runs), n


def explain(db: Path, meta: dict[str, object], size: int, seed: int, full_sql: bool) -> None:
    registry = SearchRegistry.from_definitions(load())
    conn = sqlite3.connect(db)
    params = ParamIds()
    params.load(conn)
    lookup = params.lookup(conn)
    work = Workload(pop.facts(seed, size), meta["patient_ids"], meta["org_ids"], seed)  # type: ignore[arg-type]
    for shape, jobs in work.jobs(1).items():
        path = jobs[0].path.removeprefix("/fhir/")
        rtype, _, qs = path.partition("?")
        query = parse_search((rtype,), [(k, unquote(v)) for k, v in parse_qsl(qs)], registry)
        sql, args = compile_search(query, lookup, limit=query.count + 1)
        ms, rows = timed(conn, sql, args)
        print(f"\n== {shape}: {unquote(path)}\n   {rows} rows, median {ms:.2f} ms")
        if full_sql:
            print("   " + sql)
        for row in conn.execute("EXPLAIN QUERY PLAN " + sql, args):
            print("   ", row[3])
        if query.total == "accurate":
            csql, cargs = count_sql(query, lookup)
            ms, _ = timed(conn, csql, cargs)
            print(f"   count: median {ms:.2f} ms")
    conn.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=8000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--data-dir", type=Path, default=ROOT / "bench" / "results" / "search-data")
    ap.add_argument("--analyze", action="store_true")
    ap.add_argument("--sql", action="store_true", help="print the SQL too")
    args = ap.parse_args()
    db, meta_path = checkpoint(args.data_dir, args.seed, args.size)
    if not db.exists():
        sys.exit(f"{db} is absent: run bench/search.py --sizes {args.size} first")
    meta = json.loads(meta_path.read_text())
    with tempfile.TemporaryDirectory() as tmp:
        if args.analyze:
            copy = Path(tmp) / db.name
            shutil.copy(db, copy)
            sqlite3.connect(copy).execute("ANALYZE").connection.close()
            db = copy
        explain(db, meta, args.size, args.seed, args.sql)


if __name__ == "__main__":
    main()
