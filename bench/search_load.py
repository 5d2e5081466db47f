"""Load (and grow) the synthetic population of bench/search.py through the server over HTTP.

One SQLite database per size, ``<data-dir>/pop-s<seed>-<size>.db``, with a sidecar
``.json`` holding the server-assigned ids (patients in index order, organizations) and the
load figures. A missing size is made by copying the largest smaller checkpoint (SQLite
backup API) and loading only the patients it lacks, as transaction Bundles of
``FAMILIES_PER_BUNDLE`` families (~340 resources, ``urn:uuid`` references).
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from pathlib import Path
from typing import Any

from bench import population as pop
from bench._common import Conn, free_port, request, server

FAMILIES_PER_BUNDLE = 10


def checkpoint(data_dir: Path, seed: int, size: int) -> tuple[Path, Path]:
    stem = data_dir / f"pop-s{seed}-{size}"
    return stem.with_suffix(".db"), stem.with_suffix(".json")


def _ids(response: bytes) -> list[str]:
    return ["/".join(e["response"]["location"].split("/")[:2]) for e in json.loads(response)["entry"]]


def _bundles(seed: int, start: int, stop: int, orgs: list[str]) -> list[tuple[bytes, list[int], int]]:
    """(payload, entry positions of the Patients, resource count) per transaction."""
    out = []
    step = pop.FAMILY_SIZE * FAMILIES_PER_BUNDLE
    for lo in range(start, stop, step):
        entries: list[dict[str, Any]] = []
        positions: list[int] = []
        for f in range(lo, min(lo + step, stop), pop.FAMILY_SIZE):
            people = [pop.person(seed, i) for i in range(f, min(f + pop.FAMILY_SIZE, stop))]
            fam = pop.family_entries(people, orgs)
            positions += [
                len(entries) + k for k, e in enumerate(fam) if e["resource"]["resourceType"] == "Patient"
            ]
            entries += fam
        out.append(
            (
                pop.dumps({"resourceType": "Bundle", "type": "transaction", "entry": entries}),
                positions,
                len(entries),
            )
        )
    return out


async def _load(port: int, state: dict[str, Any], seed: int, size: int, concurrency: int) -> dict[str, Any]:
    conn = await Conn.open(port)
    if not state["org_ids"]:
        status, body = await conn.send(request("POST", "/fhir/", pop.dumps(pop.org_bundle())))
        if status != 200:
            raise RuntimeError(f"organization bundle: HTTP {status} {body[:300]!r}")
        state["org_ids"] = _ids(body)
    conn.close()
    start = len(state["patient_ids"])
    bundles = _bundles(seed, start, size, state["org_ids"])
    results: dict[int, list[str]] = {}
    errors = 0
    queue = iter(enumerate(bundles))

    async def worker() -> None:
        nonlocal errors
        c = await Conn.open(port)
        for n, (payload, positions, _) in queue:
            status, body = await c.send(request("POST", "/fhir/", payload))
            if status != 200:
                errors += 1
                raise RuntimeError(f"transaction {n}: HTTP {status} {body[:300]!r}")
            ids = _ids(body)
            results[n] = [ids[p] for p in positions]
        c.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    seconds = time.perf_counter() - t0
    for n in range(len(bundles)):
        state["patient_ids"] += results[n]
    resources = sum(b[2] for b in bundles)
    return {
        "from": start,
        "to": size,
        "bundles": len(bundles),
        "resources": resources,
        "seconds": round(seconds, 2),
        "resources_per_s": round(resources / seconds, 1) if seconds else 0.0,
        "errors": errors,
    }


def ensure(data_dir: Path, seed: int, size: int, concurrency: int = 2) -> dict[str, Any]:
    """The state (ids, load figures) of the ``size`` checkpoint, making it if needed."""
    db, meta = checkpoint(data_dir, seed, size)
    if db.exists() and meta.exists():
        state: dict[str, Any] = json.loads(meta.read_text())
        state["reused"] = True
        return state
    data_dir.mkdir(parents=True, exist_ok=True)
    smaller = sorted(
        (int(p.stem.rsplit("-", 1)[1]), p)
        for p in data_dir.glob(f"pop-s{seed}-*.json")
        if int(p.stem.rsplit("-", 1)[1]) < size and p.with_suffix(".db").exists()
    )
    state = {"size": size, "patient_ids": [], "org_ids": [], "loads": []}
    db.unlink(missing_ok=True)
    if smaller:
        base_size, base_meta = smaller[-1]
        state = {**json.loads(base_meta.read_text()), "size": size}
        src = sqlite3.connect(base_meta.with_suffix(".db"))
        dst = sqlite3.connect(db)
        src.backup(dst)
        src.close()
        dst.close()
        print(f"  grow: copied the {base_size}-patient checkpoint, loading patients {base_size}..{size - 1}")
    port = free_port()
    with server(f"sqlite:///{db}", port):
        load = asyncio.run(_load(port, state, seed, size, concurrency))
    state["loads"] = [*state["loads"], load]
    state.pop("reused", None)
    meta.write_text(json.dumps(state))
    state["reused"] = False
    return state
