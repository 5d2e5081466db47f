"""Contract: ``_contained`` / ``_containedType`` (``search/contained.py``) on every backend
return exactly what the reference semantics return, over the official R4 examples that
contain resources (Medications in MedicationRequest/Dispense/Administration, Practitioners,
Patients, Organizations, Substances in Claims, CarePlans, Observations ...) plus ordinary
resources of the same types: the same (type, id, container) keys across all pages, each
once, ``_total``; contained resources come back with their container's ``Type/id``."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from fhir_server.search import contained as contained_t
from fhir_server.search import matcher
from fhir_server.search.index import StringEntry, TokenEntry
from fhir_server.search.ir import SearchQuery
from fhir_server.search.parser import parse_search
from tests.conftest import R4_EXAMPLES, require_r4_examples

from .conftest import BACKENDS
from .differential.corpus import BASE_URL, _resources, build, current, registry
from .differential.runner import Loaded

TYPES = (
    "MedicationRequest",
    "MedicationDispense",
    "MedicationAdministration",
    "MedicationStatement",
    "Medication",
    "CarePlan",
    "Claim",
    "Observation",
    "Practitioner",
    "Organization",
    "Patient",
    "Substance",
    "Specimen",
    "ServiceRequest",
)


def _items() -> tuple:  # type: ignore[type-arg]
    if not (R4_EXAMPLES / "Bundle-searchParams.json").exists():
        return ()
    paths = sorted(p for t in TYPES for p in R4_EXAMPLES.glob(f"{t}-*.json"))
    return build(_resources(paths), every=9)


ITEMS = _items()
Key = tuple[str, str, "str | None"]


def _cases() -> list[tuple[str, tuple[tuple[str, str], ...]]]:
    """Queries on the contained resources' own values: per contained type, a few token and
    string values taken from the contained index entries, an _id, :missing, no criteria."""
    by_type: dict[str, list[tuple[str, object]]] = {}
    for it in current(ITEMS):
        for c in contained_t.contained_of(it.index):
            for code, entries in c.entries:
                for e in entries:
                    by_type.setdefault(c.type, []).append((code, e))
    out: list[tuple[str, tuple[tuple[str, str], ...]]] = []
    for rtype, pairs in sorted(by_type.items()):
        out.append((rtype, ()))
        tokens = sorted(
            {(code, e.code) for code, e in pairs if isinstance(e, TokenEntry) and e.code and ":" not in code}
        )
        strings = sorted({(code, e.norm[:4]) for code, e in pairs if isinstance(e, StringEntry) and e.norm})
        for code, value in tokens[:: max(1, len(tokens) // 4)][:4]:
            out.append((rtype, ((code, value),)))
        for code, value in strings[:2]:
            out.append((rtype, ((code, value),)))
        if tokens:
            out.append((rtype, ((tokens[0][0], ":missing"),)))
    ids = sorted({(c.type, c.id) for it in current(ITEMS) for c in contained_t.contained_of(it.index)})
    for rtype, cid in ids[:3]:
        out.append((rtype, (("_id", cid),)))
    out.append(("Medication", (("code", "nothing-has-this"),)))
    return out


def _params(base: tuple[tuple[str, str], ...]) -> list[tuple[str, str]]:
    out = []
    for k, v in base:
        if v == ":missing":
            out.append((f"{k}:missing", "false"))
        else:
            out.append((k, v))
    return out


CASES = [
    (rtype, [*_params(base), ("_contained", mode), ("_containedType", ctype)])
    for rtype, base in _cases()
    for mode in ("true", "both")
    for ctype in ("container", "contained")
]


def expected(query: SearchQuery) -> set[Key]:
    records = [it.record for it in current(ITEMS)]
    now = int(time.time() * 1_000_000)

    def match(q: SearchQuery, rec: matcher.Record) -> bool:
        return matcher.matches(q, rec[0], rec[1], rec[2], rec[3], now_us=now)

    return set(contained_t.search(query, records, match))


async def _all_pages(loaded: Loaded, query: SearchQuery) -> tuple[list[Key], int | None]:
    page = await loaded.store.search(query)
    total = page.total
    keys: list[Key] = []
    while True:
        assert len(page.items) <= query.count
        keys += [(v.resource_type, v.id, v.container) for v in page.items]
        if page.next_cursor is None:
            return keys, total
        page = await loaded.store.search(replace(query, cursor=page.next_cursor))


@pytest.fixture(scope="module", params=BACKENDS)
def loaded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loaded]:
    require_r4_examples()
    backend = Loaded.start(request.param, Path(tmp_path_factory.mktemp(f"contained-{request.param}")), ITEMS)
    try:
        yield backend
    finally:
        backend.close()


@pytest.mark.parametrize("rtype,params", CASES, ids=lambda x: str(x))
def test_contained_search_equals_the_reference(
    loaded: Loaded, rtype: str, params: list[tuple[str, str]]
) -> None:
    query = parse_search(
        (rtype,),
        [*params, ("_count", "3"), ("_total", "accurate")],
        registry(),
        strict=True,
        base_url=BASE_URL,
    )
    want = expected(query)
    got, total = loaded.loop.run_until_complete(_all_pages(loaded, query))
    assert len(got) == len(set(got)), f"{loaded.kind} serves an entry twice: {got}"
    assert set(got) == want, (sorted(set(got) - want, key=str), sorted(want - set(got), key=str))
    assert total == len(want)


def test_the_cases_find_contained_resources() -> None:
    require_r4_examples()
    found = [
        expected(parse_search((r,), p, registry(), strict=True))
        for r, p in CASES
        if ("_contained", "true") in p and ("_containedType", "contained") in p
    ]
    assert sum(1 for f in found if f) >= len(found) * 2 // 3
    assert all(k[2] is not None for f in found for k in f)


def test_ordinary_searches_do_not_see_contained_resources(loaded: Loaded) -> None:
    """Without _contained, a Medication that exists only contained is not found."""
    contained_ids = {
        c.id for it in current(ITEMS) for c in contained_t.contained_of(it.index) if c.type == "Medication"
    }
    own_ids = {it.id for it in current(ITEMS) if it.type == "Medication"}
    only_contained = sorted(contained_ids - own_ids)
    assert only_contained
    query = parse_search(("Medication",), [("_id", ",".join(only_contained))], registry(), strict=True)
    page = loaded.loop.run_until_complete(loaded.store.search(query))
    assert page.items == []
