"""The worked examples (examples/) agree with the family rules: each family's head is a
member, ``quantity`` counts the members, every member is an insuree naming the family with
the right ``insuree-is-head``, no insurance number is used twice, and every number passes
the legacy rule (9 digits, modulo 7) the scheme's examples are numbered with."""

from __future__ import annotations

import json
from typing import Any

from fhir_server.insurance.insurance_number import InsuranceNumberRules, validate_insurance_number
from fhir_server.scheme.records import (
    EXT_INSUREE_IS_HEAD,
    extension,
    family_of,
    head_id,
    insurance_numbers,
    is_family,
    is_insuree,
    member_ids,
)
from tests.conftest import EXAMPLES


def _examples() -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for path in EXAMPLES.glob("*.json"):
        resource = json.loads(path.read_text())
        if resource["resourceType"] in ("Patient", "Group"):
            out[f"{resource['resourceType']}/{resource['id']}"] = resource
    return out


def test_example_families_are_consistent() -> None:
    examples = _examples()
    families = {k: r for k, r in examples.items() if k.startswith("Group/") and is_family(r)}
    assert families
    for key, group in families.items():
        members = member_ids(group)
        assert head_id(group) in members, key
        assert group.get("quantity", len(members)) == len(members), key
        for pid in members:
            patient = examples[f"Patient/{pid}"]
            assert is_insuree(patient), pid
            assert family_of(patient) == key.split("/")[1], pid
            flag = extension(patient, EXT_INSUREE_IS_HEAD)
            assert (flag[1]["valueBoolean"] if flag else False) is (pid == head_id(group)), pid
    # every Patient naming a family is listed by it
    for key, patient in examples.items():
        fid = family_of(patient) if key.startswith("Patient/") else None
        if fid is not None:
            assert key.split("/")[1] in member_ids(families[f"Group/{fid}"]), key


def test_example_insurance_numbers_are_unique_and_well_formed() -> None:
    rules = InsuranceNumberRules(length=9, modulo_root=7)
    seen: dict[str, str] = {}
    for key, resource in _examples().items():
        if not key.startswith("Patient/") or not is_insuree(resource):
            continue
        for _, no in insurance_numbers(resource):
            assert validate_insurance_number(no, rules).ok, (key, no)
            assert no not in seen, (key, seen.get(no))
            seen[no] = key
    assert len(seen) >= 9
