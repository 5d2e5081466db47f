"""Our implementation guide as data (``profiles/``, ``terminology/``, ``examples/``) is consistent.

Every file parses and is named after its content; canonical urls follow
``{canonical_base}/{resourceType}/{id}`` and are unique; every CodeSystem is complete with
display and definition for each code; every ValueSet, ConceptMap and binding points at codes,
CodeSystems and ValueSets we ship or the R4 core ships; every StructureDefinition is a
differential constraint on a core type whose element paths exist there; every example claims a
profile we ship and meets its key rules; every invalid example in ``examples/invalid/`` is
valid R4 but breaks exactly the rule its manifest entry names, at the expression it names.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from fhir_server.definitions import load as core_definitions
from fhir_server.fhirpath import compile_expression
from fhir_server.terminology.sources import CoreSource
from fhir_server.validation import raise_if_invalid
from tests.unit import ig_rules

ROOT = Path(__file__).resolve().parents[2]
PROFILES = ROOT / "profiles"
TERMINOLOGY = ROOT / "terminology"
EXAMPLES = ROOT / "examples"
INVALID = EXAMPLES / "invalid"
BASE = "https://openimis.org/fhir"
CORE_SD = "http://hl7.org/fhir/StructureDefinition/"
STRUCTURAL_KEYS = {
    "cardinality", "fixed", "pattern", "binding", "slicing", "extension-context", "type", "profile-unknown",
}  # fmt: skip
# examples that are not insurance resources (or, for amani-lyimo, an incomplete registration
# without birth date kept for the search tests) and so claim no profile of ours
UNPROFILED = {"Observation", "Bundle"}
UNPROFILED_FILES = {"Patient-amani-lyimo.json"}

IG_FILES = sorted([*PROFILES.glob("*.json"), *TERMINOLOGY.glob("*.json")])
EXAMPLE_FILES = sorted(EXAMPLES.glob("*.json"))


def read(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


@cache
def ig() -> dict[str, dict[str, dict[str, Any]]]:
    """Our conformance resources by type, then by url."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for path in IG_FILES:
        res = read(path)
        out.setdefault(res["resourceType"], {})[res["url"]] = res
    return out


@cache
def core() -> CoreSource:
    return CoreSource()


def resources(example: dict[str, Any]) -> list[dict[str, Any]]:
    if example["resourceType"] == "Bundle":
        return [e["resource"] for e in example.get("entry", [])]
    return [example]


def codes_of(system: str) -> set[str] | None:
    ours = ig().get("CodeSystem", {}).get(system)
    if ours is not None:
        return {c["code"] for c in ours["concept"]}
    cs = core().codesystem(system, None)
    return set(cs.concepts) if cs is not None else None


def valueset_known(url: str) -> bool:
    return url in ig().get("ValueSet", {}) or core().valueset(url, None) is not None


def profile_known(url: str) -> bool:
    return url in ig().get("StructureDefinition", {}) or (
        url.startswith(CORE_SD) and core_definitions().elements(url.removeprefix(CORE_SD)) != {}
    )


# ---------------------------------------------------------------- files and urls


@pytest.mark.parametrize("path", IG_FILES, ids=lambda p: p.stem)
def test_ig_file_is_named_after_its_content_and_url_follows_the_convention(path: Path) -> None:
    res = read(path)
    rtype, _, rid = path.stem.partition("-")
    assert res["resourceType"] == rtype
    assert res["id"] == rid
    assert re.fullmatch(r"[A-Za-z0-9\-.]{1,64}", rid)
    assert res["url"] == f"{BASE}/{rtype}/{rid}"
    assert res["status"] == "active"
    if rtype != "SearchParameter":
        assert res["version"] and res["name"]
    if rtype in ("CodeSystem", "ValueSet", "ConceptMap", "StructureDefinition"):
        assert res["title"] and res["description"]
        assert re.fullmatch(r"[A-Z][A-Za-z0-9_]*", res["name"])


def test_canonical_urls_and_names_are_unique() -> None:
    urls = [read(p)["url"] for p in IG_FILES]
    assert len(urls) == len(set(urls))
    for rtype in ("CodeSystem", "ValueSet", "StructureDefinition", "ConceptMap"):
        names = [r["name"] for r in ig().get(rtype, {}).values()]
        assert len(names) == len(set(names)), rtype


