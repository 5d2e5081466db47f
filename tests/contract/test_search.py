"""Contract: search over hand-built index entries, per parameter type, modifier and prefix
(search.html). The expectations are those of the reference matcher (``search/types/*``):
every backend must return exactly these resources.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from fhir_server.errors import TooCostlyError
from fhir_server.search.index import (
    MAX_INSTANT,
    DateEntry,
    Entry,
    NumberEntry,
    QuantityEntry,
    ReferenceEntry,
    StringEntry,
    TokenEntry,
    UriEntry,
)
from fhir_server.search.ir import (
    Chain,
    Clause,
    Criterion,
    DateValue,
    IdClause,
    LastUpdatedClause,
    MissingValue,
    NumberValue,
    ParamRef,
    ParamType,
    Prefix,
    QuantityValue,
    ReferenceValue,
    SearchQuery,
    StringValue,
    TokenValue,
    UriValue,
    Value,
)
from fhir_server.storage.protocol import Store, StoredReference

from .test_crud import T0, make_op, write

S = 1_000_000
DAY = 86_400 * S
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
UCUM = "http://unitsofmeasure.org"


def at(y: int, m: int = 1, d: int = 1) -> int:
    return (datetime(y, m, d, tzinfo=UTC) - EPOCH) // timedelta(microseconds=1)


def day(y: int, m: int, d: int) -> DateEntry:
    return DateEntry(at(y, m, d), at(y, m, d) + DAY - 1)


def year(y: int) -> tuple[int, int]:
    return at(y), at(y + 1) - 1


async def put(store: Store, rt: str, id: str, index: dict[str, list[Entry]], n: int = 0) -> None:
    await write(store, make_op(rt, id, 1, expected=0, index=dict(index), us=T0 + n * S))


async def ids(store: Store, rt: str | tuple[str, ...], *criteria: Criterion) -> set[str]:
    types = (rt,) if isinstance(rt, str) else rt
    page = await store.search(SearchQuery(types, tuple(criteria), count=1000))
    assert page.next_cursor is None
    return {v.id for v in page.items}


def clause(code: str, ptype: ParamType, *values: Value, modifier: str | None = None) -> Clause:
    return Clause(ParamRef(code, ptype), modifier, tuple(values))


# ---------------------------------------------------------------------------- dates


@pytest.fixture
async def dates(store: Store) -> Store:
    data: dict[str, list[DateEntry]] = {
        "A": [day(2020, 1, 1)],
        "B": [day(2020, 6, 15)],
        "C": [DateEntry(at(2019, 6, 1), at(2020, 7, 1) - 1)],
        "D": [day(2021, 3, 1)],
        "E": [DateEntry(at(2020, 3, 1), MAX_INSTANT)],
        "F": [day(2010, 5, 5)],
        "G": [day(2005, 1, 1), day(2030, 1, 1)],
        "N": [],
    }
    for n, (id, entries) in enumerate(data.items()):
        index: dict[str, list[Entry]] = {"other": [day(2020, 2, 2)]}
        if entries:
            index["date"] = list(entries)
        await put(store, "Encounter", id, index, n)
    return store


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [
        ("eq", "AB"),
        ("ne", "CDEFG"),
        ("gt", "DEG"),
        ("lt", "CFG"),
        ("ge", "ABDEG"),  # above intersects (gt) or the search range contains the target (eq)
        ("le", "ABCFG"),
        ("sa", "DG"),
        ("eb", "FG"),
    ],
)
async def test_date_prefixes_on_ranges(dates: Store, prefix: Prefix, expected: str) -> None:
    lo, hi = year(2020)
    assert await ids(dates, "Encounter", clause("date", "date", DateValue(prefix, lo, hi))) == set(expected)


async def test_date_ap_overlaps_the_range_widened_by_a_tenth_of_the_gap_to_now(dates: Store) -> None:
    # 2020 widened by 10 % of its distance to now (>= 2023): from mid-2019 to past 2021-03
    # (D), but far from 2010 (F) and 2005/2030 (G) for decades to come
    assert await ids(dates, "Encounter", clause("date", "date", DateValue("ap", *year(2020)))) == set("ABCDE")


async def test_date_values_are_ored_and_clauses_anded(dates: Store) -> None:
    y2010, y2021 = year(2010), year(2021)
    either = clause("date", "date", DateValue("eq", *y2010), DateValue("eq", *y2021))
    assert await ids(dates, "Encounter", either) == set("DF")
    y2020 = year(2020)
    both = (clause("date", "date", DateValue("ge", *y2020)), clause("date", "date", DateValue("le", *y2020)))
    assert await ids(dates, "Encounter", *both) == set("ABG")


async def test_date_missing(dates: Store) -> None:
    missing = clause("date", "date", MissingValue(True), modifier="missing")
    assert await ids(dates, "Encounter", missing) == {"N"}
    present = clause("date", "date", MissingValue(False), modifier="missing")
    assert await ids(dates, "Encounter", present) == set("ABCDEFG")


async def test_last_updated(dates: Store) -> None:
    # written at T0 + n seconds, n = 0 (A) .. 7 (N)
    second3 = (T0 + 3 * S, T0 + 4 * S - 1)
    assert await ids(dates, "Encounter", LastUpdatedClause((DateValue("ge", *second3),))) == set("DEFGN")
    assert await ids(dates, "Encounter", LastUpdatedClause((DateValue("lt", *second3),))) == set("ABC")
    assert await ids(dates, "Encounter", LastUpdatedClause((DateValue("eq", *second3),))) == {"D"}
    ored = LastUpdatedClause((DateValue("eq", *second3), DateValue("sa", T0 + 6 * S, T0 + 6 * S)))
    assert await ids(dates, "Encounter", ored) == {"D", "N"}
    assert await ids(dates, "Encounter", LastUpdatedClause((DateValue("ne", *second3),))) == set("ABCEFGN")


# ---------------------------------------------------------------------------- numbers


def number(v: float) -> NumberEntry:
    return NumberEntry(v, v - 0.05, v + 0.05)


@pytest.fixture
async def numbers(store: Store) -> Store:
    for id, v in (("n1", 0.5), ("n2", 100.0), ("n3", 99.7), ("n4", 120.0), ("n5", -3.0)):
        await put(store, "RiskAssessment", id, {"probability": [number(v)], "other": [number(100.0)]})
    await put(store, "RiskAssessment", "none", {"other": [number(100.0)]})
    return store


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [
        ("eq", {"n2", "n3"}),  # 100 means [99.5, 100.5)
        ("ne", {"n1", "n4", "n5"}),
        ("gt", {"n4"}),
        ("lt", {"n1", "n3", "n5"}),
        ("ge", {"n2", "n4"}),
        ("le", {"n1", "n2", "n3", "n5"}),
        ("sa", {"n4"}),  # as gt: a number has no range of its own to start after
        ("eb", {"n1", "n3", "n5"}),  # as lt
    ],
)
async def test_number_prefixes(numbers: Store, prefix: Prefix, expected: set[str]) -> None:
    value = NumberValue(prefix, 100.0, 99.5, 100.5)
    assert await ids(numbers, "RiskAssessment", clause("probability", "number", value)) == expected


async def test_number_ap_is_within_ten_percent(numbers: Store) -> None:
    value = NumberValue("ap", 100.0, 99.5, 100.5)  # [90, 110]
    assert await ids(numbers, "RiskAssessment", clause("probability", "number", value)) == {"n2", "n3"}
    value = NumberValue("ap", 0.55, 0.545, 0.555)  # [0.495, 0.605]
    assert await ids(numbers, "RiskAssessment", clause("probability", "number", value)) == {"n1"}


async def test_number_missing(numbers: Store) -> None:
    missing = clause("probability", "number", MissingValue(True), modifier="missing")
    assert await ids(numbers, "RiskAssessment", missing) == {"none"}


# ---------------------------------------------------------------------------- quantities


@pytest.fixture
async def quantities(store: Store) -> Store:
    data = {
        "q1": QuantityEntry(5.4, 5.35, 5.45, UCUM, "mg", "mg"),
        "q2": QuantityEntry(5.4, 5.35, 5.45, UCUM, "g", "g"),
        "q3": QuantityEntry(5.4, 5.35, 5.45, None, None, "mg"),
        "q4": QuantityEntry(7.0, 6.5, 7.5, UCUM, "mg", "mg"),
        "q5": QuantityEntry(5.4, 5.35, 5.45, "http://other", "mg", "milligram"),
    }
    for id, q in data.items():
        await put(store, "Observation", id, {"value-quantity": [q]})
    return store


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (QuantityValue("eq", 5.4, 5.35, 5.45, UCUM, "mg"), {"q1"}),
        (QuantityValue("eq", 5.4, 5.35, 5.45, None, "mg"), {"q1", "q3", "q5"}),  # code or unit
        (QuantityValue("eq", 5.4, 5.35, 5.45, None, None), {"q1", "q2", "q3", "q5"}),
        (QuantityValue("eq", 5.4, 5.35, 5.45, UCUM, None), {"q1", "q2"}),
        (QuantityValue("gt", 5.0, 4.5, 5.5, None, "mg"), {"q1", "q3", "q4", "q5"}),
        (QuantityValue("ne", 5.4, 5.35, 5.45, UCUM, "mg"), {"q4"}),
    ],
)
async def test_quantity(quantities: Store, value: QuantityValue, expected: set[str]) -> None:
    assert await ids(quantities, "Observation", clause("value-quantity", "quantity", value)) == expected


# ---------------------------------------------------------------------------- tokens


@pytest.fixture
async def tokens(store: Store) -> Store:
    gender = "http://hl7.org/fhir/administrative-gender"
    data: dict[str, dict[str, list[Entry]]] = {
        "t1": {
            "identifier": [TokenEntry("urn:a", "1"), TokenEntry("urn:b", "2")],
            "gender": [TokenEntry(gender, "female", "female")],
        },
        "t2": {"identifier": [TokenEntry(None, "1")], "gender": [TokenEntry(gender, "male", "male")]},
        "t3": {"identifier": [TokenEntry("urn:b", "1", "national id")]},
        "t4": {"identifier": [TokenEntry(None, None, "passport")]},
        "t5": {"other": [TokenEntry("urn:a", "1")], "gender": []},
    }
    for id, index in data.items():
        await put(store, "Patient", id, index)
    return store


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (TokenValue(None, "1"), {"t1", "t2", "t3"}),  # any system
        (TokenValue("urn:a", "1"), {"t1"}),
        (TokenValue("urn:b", "1"), {"t3"}),  # t1 has urn:b|2 and urn:a|1: one entry must match both
        (TokenValue("", "1"), {"t2"}),  # |code: no system
        (TokenValue("urn:b", None), {"t1", "t3"}),  # system|
        (TokenValue("urn:c", "1"), set()),
    ],
)
async def test_token_forms(tokens: Store, value: TokenValue, expected: set[str]) -> None:
    assert await ids(tokens, "Patient", clause("identifier", "token", value)) == expected


async def test_token_values_are_ored(tokens: Store) -> None:
    c = clause("identifier", "token", TokenValue(None, "2"), TokenValue("", "1"))
    assert await ids(tokens, "Patient", c) == {"t1", "t2"}


async def test_token_text_is_a_normalised_starts_with(tokens: Store) -> None:
    nation = clause("identifier", "token", TokenValue(None, None, "nation"), modifier="text")
    assert await ids(tokens, "Patient", nation) == {"t3"}
    passport = clause("identifier", "token", TokenValue(None, None, "pass"), modifier="text")
    assert await ids(tokens, "Patient", passport) == {"t4"}
    middle = clause("identifier", "token", TokenValue(None, None, "id"), modifier="text")
    assert await ids(tokens, "Patient", middle) == set()


async def test_token_not_matches_resources_without_a_matching_entry(tokens: Store) -> None:
    gender = "http://hl7.org/fhir/administrative-gender"
    not_female = clause("gender", "token", TokenValue(None, "female"), modifier="not")
    assert await ids(tokens, "Patient", not_female) == {"t2", "t3", "t4", "t5"}
    values = (TokenValue(gender, "female"), TokenValue(None, "male"))
    neither = clause("gender", "token", *values, modifier="not")
    assert await ids(tokens, "Patient", neither) == {"t3", "t4", "t5"}


async def test_token_missing(tokens: Store) -> None:
    missing = clause("gender", "token", MissingValue(True), modifier="missing")
    assert await ids(tokens, "Patient", missing) == {"t3", "t4", "t5"}
    present = clause("gender", "token", MissingValue(False), modifier="missing")
    assert await ids(tokens, "Patient", present) == {"t1", "t2"}


# ---------------------------------------------------------------------------- strings


@pytest.fixture
async def strings(store: Store) -> Store:
    data: dict[str, dict[str, list[Entry]]] = {
        "s1": {"name": [StringEntry("muller", "Müller"), StringEntry("anna", "Anna")]},
        "s2": {"name": [StringEntry("mullerson", "Mullerson")]},
        "s3": {"name": [StringEntry("ab\U0001f600x", "Ab\U0001f600x")]},  # beyond U+FFFF
        "s4": {"name": [StringEntry("a.b", "A.B")]},
        "s5": {"name": [StringEntry("axb", "AXB")]},
        "s6": {"family": [StringEntry("muller", "Muller")]},
    }
    for id, index in data.items():
        await put(store, "Patient", id, index)
    return store


@pytest.mark.parametrize(
    ("modifier", "values", "expected"),
    [
        (None, ["mul"], {"s1", "s2"}),
        (None, ["muller"], {"s1", "s2"}),
        (None, ["mullers"], {"s2"}),
        (None, ["ab"], {"s3"}),
        (None, ["ab\U0001f600"], {"s3"}),
        (None, ["a"], {"s1", "s3", "s4", "s5"}),
        (None, ["uller"], set()),  # starts-with, not contains
        (None, ["mullers", "anna"], {"s1", "s2"}),
        ("contains", ["ll"], {"s1", "s2"}),
        ("contains", ["."], {"s4"}),  # no regular-expression meaning
        ("contains", ["x"], {"s3", "s5"}),
        ("contains", ["\U0001f600"], {"s3"}),
    ],
)
async def test_string_default_and_contains(
    strings: Store, modifier: str | None, values: list[str], expected: set[str]
) -> None:
    c = clause("name", "string", *(StringValue(v, v) for v in values), modifier=modifier)
    assert await ids(strings, "Patient", c) == expected


async def test_string_exact_compares_the_raw_value(strings: Store) -> None:
    exact = clause("name", "string", StringValue("muller", "Müller"), modifier="exact")
    assert await ids(strings, "Patient", exact) == {"s1"}
    folded = clause("name", "string", StringValue("muller", "muller"), modifier="exact")
    assert await ids(strings, "Patient", folded) == set()
    prefix = clause("name", "string", StringValue("mull", "Mull"), modifier="exact")
    assert await ids(strings, "Patient", prefix) == set()


async def test_string_missing(strings: Store) -> None:
    missing = clause("name", "string", MissingValue(True), modifier="missing")
    assert await ids(strings, "Patient", missing) == {"s6"}


# ---------------------------------------------------------------------------- references


@pytest.fixture
async def references(store: Store) -> Store:
    await put(store, "Patient", "p1", {"name": [StringEntry("muller", "Müller")]})
    await put(store, "Patient", "p2", {"name": [StringEntry("anna", "Anna")]})
    data: dict[str, dict[str, list[Entry]]] = {
        "r1": {"subject": [ReferenceEntry("Patient/p1", "Patient")]},
        "r2": {"subject": [ReferenceEntry("Patient/p1", "Patient", "2")]},
        "r3": {"subject": [ReferenceEntry("Group/p1", "Group")]},
        "r4": {"subject": [ReferenceEntry("http://other.org/fhir/Patient/p1", "Patient")]},
        "r5": {
            "subject": [ReferenceEntry("Patient/p2", "Patient")],
            "subject:identifier": [TokenEntry("urn:mrn", "555")],
        },
        "r6": {"performer": [ReferenceEntry("Patient/p1", "Patient")]},
    }
    for id, index in data.items():
        await put(store, "Observation", id, index)
    return store


SUBJECT = ParamRef("subject", "reference", ("Patient", "Group"))


@pytest.mark.parametrize(
    ("modifier", "value", "expected"),
    [
        (None, ReferenceValue("Patient/p1", "Patient"), {"r1", "r2"}),
        (None, ReferenceValue("Patient/p1", "Patient", None, "2"), {"r2"}),
        (None, ReferenceValue(None, None, "p1"), {"r1", "r2", "r3"}),  # local references only
        ("type", ReferenceValue("Group/p1", "Group"), {"r3"}),
        ("type", ReferenceValue(None, "Group", "p1"), {"r3"}),
        ("type", ReferenceValue(None, "Group"), {"r3"}),
        (None, ReferenceValue("http://other.org/fhir/Patient/p1", "Patient"), {"r4"}),
        (None, ReferenceValue("Patient/p3", "Patient"), set()),
    ],
)
async def test_reference_forms(
    references: Store, modifier: str | None, value: ReferenceValue, expected: set[str]
) -> None:
    assert await ids(references, "Observation", Clause(SUBJECT, modifier, (value,))) == expected


async def test_reference_identifier_uses_token_semantics(references: Store) -> None:
    c = Clause(SUBJECT, "identifier", (TokenValue("urn:mrn", "555"),))
    assert await ids(references, "Observation", c) == {"r5"}
    c = Clause(SUBJECT, "identifier", (TokenValue(None, "555"),))
    assert await ids(references, "Observation", c) == {"r5"}


async def test_reference_missing(references: Store) -> None:
    assert await ids(references, "Observation", Clause(SUBJECT, "missing", (MissingValue(True),))) == {"r6"}


async def test_chained_reference(references: Store) -> None:
    def chained(name: str) -> Clause:
        inner = Clause(ParamRef("name", "string"), None, (StringValue(name, name),))
        return Clause(SUBJECT, None, (), Chain("Patient", inner))

    assert await ids(references, "Observation", chained("mul")) == {"r1", "r2"}
    assert await ids(references, "Observation", chained("anna")) == {"r5"}
    assert await ids(references, "Observation", chained("zzz")) == set()


async def test_chained_search_is_capped(references: Store) -> None:
    if not hasattr(references, "chain_limit"):
        pytest.skip(f"{references.name}: no chain_limit setting")
    references.chain_limit = 1
    inner = Clause(ParamRef("name", "string"), None, (StringValue("", ""),))
    with pytest.raises(TooCostlyError):
        await ids(references, "Observation", Clause(SUBJECT, None, (), Chain("Patient", inner)))


async def test_reverse_references(references: Store) -> None:
    found = await references.reverse_references("Observation", "subject", ["Patient/p1"], 10)
    assert {v.id for v in found} == {"r1", "r2"}
    found = await references.reverse_references("Observation", None, ["Patient/p1", "Group/p1"], 10)
    assert {v.id for v in found} == {"r1", "r2", "r3", "r6"}
    assert len(await references.reverse_references("Observation", None, ["Patient/p1"], 2)) == 2
    assert await references.reverse_references("Patient", "subject", ["Patient/p1"], 10) == []


async def test_reverse_references_from_any_source_type(references: Store) -> None:
    """search.html#include: ``_revinclude=*`` asks for every resource (any type, any reference
    parameter) that refers to the matches: the store takes ``"*"`` as the source type."""
    await put(references, "Encounter", "e1", {"subject": [ReferenceEntry("Patient/p1", "Patient")]})
    await put(references, "Encounter", "e2", {"subject": [ReferenceEntry("Patient/p2", "Patient")]})
    found = await references.reverse_references("*", None, ["Patient/p1"], 10)
    assert sorted((v.resource_type, v.id) for v in found) == [
        ("Encounter", "e1"),
        ("Observation", "r1"),
        ("Observation", "r2"),
        ("Observation", "r6"),
    ]
    assert len(await references.reverse_references("*", None, ["Patient/p1"], 3)) == 3
    assert await references.reverse_references("*", None, ["Patient/none"], 10) == []


async def test_references_of_gives_the_indexed_reference_entries(references: Store) -> None:
    """search.html#include: ``_include`` follows what the reference parameters index."""
    found = await references.references_of([("Observation", "r1"), ("Observation", "r6")], None)
    assert sorted(found) == [
        StoredReference("Observation", "r1", "subject", "Patient/p1", "Patient"),
        StoredReference("Observation", "r6", "performer", "Patient/p1", "Patient"),
    ]
    found = await references.references_of([("Observation", "r1"), ("Observation", "r6")], ["performer"])
    assert [(r.id, r.param) for r in found] == [("r6", "performer")]
    other = await references.references_of([("Observation", "r4"), ("Observation", "zz")], ["subject"])
    assert other == [
        StoredReference("Observation", "r4", "subject", "http://other.org/fhir/Patient/p1", "Patient")
    ]
    assert await references.references_of([("Patient", "p1")], None) == []
    assert await references.references_of([], None) == []
    assert await references.references_of([("Observation", "r1")], []) == []
    await write(references, make_op("Observation", "r1", 2, expected=1, method="DELETE"))
    assert await references.references_of([("Observation", "r1")], None) == []


