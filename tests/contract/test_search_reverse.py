"""Contract: reverse chaining (``_has``, search.html#has), multi-level chains
(search.html#chaining), compartment membership (compartmentdefinition.html) and the cap
on inner searches, on every backend. Each query is parsed from its query string, and every
backend must return exactly what the reference matcher returns over the same records, and
what the test states.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import pytest

from fhir_server.errors import FhirError, InvalidError, TooCostlyError
from fhir_server.search import matcher
from fhir_server.search.index import Entry, ReferenceEntry, StringEntry, TokenEntry
from fhir_server.search.ir import CompartmentClause, SearchQuery
from fhir_server.search.parser import parse_search
from fhir_server.search.registry import SearchRegistry
from fhir_server.storage.protocol import Store

from .test_crud import T0, make_op, write
from .test_search import day

LOINC = "http://loinc.org"
REGISTRY = SearchRegistry.from_definitions()


def ref(target: str) -> ReferenceEntry:
    return ReferenceEntry(target, target.partition("/")[0])


def name(value: str) -> StringEntry:
    return StringEntry(value.lower(), value)


def code(value: str, system: str = LOINC) -> TokenEntry:
    return TokenEntry(system, value)


Index = dict[str, list[Entry]]
# (type, id, index); the resources the tests search
RESOURCES: list[tuple[str, str, Index]] = [
    ("Organization", "o1", {"name": [name("Acme")]}),
    ("Organization", "o2", {"name": [name("Beta")]}),
    ("Patient", "p1", {"name": [name("Mul")], "organization": [ref("Organization/o1")]}),
    ("Patient", "p2", {"name": [name("Anna")], "organization": [ref("Organization/o2")]}),
    ("Patient", "p3", {"name": [name("Zoe")]}),
    (
        "Observation",
        "ob1",
        {
            "patient": [ref("Patient/p1")],
            "subject": [ref("Patient/p1")],
            "code": [code("1234-5")],
            "date": [day(2020, 5, 1)],
        },
    ),
    (
        "Observation",
        "ob2",
        {
            "patient": [ref("Patient/p2")],
            "subject": [ref("Patient/p2")],
            "code": [code("999")],
            "date": [day(2021, 5, 1)],
        },
    ),
    (
        "Observation",
        "ob3",
        {"patient": [ref("Patient/p1")], "subject": [ref("Patient/p1")], "code": [code("999")]},
    ),
    ("Observation", "ob4", {"subject": [ref("Group/p2")], "code": [code("1234-5")]}),  # a Group, not p2
    ("AuditEvent", "a1", {"entity": [ref("Observation/ob1")], "agent": [ref("Practitioner/MyUserId")]}),
    ("AuditEvent", "a2", {"entity": [ref("Observation/ob2")], "agent": [ref("Practitioner/other")]}),
    ("Claim", "c1", {"patient": [ref("Patient/p1")]}),
    ("Claim", "c2", {"patient": [ref("Patient/p2")], "payee": [ref("Patient/p1")]}),
    ("Claim", "c3", {"patient": [ref("Patient/p2")]}),
    ("Coverage", "cv1", {"beneficiary": [ref("Patient/p1")]}),
    ("Encounter", "e1", {"patient": [ref("Patient/p1")]}),
]
# deleted: never found, and never makes another resource match
DELETED: list[tuple[str, str, Index]] = [
    ("Observation", "gone", {"patient": [ref("Patient/p3")], "code": [code("1234-5")]}),
]


@pytest.fixture
async def linked(store: Store) -> Store:
    for n, (rt, id, index) in enumerate(RESOURCES + DELETED):
        await write(store, make_op(rt, id, 1, expected=0, index=dict(index), us=T0 + n * 1_000_000))
    for rt, id, _ in DELETED:
        await write(store, make_op(rt, id, 2, expected=1, method="DELETE"))
    return store


def parse(rtype: str, qs: str) -> SearchQuery:
    pairs = [tuple(p.split("=", 1)) for p in qs.split("&")]
    return parse_search((rtype,), [(k, v) for k, v in pairs], REGISTRY, strict=True, default_count=1000)


def records() -> list[matcher.Record]:
    return [(rt, id, T0, index) for rt, id, index in RESOURCES]


async def found(store: Store, query: SearchQuery) -> set[str]:
    page = await store.search(query)
    assert page.next_cursor is None
    got = {v.id for v in page.items}
    want = {id for _, id in matcher.search(query, records(), now_us=int(time.time() * 1e6))}
    assert got == want, f"{store.name} returns {sorted(got)}, the matcher {sorted(want)}"
    return got


# ---------------------------------------------------------------------------- search.html#has

HAS_CASES = [
    # the spec's example: Patients referred to by an Observation with code 1234-5 through "patient"
    ("_has:Observation:patient:code=1234-5", {"p1"}),
    ("_has:Observation:patient:code=http://loinc.org|1234-5", {"p1"}),
    # "Or" searches are allowed; each _has is processed independently (ANDed)
    ("_has:Observation:patient:code=1234-5,999", {"p1", "p2"}),
    ("_has:Observation:patient:code=1234-5&_has:Observation:patient:code=999", {"p1"}),
    # a reference to a Group with the same id is not a reference to the Patient
    ("_has:Observation:subject:code=1234-5", {"p1"}),
    # modifiers and prefixes on the inner parameter
    ("_has:Observation:patient:code:not=1234-5", {"p1", "p2"}),
    ("_has:Observation:patient:date=ge2021", {"p2"}),
    ("_has:Observation:patient:date:missing=true", {"p1"}),
    ("_has:Observation:patient:code=zz", set()),
    # combined with other criteria
    ("_has:Observation:patient:code=1234-5,999&name=anna", {"p2"}),
    ("_has:Observation:patient:code=1234-5&_id=p2", set()),
    # nested (the spec's example)
    ("_has:Observation:patient:_has:AuditEvent:entity:agent=MyUserId", {"p1"}),
    ("_has:Observation:patient:_has:AuditEvent:entity:agent=Practitioner/other", {"p2"}),
    # a chain inside _has
    ("_has:Claim:payee:patient.name=anna", {"p1"}),
    ("_has:Claim:patient:_id=c3", {"p2"}),
]


@pytest.mark.parametrize(("qs", "expected"), HAS_CASES, ids=[c[0] for c in HAS_CASES])
async def test_search_has(linked: Store, qs: str, expected: set[str]) -> None:
    assert await found(linked, parse("Patient", qs)) == expected


async def test_search_has_on_other_types(linked: Store) -> None:
    assert await found(linked, parse("Organization", "_has:Patient:organization:name=mul")) == {"o1"}
    # two levels up: Organizations whose Patients have a 1234-5 Observation
    q = parse("Organization", "_has:Patient:organization:_has:Observation:patient:code=1234-5")
    assert await found(linked, q) == {"o1"}
    assert await found(linked, parse("Observation", "_has:AuditEvent:entity:agent=MyUserId")) == {"ob1"}


@pytest.mark.parametrize(
    "qs",
    [
        "_has:Observation:patient=1234-5",  # no inner parameter
        "_has:Nothing:patient:code=x",  # not a type
        "_has:Observation:code:code=x",  # not a reference parameter
        "_has:Claim:provider:_id=x",  # Claim.provider cannot refer to a Patient
    ],
)
def test_search_has_malformed_is_refused(qs: str) -> None:
    with pytest.raises(InvalidError) as exc:
        parse("Patient", qs)
    assert exc.value.expression == (qs.split("=")[0],)


def test_search_has_on_system_search_is_refused() -> None:
    with pytest.raises(FhirError) as exc:
        parse_search((), [("_has:Observation:patient:code", "x")], REGISTRY)
    assert exc.value.status == 400 and "system search" in str(exc.value)


# ---------------------------------------------------------------------------- search.html#chaining

CHAIN_CASES = [
    ("Claim", "patient.organization.name=acme", {"c1"}),
    ("Claim", "patient:Patient.organization:Organization.name=beta", {"c2", "c3"}),
    ("Observation", "subject:Patient.organization:Organization.name=beta", {"ob2"}),
    # modifiers on the last parameter
    ("Claim", "patient.organization.name:exact=Acme", {"c1"}),
    ("Claim", "patient.organization.name:exact=acme", set()),
    ("Claim", "patient.organization.name:contains=et", {"c2", "c3"}),
    ("Claim", "patient.organization.name:missing=false", {"c1", "c2", "c3"}),
    # chains are evaluated independently of each other
    ("Claim", "patient.name=mul&payee:Patient.name=mul", set()),
    ("Claim", "patient.name=anna&payee:Patient.name=mul", {"c2"}),
    # a chain ending in _id is a plain reference
    ("Claim", "patient._id=p1", {"c1"}),
]


@pytest.mark.parametrize(("rtype", "qs", "expected"), CHAIN_CASES, ids=[c[1] for c in CHAIN_CASES])
async def test_search_chaining_multi_level(linked: Store, rtype: str, qs: str, expected: set[str]) -> None:
    assert await found(linked, parse(rtype, qs)) == expected


# ---------------------------------------------------------------------------- caps


@pytest.mark.parametrize(
    ("rtype", "qs", "name"),
    [
        ("Patient", "_has:Observation:patient:code=999", "_has:Observation:patient:code"),
        ("Claim", "patient.name:missing=false", "patient:Patient.name"),
        (
            "Claim",
            "patient.organization.name:missing=false",
            "patient:Patient.organization:Organization.name",
        ),
    ],
)
async def test_inner_searches_are_capped(linked: Store, rtype: str, qs: str, name: str) -> None:
    if not hasattr(linked, "chain_limit"):
        pytest.skip(f"{linked.name}: inner searches are subqueries, with no cap")
    linked.chain_limit = 1
    with pytest.raises(TooCostlyError) as exc:
        await linked.search(parse(rtype, qs))
    assert exc.value.status == 400 and name in str(exc.value)
    assert name in exc.value.expression[0]


# ---------------------------------------------------------------------------- compartments

PATIENT = {
    "Claim": ("patient", "payee"),
    "Coverage": ("policy-holder", "subscriber", "beneficiary", "payor"),
    "Observation": ("subject", "performer"),
    "Encounter": ("patient",),
    "Patient": ("link",),
}


def in_compartment(target: str, types: Sequence[str]) -> CompartmentClause:
    return CompartmentClause(target, tuple((t, PATIENT[t]) for t in types))


async def test_compartment_membership(linked: Store) -> None:
    claims = SearchQuery(("Claim",), (in_compartment("Patient/p1", ["Claim"]),))
    assert await found(linked, claims) == {"c1", "c2"}  # patient or payee
    everything = tuple(PATIENT)
    query = SearchQuery(everything, (in_compartment("Patient/p1", everything),), count=100)
    assert await found(linked, query) == {"c1", "c2", "cv1", "ob1", "ob3", "e1"}
    query = SearchQuery(everything, (in_compartment("Patient/p2", everything),), count=100)
    assert await found(linked, query) == {"c2", "c3", "ob2"}
    none = SearchQuery(("Organization",), (CompartmentClause("Patient/p1", ()),))
    assert await found(linked, none) == set()


async def test_compartment_own_resource(linked: Store) -> None:
    own = CompartmentClause("Encounter/e1", (("Encounter", ("{def}",)),))
    assert await found(linked, SearchQuery(("Encounter",), (own,))) == {"e1"}


def test_search_has_inside_a_chain_is_refused_by_name() -> None:
    with pytest.raises(InvalidError) as exc:
        parse("Claim", "patient:Patient._has:Observation:patient:code=1234-5")
    assert "not supported" in str(exc.value)
