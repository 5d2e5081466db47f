"""The reference matcher (search/matcher.py): semantics every backend must reproduce."""

from __future__ import annotations

from collections.abc import Callable

from fhir_server.search.index import DateEntry, IndexEntries, ReferenceEntry, StringEntry, TokenEntry
from fhir_server.search.ir import SearchQuery
from fhir_server.search.matcher import Record, matches, search, sort_records
from fhir_server.search.types.date import date_range

from .conftest import NOW

Parse = Callable[..., SearchQuery]


def rec(rtype: str, rid: str, lu: int = 0, **entries: list) -> Record:  # type: ignore[type-arg]
    return (rtype, rid, lu, {k.replace("__", "-").replace("_colon_", ":"): v for k, v in entries.items()})


def s(v: str) -> StringEntry:
    return StringEntry(v.lower(), v)


def d(text: str) -> DateEntry:
    return DateEntry(*date_range(text))


PATIENTS = [
    rec("Patient", "p1", 3, family=[s("Smith")], gender=[TokenEntry("urn:g", "male")], birthdate=[d("1970")]),
    rec("Patient", "p2", 2, family=[s("smythe"), s("Adams")], gender=[TokenEntry("urn:g", "female")]),
    rec(
        "Patient",
        "p3",
        1,
        birthdate=[d("1980-05-01")],
        organization=[ReferenceEntry("Organization/o1", "Organization")],
    ),
    rec("Organization", "o1", 1, name=[s("Acme")]),
]


def ids(parse: Parse, query: str, corpus: list[Record] = PATIENTS, rtype: str = "Patient") -> list[str]:
    return [i for _, i in search(parse(rtype, query), corpus, now_us=NOW)]


def test_and_or(parse: Parse) -> None:
    assert ids(parse, "family=sm") == ["p1", "p2"]
    assert ids(parse, "family=sm&gender=female") == ["p2"]
    assert ids(parse, "family=adams,smith") == ["p1", "p2"]


def test_missing(parse: Parse) -> None:
    """search.html 3.1.1.5.1 :missing: "gender:missing=true ... all patients that do not have a
    gender"; false: those that have one."""
    assert ids(parse, "gender:missing=true") == ["p3"]
    assert ids(parse, "gender:missing=false") == ["p1", "p2"]
    assert ids(parse, "birthdate:missing=true,false") == ["p1", "p2", "p3"]


def test_not_matches_resources_without_the_element(parse: Parse) -> None:
    """search.html token :not: "gender:not=male ... all patients except those with gender male,
    including those with no gender"."""
    assert ids(parse, "gender:not=male") == ["p2", "p3"]
    assert ids(parse, "gender:not=male,female") == ["p3"]


def test_id_and_last_updated(parse: Parse) -> None:
    assert ids(parse, "_id=p3,p1") == ["p1", "p3"]
    q = parse("Patient", "_lastUpdated=ge1970-01-01T00:00:00.000002Z")
    assert [i for _, i in search(q, PATIENTS, now_us=NOW)] == ["p1", "p2"]
    assert matches(q.criteria, "Patient", "x", 5, {})
    assert not matches(q, "Observation", "x", 5, {})


def test_chain_resolves(parse: Parse) -> None:
    assert ids(parse, "organization.name=acme") == ["p3"]
    assert ids(parse, "organization.name=other") == []
    assert ids(parse, "organization._id=o1") == ["p3"]
    q = parse("Patient", "organization.name=acme")
    p3 = PATIENTS[2]
    assert not matches(q, *p3, resolve=lambda ref: None)  # unresolvable: no match


def test_identifier_modifier(parse: Parse) -> None:
    corpus = [
        rec("Observation", "a", subject_colon_identifier=[TokenEntry("urn:mrn", "1")]),
        rec("Observation", "b", subject=[ReferenceEntry("Patient/1", "Patient")]),
    ]
    assert ids(parse, "subject:identifier=urn:mrn|1", corpus, "Observation") == ["a"]
    assert ids(parse, "subject:missing=true", corpus, "Observation") == ["a"]


