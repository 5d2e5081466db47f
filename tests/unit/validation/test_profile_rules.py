"""Profile rules, one kind at a time, with a valid and an invalid resource each: the rule key
(details.coding) and the FHIRPath expression of the failing element.

Profiles: our small test profiles (profile_fixtures.py) and, for the official examples broken
on purpose, the R4 core profiles vitalsigns and bodyheight from the official package.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from fhir_server.definitions import load
from fhir_server.terminology import Terminology
from fhir_server.validation.profiles import Profiles, parse_required
from fhir_server.validation.snapshot import apply_differential, empty_tree
from tests.conftest import require_r4_examples

from .profile_fixtures import (
    ALL,
    CHILD,
    INSUREE,
    NUMBER_SYSTEM,
    OBS,
    PHOTO_CONSENT,
    insuree,
    weight,
)

Found = list[tuple[str, str | None, str]]


@pytest.fixture
def profiles() -> Profiles:
    return Profiles(load(), Terminology(None), None, extra=ALL)


async def found(profiles: Profiles, resource: dict[str, Any], demanded: tuple[str, ...] = ()) -> Found:
    issues = await profiles.validate(resource, demanded=demanded)
    return [(i.severity, i.details_code, i.expression[0] if i.expression else "") for i in issues]


def error(key: str, path: str) -> tuple[str, str, str]:
    return ("error", key, path)


async def test_valid_resources_have_no_issues(profiles: Profiles) -> None:
    assert await found(profiles, insuree()) == []
    assert await found(profiles, weight()) == []


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"gender": None}, error("cardinality", "Patient.gender")),
        ({"identifier": None}, error("cardinality", "Patient.identifier")),
        ({"address": [{"country": "KE"}]}, error("fixed", "Patient.address[0].country")),
        ({"telecom": [{"system": "email", "value": "a@b.c"}]}, error("pattern", "Patient.telecom[0]")),
        (
            {"maritalStatus": {"coding": [{"system": "urn:x", "code": "y"}]}},
            error("binding", "Patient.maritalStatus"),
        ),
        ({"maritalStatus": {"text": "married"}}, error("binding", "Patient.maritalStatus")),
        (
            {"communication": [{"language": {"coding": [{"system": "urn:ietf:bcp:47", "code": "sw"}]}}]},
            ("warning", "binding", "Patient.communication[0].language"),
        ),
        ({"deceasedDateTime": "2020-01-01"}, error("type", "Patient.deceasedDateTime")),
        (
            {"identifier": [{"system": NUMBER_SYSTEM, "value": "12"}]},
            error("tst-insuree-2", "Patient.identifier[0].value"),
        ),
        (
            {"deceasedBoolean": True, "birthDate": None},
            error("tst-insuree-1", "Patient"),
        ),
        (
            {"identifier": [{"system": "urn:other", "value": "1"}]},
            error("slicing", "Patient.identifier"),
        ),
        (
            {"extension": [{"url": PHOTO_CONSENT, "valueString": "yes"}]},
            error("type", "Patient.extension[0].valueString"),
        ),
        (
            {"extension": [{"url": PHOTO_CONSENT}, {"url": PHOTO_CONSENT, "valueBoolean": False}]},
            error("slicing", "Patient.extension"),
        ),
    ],
)
async def test_each_rule_of_the_insuree_profile(
    profiles: Profiles, changes: dict[str, Any], expected: tuple[str, str, str]
) -> None:
    assert expected in await found(profiles, insuree(**changes))


async def test_extension_context(profiles: Profiles) -> None:
    misplaced = insuree(
        address=[{"country": "TZ", "extension": [{"url": PHOTO_CONSENT, "valueBoolean": True}]}]
    )
    assert await found(profiles, misplaced) == [error("extension-context", "Patient.address[0].extension[0]")]


async def test_a_derived_profile_keeps_its_base_rules(profiles: Profiles) -> None:
    child = insuree(meta={"profile": [CHILD]})
    assert await found(profiles, child) == []
    two_names = {**child, "name": [{"family": "a"}, {"family": "b"}], "gender": "x-not-checked-here"}
    del two_names["birthDate"]
    got = await found(profiles, {**two_names, "gender": "female"})
    assert error("cardinality", "Patient.birthDate") in got
    assert error("cardinality", "Patient.name") in got
    assert error("cardinality", "Patient.gender") in await found(profiles, {**child, "gender": None})


async def test_closed_slicing_by_type_and_by_pattern(profiles: Profiles) -> None:
    assert error("slicing", "Observation.valueString") in await found(
        profiles, weight(valueQuantity=None, valueString="heavy")
    )
    other = [{"coding": [{"system": "urn:x", "code": "lab"}]}]
    got = await found(profiles, weight(category=other))
    assert error("slicing", "Observation.category[0]") in got
    assert error("slicing", "Observation.category") in got  # the vs slice is 1..1
    assert await found(profiles, weight(code={"text": "weight"})) == [error("pattern", "Observation.code")]


async def test_unknown_profiles(profiles: Profiles) -> None:
    claimed = {"resourceType": "Patient", "meta": {"profile": ["urn:unknown"]}}
    assert await found(profiles, claimed) == [("warning", "profile-unknown", "Resource.meta.profile")]
    assert await found(profiles, {"resourceType": "Patient"}, ("urn:unknown",)) == [
        error("profile-unknown", "Patient")
    ]
    assert await found(profiles, {"resourceType": "Observation"}, (INSUREE,)) == [
        error("profile-unknown", "Observation")
    ]


async def test_issue_carries_the_rule_system() -> None:
    p = Profiles(
        load(), Terminology(None), None, extra=ALL, system="https://x.org/CodeSystem/validation-rule"
    )
    [issue] = await p.validate(insuree(gender=None))
    assert issue.to_fhir()["details"]["coding"] == [
        {"system": "https://x.org/CodeSystem/validation-rule", "code": "cardinality"}
    ]
    assert issue.to_fhir()["expression"] == ["Patient.gender"]


def test_required_profiles_setting() -> None:
    assert parse_required(f"Patient={INSUREE}, Observation={OBS},Patient=urn:b") == {
        "Patient": (INSUREE, "urn:b"),
        "Observation": (OBS,),
    }
    assert parse_required("") == {}
    with pytest.raises(ValueError, match="Type=profile-url"):
        parse_required("Patient")


def test_snapshot_tree_keeps_slices_apart() -> None:
    tree = apply_differential(empty_tree("Patient"), ALL[1])
    identifier = tree.root.children["identifier"]
    assert identifier.min == 1 and identifier.slicing is not None
    sl = identifier.slices["insuranceNumber"]
    assert (sl.min, sl.max) == (1, "1")
    assert sl.children["system"].fixed == ("Uri", NUMBER_SYSTEM)
    assert sl.children["value"].path == "Patient.identifier.value"


# --------------------------------------------------------------------- official examples


def _pkg() -> Path:
    return require_r4_examples()


def _example(name: str) -> dict[str, Any]:
    return json.loads((_pkg() / name).read_text(encoding="utf-8"))  # type: ignore[no-any-return]


@pytest.fixture
def core_profiles() -> Profiles:
    p = Profiles(load(), Terminology(None), None)
    for name in ("StructureDefinition-vitalsigns.json", "StructureDefinition-bodyheight.json"):
        p.add(_example(name))
    return p


BODY_HEIGHT = "http://hl7.org/fhir/StructureDefinition/bodyheight"


async def test_official_vital_signs_examples_conform(core_profiles: Profiles) -> None:
    checked = 0
    for path in sorted(_pkg().glob("Observation-*.json")):
        r = json.loads(path.read_text(encoding="utf-8"))
        if "http://hl7.org/fhir/StructureDefinition/vitalsigns" in (r.get("meta") or {}).get("profile", []):
            assert await found(core_profiles, r) == [], path.name
            checked += 1
    assert checked >= 10


async def test_official_example_broken_fixed_value(core_profiles: Profiles) -> None:
    r = _example("Observation-body-height.json")
    assert await found(core_profiles, r, (BODY_HEIGHT,)) == []
    r["valueQuantity"]["system"] = "http://example.org/units"
    assert await found(core_profiles, r, (BODY_HEIGHT,)) == [
        error("fixed", "Observation.valueQuantity.system")
    ]


async def test_official_example_broken_slicing(core_profiles: Profiles) -> None:
    r = _example("Observation-body-height.json")
    r["category"][0]["coding"][0]["code"] = "laboratory"
    # once for bodyheight (demanded), once for vitalsigns (claimed), which both slice category
    assert await found(core_profiles, r, (BODY_HEIGHT,)) == [error("slicing", "Observation.category")] * 2


async def test_official_example_broken_cardinality(core_profiles: Profiles) -> None:
    r = copy.deepcopy(_example("Observation-body-height.json"))
    del r["effectiveDateTime"]
    assert error("cardinality", "Observation.effective") in await found(core_profiles, r, (BODY_HEIGHT,))


async def test_a_core_extension_out_of_context_is_a_warning(core_profiles: Profiles) -> None:
    core_profiles.add(_example("StructureDefinition-structuredefinition-normative-version.json"))
    r = _example("Observation-body-height.json")
    r["extension"] = [
        {
            "url": "http://hl7.org/fhir/StructureDefinition/structuredefinition-normative-version",
            "valueCode": "4.0.0",
        }
    ]
    assert await found(core_profiles, r) == [("warning", "extension-context", "Observation.extension[0]")]
