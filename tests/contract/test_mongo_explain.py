"""A real MongoDB's ``explain()`` for the hot searches: each is an index scan of the planned
index, never a collection scan, and sorted pages need no in-memory sort.

Runs only when ``FHIR_TEST_MONGODB_URI`` names a real server (mongomock has no planner);
``tests/unit/storage/test_mongo_index_plan.py`` checks the same shapes against the plan
statically in CI.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from fhir_server.search.extract import Extractor
from fhir_server.search.parser import parse_search
from fhir_server.search.registry import SearchRegistry
from fhir_server.storage.protocol import WriteOp

URI = os.environ.get("FHIR_TEST_MONGODB_URI")
pytestmark = pytest.mark.skipif(not URI, reason="needs a real MongoDB (FHIR_TEST_MONGODB_URI)")
REGISTRY = SearchRegistry.from_definitions()
EXTRACTOR = Extractor(REGISTRY, "http://example.org/fhir")


def _resources() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for n in range(200):
        out.append(
            {"resourceType": "Patient", "id": f"p{n}", "identifier": [{"system": "urn:nin", "value": str(n)}]}
        )
        out.append(
            {
                "resourceType": "Coverage",
                "id": f"cov{n}",
                "status": "active" if n % 3 else "cancelled",
                "beneficiary": {"reference": f"Patient/p{n}"},
                "payor": [{"reference": "Organization/ins"}],
            }
        )
        out.append(
            {
                "resourceType": "Claim",
                "id": f"c{n}",
                "status": "active",
                "type": {"coding": [{"code": "oral"}]},
                "use": "claim",
                "patient": {"reference": f"Patient/p{n % 50}"},
                "created": f"2025-{1 + n % 12:02d}-{1 + n % 28:02d}",
                "provider": {"reference": "Organization/h1"},
                "priority": {"coding": [{"code": "normal"}]},
                "insurance": [{"sequence": 1, "focal": True, "coverage": {"reference": f"Coverage/cov{n}"}}],
            }
        )
    return out


@pytest.fixture(scope="module")
async def store() -> AsyncIterator[Any]:
    from fhir_server.storage.mongo.store import MongoStore

    assert URI is not None
    s = MongoStore(URI, database=f"fhir_explain_{uuid.uuid4().hex[:8]}", drop_on_close=True)
    await s.start()
    async with s.transaction() as tx:
        for r in _resources():
            await tx.write(
                WriteOp(
                    r["resourceType"],
                    r["id"],
                    1,
                    0,
                    "2025-06-01T00:00:00Z",
                    1_748_736_000_000_000,
                    json.dumps(r).encode(),
                    EXTRACTOR.extract(r),
                )
            )
    yield s
    await s.close()


def _stages(plan: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    stack = [plan]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if "stage" in node:
                out.append(node)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return out


async def winning(store: Any, rtype: str, params: list[tuple[str, str]]) -> list[dict[str, Any]]:
    plan = await store.explain(parse_search((rtype,), params, REGISTRY, strict=True))
    assert "winningPlan" in plan, plan
    return _stages(json.loads(plan["winningPlan"]))


@pytest.mark.parametrize(
    ("rtype", "params", "indexes"),
    [
        ("Patient", [("identifier", "urn:nin|7")], {"tok_code"}),
        ("Coverage", [("beneficiary", "Patient/p7"), ("status", "active")], {"ref_target", "tok_code"}),
        ("Claim", [("patient", "Patient/p7"), ("created", "ge2025-03-01")], {"ref_target", "dt_range"}),
        ("Claim", [("_lastUpdated", "ge2025-05-01")], {"type_lastupdated"}),
        ("Claim", [("_sort", "-created")], {"sort_created_desc"}),
        ("Claim", [("_sort", "created")], {"sort_created_asc"}),
    ],
)
async def test_hot_searches_scan_the_planned_index(
    store: Any, rtype: str, params: list[tuple[str, str]], indexes: set[str]
) -> None:
    stages = await winning(store, rtype, params)
    names = {s.get("indexName") for s in stages if s["stage"] == "IXSCAN"}
    assert names & indexes, stages
    assert not [s for s in stages if s["stage"] == "COLLSCAN"], stages
    if any(k == "_sort" for k, _ in params):
        assert not [s for s in stages if s["stage"] == "SORT"], stages
