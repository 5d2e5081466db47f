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


# ---------------------------------------------------------------------------- composites

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"


def concept(code: str, system: str = LOINC) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code}]}


def qty(value: float, code: str = "mm[Hg]") -> dict[str, Any]:
    return {"value": value, "system": UCUM, "code": code, "unit": code}


def obs(id: str, code: str, **rest: Any) -> dict[str, Any]:
    return {"resourceType": "Observation", "id": id, "status": "final", "code": concept(code), **rest}


OBSERVATIONS: list[dict[str, Any]] = [
    obs("sys50", "8480-6", valueQuantity=qty(50)),
    obs("sys107", "8480-6", valueQuantity=qty(107)),
    obs("dia50", "8462-4", valueQuantity=qty(50)),
    obs(
        "bp",  # systolic 107 and diastolic 50 in components
        "85354-9",
        component=[
            {"code": concept("8480-6"), "valueQuantity": qty(107)},
            {"code": concept("8462-4"), "valueQuantity": qty(50)},
        ],
    ),
    obs("concept", "8480-6", valueCodeableConcept=concept("260385009", "http://snomed.info/sct")),
    obs("dated", "8480-6", valueDateTime="2021-03-04"),
    obs("text", "8480-6", valueString="Dollar $ sign, here"),
    obs("none", "8480-6"),
]


@pytest.fixture
async def observations(store: Store) -> tuple[Store, list[matcher.Record]]:
    return store, await load(store, OBSERVATIONS)


@pytest.mark.parametrize(
    ("param", "value", "expected"),
    [
        # search.html's example shape: systolic below 60
        ("code-value-quantity", f"{LOINC}|8480-6$lt60", {"sys50"}),
        ("code-value-quantity", f"8480-6$lt60|{UCUM}|mm[Hg]", {"sys50"}),
        ("code-value-quantity", "8480-6$gt60", {"sys107"}),
        ("code-value-quantity", "8480-6$lt60,8462-4$lt60", {"sys50", "dia50"}),
        ("code-value-quantity", "8480-6$60", set()),
        # the components must match within the same Observation.component
        ("component-code-value-quantity", f"{LOINC}|8480-6$lt60", set()),
        ("component-code-value-quantity", f"{LOINC}|8480-6$gt100", {"bp"}),
        ("component-code-value-quantity", "8462-4$50", {"bp"}),
        ("combo-code-value-quantity", "8480-6$gt100", {"bp", "sys107"}),
        ("combo-code-value-quantity", "8462-4$le50", {"bp", "dia50"}),
        ("code-value-concept", "8480-6$http://snomed.info/sct|260385009", {"concept"}),
        ("code-value-concept", "8462-4$260385009", set()),
        ("code-value-date", "8480-6$2021", {"dated"}),
        ("code-value-date", "8480-6$gt2021-03-04", set()),
        ("code-value-date", "8480-6$ge2021-03", {"dated"}),
        ("code-value-string", "8480-6$dollar \\$ sign\\, h", {"text"}),  # escaped $ and ,
        ("code-value-string", "8480-6$sign", set()),
    ],
)
async def test_composite(
    observations: tuple[Store, list[matcher.Record]], param: str, value: str, expected: set[str]
) -> None:
    store, records = observations
    assert await search(store, records, "Observation", (param, value)) == expected


async def test_composite_missing(observations: tuple[Store, list[matcher.Record]]) -> None:
    store, records = observations
    assert await search(store, records, "Observation", ("code-value-quantity:missing", "true")) == {
        "bp",
        "concept",
        "dated",
        "text",
        "none",
    }
    found = await search(store, records, "Observation", ("component-code-value-quantity:missing", "false"))
    assert found == {"bp"}


@pytest.mark.parametrize("value", ["8480-6", "8480-6$lt60$1", "8480-6$xx60", "8480-6$2021-13"])
def test_composite_bad_values_are_refused(value: str) -> None:
    with pytest.raises(InvalidError):
        parse_search(("Observation",), [("code-value-quantity", value)], REGISTRY)
    with pytest.raises(InvalidError):
        parse_search(("Observation",), [("code-value-date", value.replace("lt60", "2021"))], REGISTRY)


def test_unsupported_composite_is_ignored_or_refused() -> None:
    params = [("relationship", "DocumentReference/1$replaces")]  # reference$token
    lenient = parse_search(("DocumentReference",), params, REGISTRY)
    assert lenient.criteria == () and lenient.ignored == ("relationship",)
    with pytest.raises(InvalidError, match="not supported"):
        parse_search(("DocumentReference",), params, REGISTRY, strict=True)
    coords = [("chromosome-window-coordinate", "1$lt44$gt22")]  # three components
    assert parse_search(("MolecularSequence",), coords, REGISTRY).ignored == ("chromosome-window-coordinate",)


# ---------------------------------------------------------------------------- UCUM


def ucum_obs(id: str, value: float, code: str) -> dict[str, Any]:
    return obs(id, "2345-7", valueQuantity={"value": value, "system": UCUM, "code": code, "unit": code})


UCUM_OBSERVATIONS: list[dict[str, Any]] = [
    ucum_obs("mg", 5.4, "mg"),
    ucum_obs("ug", 5400, "ug"),
    ucum_obs("g", 0.0054, "g"),
    ucum_obs("mg6", 6, "mg"),
    ucum_obs("cel", 37, "Cel"),
    ucum_obs("degf", 98.6, "[degF]"),
    ucum_obs("iu", 1, "[IU]"),
    ucum_obs("pct", 100, "%"),
    obs("plain", "2345-7", valueQuantity={"value": 5.4, "unit": "mg"}),
]


@pytest.fixture
async def ucum_observations(store: Store) -> tuple[Store, list[matcher.Record]]:
    pytest.importorskip("ucumvert")
    return store, await load(store, UCUM_OBSERVATIONS)


@pytest.mark.parametrize(
    ("param", "value", "expected"),
    [
        ("value-quantity", f"5.4|{UCUM}|mg", {"mg", "ug", "g"}),  # the spec example, across units
        ("value-quantity", f"5400|{UCUM}|ug", {"mg", "ug", "g"}),
        ("value-quantity", f"gt5|{UCUM}|mg", {"mg", "ug", "g", "mg6"}),
        ("value-quantity", f"lt0.0055|{UCUM}|g", {"mg", "ug", "g"}),
        ("value-quantity", f"37|{UCUM}|Cel", {"cel", "degf"}),
        ("value-quantity", f"1|{UCUM}|[IU]", {"iu"}),  # arbitrary units: as written
        ("value-quantity", f"1|{UCUM}|1", set()),  # never the same as % or [IU]
        ("value-quantity", "5.4||mg", {"mg", "plain"}),  # no system: the code as written
        ("value-quantity", f"5.4|{UCUM}|mL", set()),  # another dimension
        ("code-value-quantity", f"2345-7$5400|{UCUM}|ug", {"mg", "ug", "g"}),
    ],
)
async def test_ucum_canonical_quantities(
    ucum_observations: tuple[Store, list[matcher.Record]], param: str, value: str, expected: set[str]
) -> None:
    store, records = ucum_observations
    assert await search(store, records, "Observation", (param, value)) == expected