def test_every_json_file_parses() -> None:
    for path in [*IG_FILES, *EXAMPLE_FILES, *INVALID.glob("*.json")]:
        assert isinstance(json.loads(path.read_text(encoding="utf-8")), (dict, list)), path


# ---------------------------------------------------------------- terminology

# the openIMIS code sets the IG must carry, with their exact codes (DOMAIN.md §1.5, §2, §5, §6)
EXACT_CODES = {
    "claim-status": ["1", "2", "4", "8", "16"],
    "claim-rejection-reasons": ["-2", "-1", *[str(i) for i in range(18)], "19"],
    "claim-visit-type": ["E", "R", "O"],
    "policy-status": ["1", "2", "4", "8", "16"],
    "policy-stage": ["N", "R"],
    "patient-category": ["1", "2", "4", "8"],
    "service-category": ["S", "D", "A", "H", "C", "O", "V"],
    "contribution-pay-type": ["C", "B", "M", "F"],
    "relationship": [str(i) for i in range(1, 9)],
    "profession": ["1", "2", "3", "4"],
    "education": [str(i) for i in range(1, 8)],
    "identification-type": ["D", "N", "P", "V"],
    "facility-level": ["D", "C", "H"],
    "care-type": ["I", "O", "B"],
    "facility-legal-form": ["C", "D", "G", "P"],
    "location-type": ["R", "D", "W", "V"],
    "item-type": ["D", "M"],
    "service-type": ["P", "C"],
    "claim-review-status": ["1", "2", "4", "8", "16"],
    "family-type": ["C", "G", "H", "O", "P", "S", "T"],
    "practitioner-qualification": ["CA", "EO"],
    "identifier-type": ["UUID", "Code"],
}


@pytest.mark.parametrize("cs_id", sorted(EXACT_CODES))
def test_openimis_code_systems_have_the_exact_codes(cs_id: str) -> None:
    cs = ig()["CodeSystem"][f"{BASE}/CodeSystem/{cs_id}"]
    assert [c["code"] for c in cs["concept"]] == EXACT_CODES[cs_id]


def test_rejection_reasons_say_what_each_code_means() -> None:
    cs = ig()["CodeSystem"][f"{BASE}/CodeSystem/claim-rejection-reasons"]
    by_code = {c["code"]: c["display"] for c in cs["concept"]}
    assert "18" not in by_code
    assert by_code["-2"] == "Rejected by AI evaluation"
    assert by_code["0"] == "Accepted"
    assert by_code["17"] == "Waiting period fail"


@pytest.mark.parametrize("url", sorted(ig()["CodeSystem"]), ids=lambda u: u.rsplit("/", 1)[1])
def test_code_system_is_complete_with_display_and_definition(url: str) -> None:
    cs = ig()["CodeSystem"][url]
    assert cs["content"] == "complete" and cs["caseSensitive"] is True
    codes = [c["code"] for c in cs["concept"]]
    assert len(codes) == len(set(codes)) == cs["count"]
    for c in cs["concept"]:
        assert c["display"].strip() and c["definition"].strip(), c
    assert cs["valueSet"] in ig()["ValueSet"]


@pytest.mark.parametrize("url", sorted(ig()["ValueSet"]), ids=lambda u: u.rsplit("/", 1)[1])
def test_value_set_codes_exist_in_their_code_systems(url: str) -> None:
    vs = ig()["ValueSet"][url]
    for part in [*vs["compose"].get("include", []), *vs["compose"].get("exclude", [])]:
        for ref in part.get("valueSet", []):
            assert valueset_known(ref), ref
        if "system" in part:
            known = codes_of(part["system"])
            assert known is not None, part["system"]
            missing = {c["code"] for c in part.get("concept", [])} - known
            assert not missing, (part["system"], missing)
    assert ig_rules.valueset_codes(url) or url.endswith("-open")


