"""Terminology service for the operations (lookup, code validation, subsumption, expansion
entries, ConceptMap translation) over the shipped R4 core and a ``terminology/`` folder
written per test; and the ConceptMap model (forward, reverse, unmapped modes)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fhir_server.terminology import InvalidCodeError, NotSupportedError, Terminology, UnknownResourceError
from fhir_server.terminology.conceptmap import ConceptMapContent

GENDER = "http://hl7.org/fhir/administrative-gender"
ACT = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
STATUS = "http://hl7.org/fhir/publication-status"


async def test_core_lookup_keeps_name_display_designations_and_property_types() -> None:
    t = Terminology(None)
    found = await t.lookup(GENDER, "other")
    assert (found.name, found.version, found.concept.display) == ("AdministrativeGender", "4.0.1", "Other")
    draft = await t.lookup(STATUS, "draft")
    assert ("nl", "ontwerp") in {(d.language, d.value) for d in draft.concept.designations}
    top = await t.lookup(ACT, "_ActAccountCode")
    assert "CASH" in top.children and top.property_types.get("notSelectable") == "boolean"
    with pytest.raises(InvalidCodeError):
        await t.lookup(GENDER, "nope")
    with pytest.raises(NotSupportedError):  # SNOMED CT is shipped without content
        await t.lookup("http://snomed.info/sct", "22298006")
    with pytest.raises(UnknownResourceError):
        await t.lookup("urn:no-such-system", "x")


async def test_subsumes_outcomes_on_the_v3_hierarchy() -> None:
    t = Terminology(None)
    assert await t.subsumes(ACT, "_ActAccountCode", "CASH") == "subsumes"
    assert await t.subsumes(ACT, "CASH", "_ActAccountCode") == "subsumed-by"
    assert await t.subsumes(ACT, "CASH", "CASH") == "equivalent"
    assert await t.subsumes(ACT, "CASH", "PBILLACCT") == "not-subsumed"


async def test_check_in_codesystem_display_and_incomplete_content(tmp_path: Path) -> None:
    (tmp_path / "cs.json").write_text(
        json.dumps(
            {
                "resourceType": "CodeSystem",
                "url": "urn:frag",
                "status": "active",
                "content": "fragment",
                "concept": [{"code": "a", "display": "Alpha", "designation": [{"value": "Alfa"}]}],
            }
        )
    )
    t = Terminology(None, folder=tmp_path)
    frag = await t.known_codesystem("urn:frag")
    assert t.check_in_codesystem(frag, "a", "ALFA").result  # a designation is a valid display
    wrong = t.check_in_codesystem(frag, "a", "Beta")
    assert not wrong.result and wrong.display == "Alpha"
    with pytest.raises(NotSupportedError):
        t.check_in_codesystem(frag, "b", None)  # a fragment cannot say a code is not in it
    gender = await t.known_codesystem(GENDER)
    assert not t.check_in_codesystem(gender, "b", None).result


async def test_describe_orders_by_codesystem_definition() -> None:
    t = Terminology(None)
    codes = await t.expand("http://hl7.org/fhir/ValueSet/administrative-gender")
    entries = await t.describe(codes)
    assert [e.code for e in entries] == ["male", "female", "other", "unknown"]
    assert entries[0].display == "Male" and entries[0].version == "4.0.1"


async def test_core_conceptmaps_are_shipped_and_translate() -> None:
    t = Terminology(None)
    maps = await t.conceptmaps_for(GENDER, reverse=False)
    urls = {m.url for m in maps}
    assert "http://hl7.org/fhir/ConceptMap/cm-administrative-gender-v2" in urls
    assert "http://hl7.org/fhir/ConceptMap/cm-administrative-gender-v3" in urls
    v2 = "http://terminology.hl7.org/CodeSystem/v2-0001"
    result = await t.translate(GENDER, "female", maps, target_system=v2)
    assert result.result and [(m.system, m.code, m.display) for m in result.matches] == [(v2, "F", "Female")]


def _map(unmapped: dict[str, str]) -> ConceptMapContent:
    return ConceptMapContent.from_resource(
        {
            "resourceType": "ConceptMap",
            "url": "urn:map",
            "group": [
                {
                    "source": "urn:a",
                    "target": "urn:b",
                    "element": [{"code": "1", "target": [{"code": "one", "equivalence": "equal"}]}],
                    "unmapped": unmapped,
                }
            ],
        }
    )


def test_conceptmap_forward_reverse_and_unmapped() -> None:
    provided = _map({"mode": "provided"})
    assert [(m.code, m.equivalence) for m in provided.translate("urn:a", "1")[0]] == [("one", "equal")]
    assert [(m.system, m.code, m.equivalence) for m in provided.translate("urn:a", "2")[0]] == [
        ("urn:b", "2", "inexact")
    ]
    assert [(m.system, m.code) for m in provided.translate("urn:b", "one", reverse=True)[0]] == [
        ("urn:a", "1")
    ]
    assert provided.translate("urn:a", "1", target_system="urn:c")[0] == []
    fixed = _map({"mode": "fixed", "code": "zz", "display": "Other"})
    assert [(m.code, m.display) for m in fixed.translate("urn:a", "9")[0]] == [("zz", "Other")]
    other = _map({"mode": "other-map", "url": "urn:map2"})
    matches, notes = other.translate("urn:a", "9")
    assert matches == [] and "urn:map2" in notes[0]
