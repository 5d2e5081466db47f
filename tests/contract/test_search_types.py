"""Contract: ``:of-type`` on Identifier tokens and composite parameters, end to end: the
resources are indexed by the real extractor, the queries parsed from query strings, and
every backend must return what the test states and what the reference matcher returns.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import pytest

from fhir_server.errors import InvalidError
from fhir_server.search import matcher
from fhir_server.search.extract import Extractor
from fhir_server.search.index import IndexEntries
from fhir_server.search.parser import parse_search
from fhir_server.search.registry import SearchRegistry
from fhir_server.storage.protocol import Store

from .test_crud import T0, make_op, write

REGISTRY = SearchRegistry.from_definitions()
EXTRACTOR = Extractor(REGISTRY)
V2 = "http://terminology.hl7.org/CodeSystem/v2-0203"


def ident(value: str, type_code: str | None = None, system: str = "urn:mrn") -> dict[str, Any]:
    out: dict[str, Any] = {"system": system, "value": value}
    if type_code is not None:
        out["type"] = {"coding": [{"system": V2, "code": type_code}], "text": type_code}
    return out


PATIENTS: list[dict[str, Any]] = [
    {"resourceType": "Patient", "id": "p1", "identifier": [ident("446053", "MR")]},
    {"resourceType": "Patient", "id": "p2", "identifier": [ident("446053", "SS"), ident("9", "MR")]},
    {"resourceType": "Patient", "id": "p3", "identifier": [ident("446053")]},
    {"resourceType": "Patient", "id": "p4", "identifier": [ident("a|b,c", "MR")]},
]


async def load(store: Store, resources: list[dict[str, Any]]) -> list[matcher.Record]:
    records: list[matcher.Record] = []
    for n, res in enumerate(resources):
        index: IndexEntries = EXTRACTOR.extract(res)
        await write(store, make_op(res["resourceType"], res["id"], 1, expected=0, index=index, us=T0 + n))
        records.append((res["resourceType"], res["id"], T0 + n, index))
    return records


async def search(
    store: Store, records: list[matcher.Record], rtype: str, *params: tuple[str, str]
) -> set[str]:
    query = parse_search((rtype,), params, REGISTRY, strict=True)
    page = await store.search(replace(query, count=1000))
    got = {v.id for v in page.items}
    expected = {i for _, i in matcher.search(query, records, now_us=int(time.time() * 1e6))}
    assert got == expected, (params, got, expected)
    return got


@pytest.fixture
async def patients(store: Store) -> tuple[Store, list[matcher.Record]]:
    return store, await load(store, PATIENTS)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (f"{V2}|MR|446053", {"p1"}),  # the spec example
        (f"{V2}|SS|446053", {"p2"}),
        (f"{V2}|MR|9", {"p2"}),
        (f"{V2}|MR|446053,{V2}|MR|9", {"p1", "p2"}),
        (f"{V2}|MR|a\\|b\\,c", {"p4"}),  # escaped | and , in the value
        (f"{V2}|PPN|446053", set()),
        ("http://other|MR|446053", set()),
    ],
)
async def test_of_type(patients: tuple[Store, list[matcher.Record]], value: str, expected: set[str]) -> None:
    store, records = patients
    assert await search(store, records, "Patient", ("identifier:of-type", value)) == expected


async def test_of_type_does_not_change_plain_identifier_search(
    patients: tuple[Store, list[matcher.Record]],
) -> None:
    store, records = patients
    assert await search(store, records, "Patient", ("identifier", "urn:mrn|446053")) == {"p1", "p2", "p3"}
    assert await search(store, records, "Patient", ("identifier:missing", "false")) == {
        "p1",
        "p2",
        "p3",
        "p4",
    }


@pytest.mark.parametrize("value", ["MR|446053", f"{V2}||446053", f"{V2}|MR|", "446053"])
def test_of_type_needs_all_three_parts(value: str) -> None:
    with pytest.raises(InvalidError):
        parse_search(("Patient",), [("identifier:of-type", value)], REGISTRY)