@pytest.mark.parametrize("url", sorted(ig().get("ConceptMap", {})), ids=lambda u: u.rsplit("/", 1)[1])
def test_concept_map_codes_exist_on_both_sides(url: str) -> None:
    cm = ig()["ConceptMap"][url]
    assert valueset_known(cm["sourceCanonical"]) and valueset_known(cm["targetCanonical"])
    for group in cm["group"]:
        source, target = codes_of(group["source"]), codes_of(group["target"])
        assert source is not None and target is not None
        mapped = {e["code"] for e in group["element"]}
        assert mapped == source, "every source code is mapped"
        for element in group["element"]:
            for t in element["target"]:
                assert t["code"] in target and t["equivalence"], (element["code"], t)


def test_policy_status_maps_to_coverage_status_and_claim_status_to_outcome() -> None:
    cms = ig()["ConceptMap"]
    policy = {
        e["code"]: e["target"][0]["code"]
        for e in cms[f"{BASE}/ConceptMap/policy-status-to-coverage-status"]["group"][0]["element"]
    }
    assert policy == {"1": "draft", "2": "active", "4": "cancelled", "8": "cancelled", "16": "draft"}
    claim = {
        e["code"]: e["target"][0]["code"]
        for e in cms[f"{BASE}/ConceptMap/claim-status-to-claimresponse-outcome"]["group"][0]["element"]
    }
    assert claim == {"1": "complete", "2": "queued", "4": "partial", "8": "partial", "16": "complete"}


async def test_the_terminology_service_expands_our_value_sets() -> None:
    from fhir_server.terminology import Terminology

    t = Terminology(None, folder=TERMINOLOGY)
    got = await t.expand(f"{BASE}/ValueSet/policy-status")
    assert {c for _, c in got} == {"1", "2", "4", "8", "16"}
    rejected = await t.expand(f"{BASE}/ValueSet/claim-rejection-reasons-rejected")
    assert len(rejected) == 20 and (f"{BASE}/CodeSystem/claim-rejection-reasons", "0") not in rejected


# ---------------------------------------------------------------- structure definitions

SDS = sorted(ig()["StructureDefinition"])


def element_type(sd_type: str, path: str) -> list[str] | None:
    """The core types of an element path (``Claim.item.quantity``), None if there is no such element."""
    current = [sd_type]
    for name in path.split(".")[1:]:
        if len(current) != 1:
            return None  # below a choice: not used by our differentials
        element = core_definitions().elements(current[0]).get(name.removesuffix("[x]"))
        if element is None or element.choice != name.endswith("[x]"):
            return None
        current = list(element.types)
    return current


@pytest.mark.parametrize("url", SDS, ids=lambda u: u.rsplit("/", 1)[1])
def test_structure_definition_is_a_differential_constraint_on_a_core_type(url: str) -> None:
    sd = ig()["StructureDefinition"][url]
    assert sd["fhirVersion"] == "4.0.1" and sd["derivation"] == "constraint" and sd["abstract"] is False
    assert sd["baseDefinition"] == CORE_SD + sd["type"]
    assert "snapshot" not in sd
    if sd["type"] == "Extension":
        assert sd["kind"] == "complex-type"
        assert sd["context"] and all(c["type"] == "element" for c in sd["context"])
        for c in sd["context"]:
            assert element_type(c["expression"].split(".")[0], c["expression"]) is not None or (
                c["expression"] in core_definitions().types
            ), c
        ids = [e["id"] for e in sd["differential"]["element"]]
        assert "Extension.url" in ids and "Extension.value[x]" in ids
    else:
        assert sd["kind"] == "resource" and core_definitions().is_resource_type(sd["type"])
    for el in sd["differential"]["element"]:
        assert el["path"] == re.sub(r":[^.]+", "", el["id"]) and el["path"].split(".")[0] == sd["type"]
        types = element_type(sd["type"], el["path"])
        assert types is not None, el["id"]
        for t in el.get("type", []):
            assert t["code"] in types, (el["id"], t["code"])
            for target in [*t.get("profile", []), *t.get("targetProfile", [])]:
                assert profile_known(target), (el["id"], target)
        if "max" in el and el["max"] != "*":
            assert int(el["max"]) >= el.get("min", 0)