def test_sort_missing_last_and_ties_by_id(parse: Parse) -> None:
    assert ids(parse, "_sort=birthdate") == ["p1", "p3", "p2"]
    assert ids(parse, "_sort=-birthdate") == ["p3", "p1", "p2"]
    assert ids(parse, "_sort=family") == ["p2", "p1", "p3"]  # min: adams
    assert ids(parse, "_sort=-family") == ["p2", "p1", "p3"]  # max: smythe
    assert ids(parse, "_sort=gender,-_id") == ["p2", "p1", "p3"]
    assert ids(parse, "_sort=_lastUpdated") == ["p3", "p2", "p1"]
    assert ids(parse, "_sort=-_lastUpdated") == ["p1", "p2", "p3"]
    assert ids(parse, "") == ["p1", "p2", "p3"]
    same = [rec("Patient", "b", family=[s("x")]), rec("Patient", "a", family=[s("x")])]
    assert [r[1] for r in sort_records(same, parse("Patient", "_sort=-family").sort)] == ["a", "b"]


def test_date_sort_uses_lo_ascending_and_hi_descending(parse: Parse) -> None:
    corpus = [
        rec("Encounter", "long", date=[DateEntry(*date_range("2000")[:1], date_range("2020")[1])]),
        rec("Encounter", "short", date=[d("2010")]),
    ]
    assert ids(parse, "_sort=date", corpus, "Encounter") == ["long", "short"]
    assert ids(parse, "_sort=-date", corpus, "Encounter") == ["long", "short"]


def test_system_search_types(parse: Parse) -> None:
    q = parse(("Patient", "Organization"), "_id=o1,p1")
    assert search(q, PATIENTS, now_us=NOW) == [("Organization", "o1"), ("Patient", "p1")]
    empty: IndexEntries = {}
    assert matches(parse((), "_id=x"), "Anything", "x", 0, empty)


# ---------------------------------------------------------------- over the official examples


def hits(parse: Parse, corpus: list[Record], rtype: str, query: str) -> set[str]:
    return {i for _, i in search(parse(rtype, query), corpus, now_us=NOW)}


def test_examples_patient(parse: Parse, corpus: list[Record]) -> None:
    assert "example" in hits(parse, corpus, "Patient", "family=chalmers")
    assert "example" in hits(parse, corpus, "Patient", "name=CHALMERS&given=jim")
    assert "example" in hits(parse, corpus, "Patient", "birthdate=1974-12-25&gender=male")
    assert "example" in hits(parse, corpus, "Patient", "identifier=urn:oid:1.2.36.146.595.217.0.1|12345")
    assert "example" not in hits(parse, corpus, "Patient", "gender:not=male")
    assert "example" in hits(parse, corpus, "Patient", "birthdate=lt1975&address-city=pleasant")
    assert "example" in hits(parse, corpus, "Patient", "organization=Organization/1")


def test_examples_observation(parse: Parse, corpus: list[Record]) -> None:
    assert "blood-pressure" in hits(parse, corpus, "Observation", "code=http://loinc.org|85354-9")
    assert "blood-pressure" in hits(parse, corpus, "Observation", "component-code=8480-6&date=2012-09-17")
    assert "blood-pressure" in hits(parse, corpus, "Observation", "component-value-quantity=107||mm[Hg]")
    assert "blood-pressure" in hits(parse, corpus, "Observation", "code:text=blood pressure")
    chained = hits(parse, corpus, "Observation", "subject:Patient.name=chalmers")
    direct = hits(parse, corpus, "Observation", "subject=Patient/example")
    assert "blood-pressure" in chained and chained == direct
    assert hits(parse, corpus, "Observation", "patient=example") == direct
    assert hits(parse, corpus, "Observation", "patient.gender=male&patient.family=chalmers") == direct


def test_examples_conformance_resources(parse: Parse, corpus: list[Record]) -> None:
    vs = hits(parse, corpus, "ValueSet", "url:below=http://hl7.org/fhir/ValueSet/")
    assert len(vs) > 500
    assert hits(parse, corpus, "ValueSet", "url=http://hl7.org/fhir/ValueSet/administrative-gender") == {
        "administrative-gender"
    }
    assert "administrative-gender" in hits(
        parse, corpus, "ValueSet", "url:above=http://hl7.org/fhir/ValueSet/administrative-gender/_history/1"
    )
    assert "Patient-name" in hits(parse, corpus, "SearchParameter", "base=Patient&type=string&code=name")
