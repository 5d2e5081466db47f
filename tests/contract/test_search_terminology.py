"""Contract: the token modifiers ``:in``, ``:not-in``, ``:below`` and ``:above`` on every
backend, over the official R4 examples (Observation, Condition, Encounter, Patient) and
ValueSets/CodeSystems stored in the backend itself. Each query is parsed from its query
string, resolved by the terminology service, run on the store (one page of 1,000) and on
the reference matcher; both must agree and give what the test states, computed here
straight from the resources' JSON.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from fhir_server.errors import FhirError
from fhir_server.search import matcher
from fhir_server.search.extract import Extractor
from fhir_server.search.index import IndexEntries
from fhir_server.search.ir import Clause, TokenValue
from fhir_server.search.parser import parse_search
from fhir_server.search.registry import SearchRegistry
from fhir_server.storage.protocol import Store
from fhir_server.terminology import Terminology
from fhir_server.terminology.search_modifiers import resolve
from tests.conftest import require_r4_examples

from .test_crud import T0, make_op, write

REGISTRY = SearchRegistry.from_definitions()
EXTRACTOR = Extractor(REGISTRY)
TYPES = ("Observation", "Condition", "Encounter", "Patient")
CATEGORY_VS = "http://hl7.org/fhir/ValueSet/observation-category"
CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
CLINICAL_VS = "http://hl7.org/fhir/ValueSet/condition-clinical"
CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
ACT = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
LOCAL_VS = "https://openimis.org/fhir/ValueSet/test-vitals-and-labs"
EMPTY_VS = "https://openimis.org/fhir/ValueSet/test-empty"
LOCAL_VALUESETS: list[dict[str, Any]] = [
    {
        "resourceType": "ValueSet",
        "id": "vitals-and-labs",
        "url": LOCAL_VS,
        "status": "active",
        "compose": {
            "include": [{"system": CATEGORY, "concept": [{"code": "vital-signs"}, {"code": "laboratory"}]}]
        },
    },
    {
        "resourceType": "ValueSet",
        "id": "empty",
        "url": EMPTY_VS,
        "status": "active",
        "compose": {
            "include": [{"system": CATEGORY, "concept": [{"code": "exam"}]}],
            "exclude": [{"system": CATEGORY, "concept": [{"code": "exam"}]}],
        },
    },
]

Corpus = tuple[Store, list[matcher.Record], dict[tuple[str, str], dict[str, Any]]]


def _examples() -> list[dict[str, Any]]:
    root = require_r4_examples()
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for rtype in TYPES:
        for path in sorted(root.glob(f"{rtype}-*.json")):
            res = json.loads(path.read_text(encoding="utf-8"))
            if res.get("resourceType") == rtype and isinstance(res.get("id"), str):
                out.setdefault((rtype, res["id"]), res)
    return list(out.values())


@pytest.fixture
async def corpus(store: Store) -> Corpus:
    records: list[matcher.Record] = []
    bodies: dict[tuple[str, str], dict[str, Any]] = {}
    for n, res in enumerate([*_examples(), *LOCAL_VALUESETS]):
        index: IndexEntries = EXTRACTOR.extract(res)
        body = json.dumps(res).encode()
        op = make_op(res["resourceType"], res["id"], 1, expected=0, index=index, us=T0 + n, body=body)
        await write(store, op)
        records.append((res["resourceType"], res["id"], T0 + n, index))
        bodies[(res["resourceType"], res["id"])] = res
    return store, records, bodies


async def search(corpus: Corpus, rtype: str, *params: tuple[str, str]) -> set[str]:
    store, records, _ = corpus
    parsed = parse_search((rtype,), params, REGISTRY, strict=True)
    query = replace(await resolve(parsed, Terminology(store)), count=1000)
    page = await store.search(query)
    got = {v.id for v in page.items}
    expected = {i for t, i in matcher.search(query, records, now_us=int(time.time() * 1e6)) if t == rtype}
    assert got == expected, (params, got ^ expected)
    assert page.next_cursor is None
    return got


def codings(res: dict[str, Any], element: str) -> list[tuple[str | None, str | None]]:
    value = res.get(element)
    items = value if isinstance(value, list) else [value] if value else []
    out: list[tuple[str | None, str | None]] = []
    for item in items:
        for c in item.get("coding", []) if "coding" in item else [item]:
            out.append((c.get("system"), c.get("code")))
    return out


def where(corpus: Corpus, rtype: str, test: Callable[[dict[str, Any]], bool]) -> set[str]:
    return {i for (t, i), res in corpus[2].items() if t == rtype and test(res)}


def any_in(element: str, wanted: set[tuple[str, str]]) -> Callable[[dict[str, Any]], bool]:
    return lambda res: any(c in wanted for c in codings(res, element))


async def test_in_and_not_in_a_core_valueset(corpus: Corpus) -> None:
    all_categories = {
        (CATEGORY, c)
        for c in (
            "social-history",
            "vital-signs",
            "imaging",
            "laboratory",
            "procedure",
            "survey",
            "exam",
            "therapy",
            "activity",
        )
    }
    found = await search(corpus, "Observation", ("category:in", CATEGORY_VS))
    assert found == where(corpus, "Observation", any_in("category", all_categories))
    assert len(found) > 20
    outside = await search(corpus, "Observation", ("category:not-in", CATEGORY_VS))
    assert outside == where(corpus, "Observation", lambda r: not any_in("category", all_categories)(r))
    assert outside and not outside & found
    clinical = {
        (CLINICAL, c) for c in ("active", "recurrence", "relapse", "inactive", "remission", "resolved")
    }
    conditions = await search(corpus, "Condition", ("clinical-status:in", CLINICAL_VS))
    assert conditions == where(corpus, "Condition", any_in("clinicalStatus", clinical)) and conditions


async def test_below_and_above_in_hierarchical_core_codesystems(corpus: Corpus) -> None:
    below = await search(corpus, "Condition", ("clinical-status:below", f"{CLINICAL}|active"))
    wanted = {(CLINICAL, c) for c in ("active", "recurrence", "relapse")}
    assert below == where(corpus, "Condition", any_in("clinicalStatus", wanted)) and below
    above = await search(corpus, "Condition", ("clinical-status:above", f"{CLINICAL}|resolved"))
    wanted = {(CLINICAL, c) for c in ("inactive", "resolved")}
    assert above == where(corpus, "Condition", any_in("clinicalStatus", wanted)) and above
    # v3-ActCode: the encounter class codes sit under _ActEncounterCode
    encounters = await search(corpus, "Encounter", ("class:below", f"{ACT}|_ActEncounterCode"))
    terminology = Terminology(None)
    act_codes = await terminology.subsumption(ACT, "_ActEncounterCode", "descendants")
    assert encounters == where(corpus, "Encounter", any_in("class", set(act_codes))) and encounters
    assert await search(corpus, "Encounter", ("class:below", f"{ACT}|AMB")) == where(
        corpus, "Encounter", any_in("class", {(ACT, "AMB")})
    )


async def test_large_sets_compile_as_set_lookups(corpus: Corpus) -> None:
    """The whole v3-ActCode ValueSet (1,116 codes) against Encounter.class."""
    everything = await Terminology(None).expand("http://terminology.hl7.org/ValueSet/v3-ActCode")
    assert len(everything) > 1000
    found = await search(corpus, "Encounter", ("class:in", "http://terminology.hl7.org/ValueSet/v3-ActCode"))
    assert found == where(corpus, "Encounter", any_in("class", set(everything))) and found
    rest = await search(
        corpus, "Encounter", ("class:not-in", "http://terminology.hl7.org/ValueSet/v3-ActCode")
    )
    assert rest == where(corpus, "Encounter", lambda r: not any_in("class", set(everything))(r))


async def test_stored_valuesets_by_url_and_id_and_empty_sets(corpus: Corpus) -> None:
    wanted = {(CATEGORY, "vital-signs"), (CATEGORY, "laboratory")}
    expected = where(corpus, "Observation", any_in("category", wanted))
    assert expected
    assert await search(corpus, "Observation", ("category:in", LOCAL_VS)) == expected
    assert await search(corpus, "Observation", ("category:in", "ValueSet/vitals-and-labs")) == expected
    # OR of two value sets; AND with another criterion
    both = await search(corpus, "Observation", ("category:in", f"{LOCAL_VS},{EMPTY_VS}"))
    assert both == expected
    assert (
        await search(corpus, "Observation", ("category:in", LOCAL_VS), ("category:not-in", LOCAL_VS)) == set()
    )
    # an empty expansion: :in matches nothing, :not-in everything
    assert await search(corpus, "Observation", ("category:in", EMPTY_VS)) == set()
    assert await search(corpus, "Observation", ("category:not-in", EMPTY_VS)) == where(
        corpus, "Observation", lambda r: True
    )


async def test_in_inside_has_and_chains(corpus: Corpus) -> None:
    vital = {(CATEGORY, "vital-signs")}
    subjects = {
        res["subject"]["reference"].split("/")[-1]
        for res in (
            corpus[2][("Observation", i)] for i in where(corpus, "Observation", any_in("category", vital))
        )
        if res.get("subject", {}).get("reference", "").startswith("Patient/")
    }
    patients = await search(corpus, "Patient", ("_has:Observation:patient:category:in", LOCAL_VS))
    assert subjects & {i for t, i in corpus[2] if t == "Patient"} <= patients
    chained = await search(
        corpus,
        "Observation",
        ("subject:Patient.gender:in", "http://hl7.org/fhir/ValueSet/administrative-gender"),
    )
    assert chained


async def test_resolved_clause_is_a_plain_token_or_set(corpus: Corpus) -> None:
    store = corpus[0]
    parsed = parse_search(("Condition",), [("clinical-status:not-in", CLINICAL_VS)], REGISTRY)
    query = await resolve(parsed, Terminology(store))
    (clause,) = query.criteria
    assert isinstance(clause, Clause) and clause.modifier == "not"
    assert set(clause.values) == {
        TokenValue(CLINICAL, c)
        for c in ("active", "recurrence", "relapse", "inactive", "remission", "resolved")
    }
    with pytest.raises(FhirError) as err:
        await resolve(
            parse_search(("Condition",), [("clinical-status:in", "ValueSet/none")], REGISTRY),
            Terminology(store),
        )
    assert err.value.issue_code == "not-found" and err.value.expression == ("clinical-status:in",)