@pytest.mark.parametrize("url", SDS, ids=lambda u: u.rsplit("/", 1)[1])
def test_every_binding_points_to_a_value_set_we_or_the_core_ship(url: str) -> None:
    for el in ig()["StructureDefinition"][url]["differential"]["element"]:
        if "binding" in el:
            assert el["binding"]["strength"] in ("required", "extensible", "preferred", "example")
            assert valueset_known(el["binding"]["valueSet"]), (el["id"], el["binding"])


def all_constraints() -> list[tuple[str, dict[str, Any]]]:
    return [
        (url, c)
        for url, sd in ig()["StructureDefinition"].items()
        for el in sd["differential"]["element"]
        for c in el.get("constraint", [])
    ]


def test_our_invariants_have_unique_keys_text_and_expressions_that_compile() -> None:
    keys = [c["key"] for _, c in all_constraints()]
    assert len(keys) == len(set(keys)) and len(keys) >= 20
    for url, c in all_constraints():
        assert re.fullmatch(r"oi-[a-z]+-\d+", c["key"]), c
        assert c["severity"] in ("error", "warning") and c["human"].strip() and c["source"] == url
        compile_expression(c["expression"])


def test_the_insurance_profiles_exist() -> None:
    wanted = {
        "insuree": "Patient", "family": "Group", "health-facility": "Organization", "insurer": "Organization",
        "location": "Location", "enrolment-officer": "Practitioner", "claim-administrator": "Practitioner",
        "enrolment-officer-role": "PractitionerRole", "claim-administrator-role": "PractitionerRole",
        "product": "InsurancePlan", "policy": "Coverage", "premium": "PaymentNotice",
        "eligibility-request": "CoverageEligibilityRequest",
        "eligibility-response": "CoverageEligibilityResponse",
        "claim": "Claim", "claim-response": "ClaimResponse", "medical-item": "Medication",
        "medical-service": "ActivityDefinition", "price-list-entry": "ChargeItemDefinition",
    }  # fmt: skip
    for pid, rtype in wanted.items():
        assert ig()["StructureDefinition"][f"{BASE}/StructureDefinition/{pid}"]["type"] == rtype


def test_the_insuree_profile_requires_the_insurance_number_slice_with_its_fixed_system() -> None:
    sd = ig()["StructureDefinition"][f"{BASE}/StructureDefinition/insuree"]
    by_id = {e["id"]: e for e in sd["differential"]["element"]}
    assert by_id["Patient.identifier"]["slicing"]["discriminator"] == [{"type": "value", "path": "system"}]
    assert by_id["Patient.identifier:insuranceNumber"]["min"] == 1
    assert (
        by_id["Patient.identifier:insuranceNumber.system"]["fixedUri"]
        == "https://openimis.org/fhir/insurance-number"
    )


# ---------------------------------------------------------------- examples


def profiled_examples() -> list[tuple[str, int, dict[str, Any]]]:
    out = []
    for path in EXAMPLE_FILES:
        for i, res in enumerate(resources(read(path))):
            if res.get("meta", {}).get("profile"):
                out.append((path.name, i, res))
    return out


def test_every_insurance_example_claims_a_profile_we_ship() -> None:
    for path in EXAMPLE_FILES:
        for res in resources(read(path)):
            claimed = res.get("meta", {}).get("profile", [])
            for url in claimed:
                assert url in ig()["StructureDefinition"], (path.name, url)
            if res["resourceType"] not in UNPROFILED and path.name not in UNPROFILED_FILES:
                assert claimed, (path.name, res["resourceType"])


def test_every_profile_has_a_valid_example() -> None:
    claimed = {url for _, _, res in profiled_examples() for url in res["meta"]["profile"]}
    profiles = {u for u, sd in ig()["StructureDefinition"].items() if sd["type"] != "Extension"}
    assert profiles <= claimed, profiles - claimed


@pytest.mark.parametrize(("name", "index", "resource"), profiled_examples(), ids=lambda v: str(v)[:40])
def test_example_meets_the_key_rules_of_its_profile(name: str, index: int, resource: dict[str, Any]) -> None:
    for url in resource["meta"]["profile"]:
        assert ig_rules.check(resource, url) == [], (name, index, url)