# ---------------------------------------------------------------------------- uris, ids, types


@pytest.fixture
async def uris(store: Store) -> Store:
    for id, url in (
        ("u1", "http://acme.org/fhir/ValueSet/123"),
        ("u2", "http://acme.org/fhir/ValueSet/124"),
        ("u3", "http://acme.org/other"),
        ("u4", "http://acme.org/fhir/"),
    ):
        await put(store, "ValueSet", id, {"url": [UriEntry(url)]})
    return store


@pytest.mark.parametrize(
    ("modifier", "value", "expected"),
    [
        (None, "http://acme.org/fhir/ValueSet/123", {"u1"}),
        (None, "http://acme.org/fhir/ValueSet/12", set()),
        ("below", "http://acme.org/fhir/", {"u1", "u2", "u4"}),
        ("above", "http://acme.org/fhir/ValueSet/123/_history/5", {"u1", "u4"}),
    ],
)
async def test_uri(uris: Store, modifier: str | None, value: str, expected: set[str]) -> None:
    c = clause("url", "uri", UriValue(value), modifier=modifier)
    assert await ids(uris, "ValueSet", c) == expected


async def test_id_clause_and_system_search(store: Store) -> None:
    for rt, id in (("Patient", "a"), ("Patient", "b"), ("Patient", "c"), ("Group", "a")):
        await put(store, rt, id, {})
    assert await ids(store, "Patient", IdClause(("a", "c", "zz"))) == {"a", "c"}
    assert await ids(store, "Patient", IdClause(("a",), negate=True)) == {"b", "c"}
    page = await store.search(SearchQuery(("Patient", "Group"), (IdClause(("a",)),)))
    assert sorted((v.resource_type, v.id) for v in page.items) == [("Group", "a"), ("Patient", "a")]
    everything = await store.search(SearchQuery((), (IdClause(("a", "b")),)))  # no types: any type
    assert sorted((v.resource_type, v.id) for v in everything.items) == [
        ("Group", "a"),
        ("Patient", "a"),
        ("Patient", "b"),
    ]


async def test_deleted_resources_are_not_found_and_updates_replace_entries(store: Store) -> None:
    await write(store, make_op("Patient", "p", 1, expected=0, index={"name": [StringEntry("old", "Old")]}))
    await write(store, make_op("Patient", "p", 2, expected=1, index={"name": [StringEntry("new", "New")]}))
    old, new = (clause("name", "string", StringValue(v, v)) for v in ("old", "new"))
    assert await ids(store, "Patient", old) == set()
    assert await ids(store, "Patient", new) == {"p"}
    await write(store, make_op("Patient", "p", 3, expected=2, method="DELETE"))
    assert await ids(store, "Patient", new) == set()
    assert await ids(store, "Patient") == set()
    assert await store.reverse_references("Patient", None, ["x"], 5) == []
    await write(store, make_op("Patient", "p", 4, expected=3, index={"name": [StringEntry("new", "New")]}))
    assert await ids(store, "Patient", new) == {"p"}
