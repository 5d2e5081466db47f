"""Terminology service: ValueSet expansion (compose include/exclude, filters, imports,
published expansions, bounds) and subsumption, over a ``terminology/`` folder written
per test, the shipped R4 core and the repository's own ``terminology/`` folder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from fhir_server.terminology import (
    InvalidCodeError,
    NotSupportedError,
    Terminology,
    TooCostlyError,
    UnknownResourceError,
)

CS = "urn:test:cs"
CS_FLAT = "urn:test:flat"


def _cs() -> dict[str, Any]:
    """animal > (mammal > (dog, cat), bird > (owl)); whale is-a mammal through ``parent``;
    ``robin`` is a child of bird through ``child``; properties ``legs``."""
    return {
        "resourceType": "CodeSystem",
        "url": CS,
        "version": "2",
        "status": "active",
        "content": "complete",
        "concept": [
            {
                "code": "animal",
                "concept": [
                    {
                        "code": "mammal",
                        "concept": [
                            {"code": "dog", "property": [{"code": "legs", "valueInteger": 4}]},
                            {"code": "cat", "property": [{"code": "legs", "valueInteger": 4}]},
                        ],
                    },
                    {
                        "code": "bird",
                        "property": [{"code": "child", "valueCode": "robin"}],
                        "concept": [{"code": "owl", "property": [{"code": "legs", "valueInteger": 2}]}],
                    },
                ],
            },
            {"code": "whale", "property": [{"code": "parent", "valueCode": "mammal"}]},
            {"code": "robin"},
            {"code": "rock"},
        ],
    }


def vs(id: str, compose: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "resourceType": "ValueSet",
        "url": f"urn:test:vs:{id}",
        "status": "active",
        **extra,
    }
    if compose is not None:
        body["compose"] = compose
    return body


def inc(**part: Any) -> dict[str, Any]:
    return {"include": [part]}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    resources = [
        _cs(),
        {
            "resourceType": "CodeSystem",
            "url": CS,
            "version": "1",
            "status": "retired",
            "content": "complete",
            "concept": [{"code": "old"}],
        },
        {
            "resourceType": "CodeSystem",
            "url": CS_FLAT,
            "status": "active",
            "content": "complete",
            "concept": [{"code": "a"}, {"code": "b"}],
        },
        {
            "resourceType": "CodeSystem",
            "url": "urn:test:fragment",
            "status": "active",
            "content": "fragment",
            "concept": [{"code": "x"}],
        },
        vs("whole", inc(system=CS)),
        vs("listed", inc(system="http://loinc.org", concept=[{"code": "1234-5"}, {"code": "2345-6"}])),
        vs("is-a", inc(system=CS, filter=[{"property": "concept", "op": "is-a", "value": "mammal"}])),
        vs(
            "descendent-of",
            inc(system=CS, filter=[{"property": "concept", "op": "descendent-of", "value": "mammal"}]),
        ),
        vs("is-not-a", inc(system=CS, filter=[{"property": "concept", "op": "is-not-a", "value": "animal"}])),
        vs(
            "generalizes",
            inc(system=CS, filter=[{"property": "concept", "op": "generalizes", "value": "owl"}]),
        ),
        vs("legs", inc(system=CS, filter=[{"property": "legs", "op": "=", "value": "4"}])),
        vs("in", inc(system=CS, filter=[{"property": "concept", "op": "in", "value": "dog,owl,nothing"}])),
        vs("parent", inc(system=CS, filter=[{"property": "parent", "op": "=", "value": "bird"}])),
        vs(
            "two-filters",
            inc(
                system=CS,
                filter=[
                    {"property": "concept", "op": "is-a", "value": "animal"},
                    {"property": "legs", "op": "=", "value": "4"},
                ],
            ),
        ),
        vs(
            "exclude",
            {
                "include": [
                    {"system": CS, "filter": [{"property": "concept", "op": "is-a", "value": "mammal"}]}
                ],
                "exclude": [
                    {"system": CS, "concept": [{"code": "cat"}]},
                    {"valueSet": ["urn:test:vs:parent"]},
                ],
            },
        ),
        vs("import", {"include": [{"valueSet": ["urn:test:vs:is-a"]}, {"system": CS_FLAT}]}),
        vs("import-both", inc(valueSet=["urn:test:vs:is-a", "urn:test:vs:legs"])),
        vs(
            "import-and-system",
            inc(system=CS, concept=[{"code": "dog"}, {"code": "owl"}], valueSet=["urn:test:vs:is-a"]),
        ),
        vs("nested", inc(valueSet=["urn:test:vs:import"])),
        vs("loop-a", inc(valueSet=["urn:test:vs:loop-b"])),
        vs("loop-b", inc(valueSet=["urn:test:vs:loop-a"])),
        vs(
            "snomed",
            inc(
                system="http://snomed.info/sct",
                filter=[{"property": "concept", "op": "is-a", "value": "404684003"}],
            ),
        ),
        vs("regex", inc(system=CS, filter=[{"property": "code", "op": "regex", "value": "d.*"}])),
        vs("fragment", inc(system="urn:test:fragment")),
        vs("bad-code", inc(system=CS, filter=[{"property": "concept", "op": "is-a", "value": "unicorn"}])),
        vs(
            "published",
            inc(system="http://loinc.org"),
            expansion={
                "contains": [
                    {"system": "http://loinc.org", "code": "1-8"},
                    {
                        "system": "http://loinc.org",
                        "code": "2-6",
                        "contains": [{"system": "http://loinc.org", "code": "3-4"}],
                    },
                ]
            },
        ),
        vs(
            "cut",
            inc(system="http://loinc.org"),
            expansion={
                "parameter": [{"name": "limitedExpansion", "valueBoolean": True}],
                "contains": [{"system": "http://loinc.org", "code": "1-8"}],
            },
        ),
        vs("v1", inc(system=CS, version="1")),
        vs("versioned", inc(system=CS), version="7"),
        vs("empty"),
    ]
    (tmp_path / "bundle.json").write_text(
        json.dumps(
            {
                "resourceType": "Bundle",
                "type": "collection",
                "entry": [{"resource": r} for r in resources[5:]],
            }
        )
    )
    for n, r in enumerate(resources[:5]):
        (tmp_path / f"r{n}.json").write_text(json.dumps(r))
    (tmp_path / "broken.json").write_text("{not json")
    return tmp_path


def codes(found: frozenset[tuple[str, str]]) -> set[str]:
    return {c for _, c in found}


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("whole", {"animal", "mammal", "dog", "cat", "bird", "owl", "whale", "robin", "rock"}),
        ("listed", {"1234-5", "2345-6"}),  # a concept list needs no content for its system
        ("is-a", {"mammal", "dog", "cat", "whale"}),  # nesting and the parent property
        ("descendent-of", {"dog", "cat", "whale"}),
        ("is-not-a", {"rock"}),
        ("generalizes", {"owl", "bird", "animal"}),
        ("legs", {"dog", "cat"}),
        ("in", {"dog", "owl"}),
        ("parent", {"owl", "robin"}),  # robin: bird's child property
        ("two-filters", {"dog", "cat"}),  # filters are ANDed
        ("exclude", {"mammal", "dog", "whale"}),
        ("import", {"mammal", "dog", "cat", "whale", "a", "b"}),
        ("import-both", {"dog", "cat"}),  # value sets of one include intersect
        ("import-and-system", {"dog"}),
        ("nested", {"mammal", "dog", "cat", "whale", "a", "b"}),
        ("published", {"1-8", "2-6", "3-4"}),  # LOINC not here: the complete published expansion
        ("v1", {"old"}),
        ("versioned", {"animal", "mammal", "dog", "cat", "bird", "owl", "whale", "robin", "rock"}),
    ],
)
async def test_expansions(folder: Path, name: str, expected: set[str]) -> None:
    t = Terminology(None, folder=folder)
    found = await t.expand(f"urn:test:vs:{name}")
    assert codes(found) == expected
    assert {s for s, _ in found} <= {CS, CS_FLAT, "http://loinc.org"}


async def test_version_pinned_references(folder: Path) -> None:
    t = Terminology(None, folder=folder)
    assert codes(await t.expand("urn:test:vs:versioned|7"))
    with pytest.raises(UnknownResourceError):
        await t.expand("urn:test:vs:versioned|8")


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("snomed", NotSupportedError),  # unknown code system: cannot enumerate
        ("regex", NotSupportedError),  # unsupported filter
        ("fragment", NotSupportedError),  # content is not complete
        ("cut", NotSupportedError),  # a limited (cut) published expansion is not used
        ("loop-a", NotSupportedError),
        ("bad-code", InvalidCodeError),
        ("empty", NotSupportedError),  # neither compose nor expansion
        ("absent", UnknownResourceError),
    ],
)
async def test_refusals(folder: Path, name: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        await Terminology(None, folder=folder).expand(f"urn:test:vs:{name}")


async def test_expansion_bound_is_all_or_nothing(folder: Path) -> None:
    assert len(await Terminology(None, folder=folder, limit=9).expand("urn:test:vs:whole")) == 9
    with pytest.raises(TooCostlyError):
        await Terminology(None, folder=folder, limit=8).expand("urn:test:vs:whole")
    with pytest.raises(TooCostlyError):
        await Terminology(None, folder=folder, limit=3).expand("urn:test:vs:import")
    with pytest.raises(TooCostlyError):
        await Terminology(None, folder=folder, limit=3).subsumption(CS, "animal", "descendants")


async def test_subsumption(folder: Path) -> None:
    t = Terminology(None, folder=folder)
    assert codes(await t.subsumption(CS, "mammal", "descendants")) == {"mammal", "dog", "cat", "whale"}
    assert codes(await t.subsumption(CS, "robin", "ancestors")) == {"robin", "bird", "animal"}
    assert codes(await t.subsumption(CS, "rock", "descendants")) == {"rock"}
    assert codes(await t.subsumption(f"{CS}|2", "bird", "descendants")) == {"bird", "owl", "robin"}
    with pytest.raises(NotSupportedError):  # version 1 of the code system is flat
        await t.subsumption(f"{CS}|1", "old", "descendants")
    with pytest.raises(NotSupportedError):
        await t.subsumption(CS_FLAT, "a", "descendants")  # not hierarchical
    with pytest.raises(NotSupportedError):
        await t.subsumption("http://snomed.info/sct", "404684003", "descendants")
    with pytest.raises(InvalidCodeError):
        await t.subsumption(CS, "unicorn", "ancestors")


async def test_core_terminology() -> None:
    t = Terminology(None)
    category = await t.expand("http://hl7.org/fhir/ValueSet/observation-category")
    assert (
        len(category) == 9
        and ("http://terminology.hl7.org/CodeSystem/observation-category", "vital-signs") in category
    )
    # a v3 ValueSet: is-a _ActEncounterCode over v3-ActCode, the abstract head excluded
    encounter = codes(await t.expand("http://terminology.hl7.org/ValueSet/v3-ActEncounterCode"))
    assert {"AMB", "EMER", "IMP", "HH"} <= encounter and "_ActEncounterCode" not in encounter
    assert len(encounter) == 11
    # the v3 polyhierarchy: ActCode's 'child' properties
    act = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
    assert "_ActCode" not in codes(await t.subsumption(act, "AMB", "ancestors"))
    assert {"AMB", "_ActEncounterCode"} <= codes(await t.subsumption(act, "AMB", "ancestors"))
    with pytest.raises(NotSupportedError):  # all of LOINC: never enumerated here
        await t.expand("http://hl7.org/fhir/ValueSet/observation-codes")
    ucum = await t.expand("http://hl7.org/fhir/ValueSet/ucum-common")  # the published expansion
    assert ("http://unitsofmeasure.org", "mg") in ucum


async def test_repository_terminology_folder_openimis_claim_status() -> None:
    t = Terminology(None)
    system = "https://openimis.org/fhir/CodeSystem/claim-status"
    assert await t.expand("https://openimis.org/fhir/ValueSet/claim-status") == {
        (system, c) for c in ("1", "2", "4", "8", "16")
    }
    assert codes(await t.expand("https://openimis.org/fhir/ValueSet/claim-status-open")) == {"2", "4", "8"}