# ---------------------------------------------------------------- invalid examples


@cache
def manifest() -> list[dict[str, str]]:
    data = json.loads((INVALID / "manifest.json").read_text())
    assert isinstance(data, list)
    return data


def test_manifest_lists_every_invalid_example_once_with_a_known_profile_and_rule() -> None:
    files = [e["file"] for e in manifest()]
    assert sorted(files) == sorted(p.name for p in INVALID.glob("*.json") if p.name != "manifest.json")
    assert len(files) == len(set(files))
    keys = {c["key"] for _, c in all_constraints()}
    for entry in manifest():
        assert set(entry) >= {"file", "profile", "key", "expression"}
        assert entry["profile"] in ig()["StructureDefinition"], entry
        assert entry["key"] in STRUCTURAL_KEYS | keys, entry
        res = read(INVALID / entry["file"])
        assert entry["file"].startswith(res["resourceType"] + "-")
        assert entry["expression"].split(".")[0].split("[")[0] == res["resourceType"]
        assert res["meta"]["profile"] == [entry["profile"]]


def test_every_invariant_and_every_profile_has_an_invalid_example() -> None:
    tested_keys = {e["key"] for e in manifest()}
    assert {c["key"] for _, c in all_constraints()} <= tested_keys
    tested_profiles = {e["profile"] for e in manifest()}
    profiles = {u for u, sd in ig()["StructureDefinition"].items() if sd["type"] != "Extension"}
    assert profiles <= tested_profiles, profiles - tested_profiles
    assert {
        "cardinality",
        "fixed",
        "pattern",
        "binding",
        "slicing",
        "extension-context",
        "type",
    } <= tested_keys


@pytest.mark.parametrize("entry", manifest(), ids=lambda e: e["file"])
def test_invalid_example_is_valid_r4_and_breaks_its_rule_where_the_manifest_says(
    entry: dict[str, str],
) -> None:
    resource = read(INVALID / entry["file"])
    raise_if_invalid(resource)  # only the profile is broken
    assert (entry["key"], entry["expression"]) in ig_rules.check(resource, entry["profile"])


@cache
def core_elements(type_name: str) -> list[tuple[str, tuple[str, ...]]]:
    """(path, type codes) of the base definition's snapshot, in order."""
    from tests.conftest import require_r4_examples

    sd = read(require_r4_examples() / f"StructureDefinition-{type_name}.json")
    return [(e["path"], tuple(t["code"] for t in e.get("type", []))) for e in sd["snapshot"]["element"]]


def order_key(sd_type: str, element_id: str, slices: dict[str, int]) -> tuple[tuple[int, int], ...]:
    """Where an element comes in the base definition, walking into datatypes
    (``Patient.identifier.system``: identifier's place in Patient, then system's in Identifier);
    a slice and its children come after the sliced element, slices in their order of appearance."""
    key: list[tuple[int, int]] = []
    type_name, prefix, seen = sd_type, sd_type, sd_type
    for segment in element_id.split(".")[1:]:
        name, _, slice_name = segment.partition(":")
        elements = core_elements(type_name)
        here = f"{prefix}.{name}"
        index = next(i for i, (p, _) in enumerate(elements) if p == here)
        seen = f"{seen}.{segment}"
        rank = slices.setdefault(seen, len(slices) + 1) if slice_name else 0
        key.append((index, rank))
        if any(p.startswith(here + ".") for p, _ in elements):
            prefix = here  # a backbone element: its children follow in the same definition
            continue
        types = elements[index][1]
        if len(types) != 1 or not types[0][0].isupper():
            break
        type_name = prefix = types[0]
    return tuple(key)


@pytest.mark.parametrize("url", SDS, ids=lambda u: u.rsplit("/", 1)[1])
def test_differential_elements_come_in_the_order_of_the_base_definition(url: str) -> None:
    """Snapshot generation walks a differential in the base's element order (profiling.html)."""
    sd = ig()["StructureDefinition"][url]
    slices: dict[str, int] = {}
    keys = [order_key(sd["type"], e["id"], slices) for e in sd["differential"]["element"]]
    assert keys == sorted(keys), [e["id"] for e in sd["differential"]["element"]]
