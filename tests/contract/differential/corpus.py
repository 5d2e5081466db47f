"""The corpus: ``examples/`` plus a deterministic sample of the official R4 examples,
as WriteOps (built like ``interactions/resources.py``: ``stamp`` for the body, the
extractor's index) and as the reference matcher's records."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

from fhir_server import clock, fhirjson
from fhir_server.interactions.resources import stamp
from fhir_server.search.extract import Extractor
from fhir_server.search.index import IndexEntries
from fhir_server.search.matcher import Record
from fhir_server.search.registry import SearchRegistry
from fhir_server.storage.protocol import WriteOp
from tests.conftest import EXAMPLES, R4_EXAMPLES

BASE_URL = "https://imis.example.org/fhir"
# the official examples sampled: every example of these types (the last four bring number
# parameters, canonical URLs and price items)
R4_TYPES = (
    "Patient",
    "Observation",
    "Coverage",
    "Claim",
    "ClaimResponse",
    "Organization",
    "Practitioner",
    "Encounter",
    "Condition",
    "RiskAssessment",
    "MolecularSequence",
    "ChargeItem",
    "ActivityDefinition",
)
# deleted after being written (and every 13th resource): referenced by a Claim and a Patient
DELETED = frozenset({("Organization", "hf-umbwe-dispensary")})
T0 = 1_704_067_200_000_000  # 2024-01-01T00:00:00Z
STEP = (7 * 3600 + 13 * 60 + 7) * 1_000_000  # resources are written 7h13m07s apart


@dataclass(frozen=True)
class Item:
    type: str
    id: str
    last_updated_us: int
    index: IndexEntries
    op: WriteOp
    resource: dict[str, Any] = field(compare=False, repr=False)
    deleted: bool = False  # written, then deleted: its values must match nothing

    @property
    def record(self) -> Record:
        return (self.type, self.id, self.last_updated_us, self.index)


def r4_files() -> list[Path]:
    return sorted(p for t in R4_TYPES for p in R4_EXAMPLES.glob(f"{t}-*.json"))


def example_files() -> list[Path]:
    return sorted(EXAMPLES.glob("*.json"))


def official_available() -> bool:
    return (R4_EXAMPLES / "Bundle-searchParams.json").exists()


@cache
def registry() -> SearchRegistry:
    return SearchRegistry.from_definitions()


def _resources(paths: list[Path]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for path in paths:
        res = fhirjson.loads(path.read_bytes())
        if not isinstance(res, dict) or not isinstance(res.get("id"), str):
            continue
        key = (res["resourceType"], res["id"])
        if key not in seen:
            seen.add(key)
            out.append(res)
    return out


@cache
def corpus(with_official: bool) -> tuple[Item, ...]:
    """Our examples, then (when present) the official sample."""
    paths = example_files() + (r4_files() if with_official else [])
    return build(_resources(paths), DELETED)


def build(
    resources: Iterable[dict[str, Any]],
    deleted: frozenset[tuple[str, str]] = frozenset(),
    every: int = 13,
) -> tuple[Item, ...]:
    """Items for ``resources``: ``lastUpdated`` advances by ``STEP`` per resource from
    ``T0``; those in ``deleted`` and every ``every``-th (0: none) are written, then
    deleted."""
    extractor = Extractor(registry(), BASE_URL)
    items: list[Item] = []
    for n, res in enumerate(resources):
        us = T0 + n * STEP
        rtype, rid = res["resourceType"], res["id"]
        index = extractor.extract(res)
        last_updated = clock.instant(us)
        op = WriteOp(rtype, rid, 1, 0, last_updated, us, stamp(res, rid, 1, last_updated), index, "POST")
        gone = (every > 0 and n % every == every // 2) or (rtype, rid) in deleted
        items.append(Item(rtype, rid, us, index, op, res, gone))
    return tuple(items)


def current(items: tuple[Item, ...]) -> list[Item]:
    return [it for it in items if not it.deleted]


def writes(items: tuple[Item, ...]) -> list[WriteOp]:
    """The writes that leave exactly the non-deleted ``items`` current, with history the
    backends must ignore: every 7th item is first written with the content (and index) of
    the previous item of its type and then updated to its own (version 2); every 11th also
    has a copy ``<id>-gone`` (same index) that is written and then deleted; deleted items
    are written, then deleted."""
    ops: list[WriteOp] = []
    previous: dict[str, Item] = {}
    for n, it in enumerate(items):
        us = it.last_updated_us
        other = previous.get(it.type)
        previous[it.type] = it
        if n % 11 == 5:
            gone = f"{it.id}-gone"
            lu = clock.instant(us - 2000)
            body = stamp(it.resource, gone, 1, lu)
            ops.append(WriteOp(it.type, gone, 1, 0, lu, us - 2000, body, it.index, "POST"))
            ops.append(WriteOp(it.type, gone, 2, 1, clock.instant(us - 1000), us - 1000, b"", {}, "DELETE"))
        if n % 7 == 3 and other is not None:
            lu = clock.instant(us - 1000)
            body = stamp(other.resource, it.id, 1, lu)
            ops.append(WriteOp(it.type, it.id, 1, 0, lu, us - 1000, body, other.index, "POST"))
            body = stamp(it.resource, it.id, 2, it.op.last_updated)
            ops.append(replace(it.op, version=2, expected_version=1, body=body, method="PUT"))
        else:
            ops.append(it.op)
        if it.deleted:
            last = ops[-1]
            lu = clock.instant(us + 1000)
            ops.append(
                WriteOp(it.type, it.id, last.version + 1, last.version, lu, us + 1000, b"", {}, "DELETE")
            )
    return ops
