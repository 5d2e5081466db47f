"""SearchRegistry (search/registry.py) and the path walker's parsing (fhirpath_paths.py)."""

from __future__ import annotations

import pytest

from fhir_server.errors import InvalidError
from fhir_server.search.fhirpath_paths import Unsupported, _Parser, branches_for, split_union
from fhir_server.search.registry import SearchRegistry, default_registry


def test_official_parameters(registry: SearchRegistry) -> None:
    name = registry.get("Patient", "name")
    assert name is not None and name.type == "string" and name.expression == "Patient.name"
    assert name.url == "http://hl7.org/fhir/SearchParameter/Patient-name" and name.base == ("Patient",)
    subject = registry.get("Observation", "subject")
    assert subject is not None and "Patient" in subject.targets
    assert registry.get("Observation", "code") is registry.get("Condition", "code")  # clinical-code
    combo = registry.get("Observation", "code-value-quantity")
    assert combo is not None and combo.type == "composite" and len(combo.components) == 2
    assert registry.get("Patient", "nope") is None
    assert default_registry() is default_registry()


def test_common_parameters(registry: SearchRegistry) -> None:
    for code in ("_id", "_lastUpdated", "_tag", "_profile", "_security", "_source"):
        assert registry.get("Patient", code) is not None
        assert registry.get("Bundle", code) is not None
        assert code in registry.for_type("Observation")
    assert registry.get("Patient", "_text") is not None  # DomainResource
    assert registry.get("Bundle", "_text") is None  # Bundle is not a DomainResource
    assert len(registry.for_type("Observation")) > 40


def test_add_custom_parameter() -> None:
    reg = SearchRegistry.from_definitions()
    generation = reg.generation
    sp = {
        "resourceType": "SearchParameter",
        "url": "http://example.org/SearchParameter/Patient-nick",
        "code": "nick",
        "base": ["Patient"],
        "type": "string",
        "expression": "Patient.name.where(use='nickname').given",
    }
    spd = reg.add(sp)
    assert reg.get("Patient", "nick") is spd and reg.generation > generation
    assert reg.add({**sp, "code": "nickname"}) is reg.get("Patient", "nickname")
    assert reg.get("Patient", "nick") is None  # replaced (same url)
    for bad in (
        {**sp, "type": "text"},
        {**sp, "code": ""},
        {**sp, "base": []},
        {**sp, "expression": "Patient.name +"},
    ):
        with pytest.raises(InvalidError):
            reg.add(bad)


def test_union_pruning() -> None:
    expr = "AllergyIntolerance.code | (DeviceRequest.code as CodeableConcept) | Observation.code"
    assert split_union(expr) == [
        "AllergyIntolerance.code",
        "(DeviceRequest.code as CodeableConcept)",
        "Observation.code",
    ]
    assert branches_for(expr, "DeviceRequest") == ["(DeviceRequest.code as CodeableConcept)"]
    assert branches_for("Resource.meta.tag", "Patient") == ["Resource.meta.tag"]
    assert split_union("a.where(b='x|y') | c") == ["a.where(b='x|y')", "c"]


def test_walker_grammar() -> None:
    assert _Parser("(Observation.value as CodeableConcept).text").parse() == [
        [("root", "Observation"), ("field", "value"), ("as", "CodeableConcept"), ("field", "text")]
    ]
    assert _Parser("Condition.onset.as(Age)").parse() == [
        [("root", "Condition"), ("field", "onset"), ("as", "Age")]
    ]
    assert _Parser("Bundle.entry[0].resource").parse()[0][2:] == [("index", "0"), ("field", "resource")]
    assert _Parser("Account.subject.where(resolve() is Patient)").parse()[0][-1] == ("where_is", "Patient")
    assert _Parser("Patient.telecom.where(system='email')").parse()[0][-1] == ("where_eq", "system", "email")
    assert _Parser("Observation.value.ofType(Quantity)").parse()[0][-1] == ("as", "Quantity")
    for unsupported in ("Patient.deceased.exists() and Patient.deceased != false", "Patient.name.count()"):
        with pytest.raises(Unsupported):
            _Parser(unsupported).parse()


def test_all_official_expressions_parse_or_fall_back(registry: SearchRegistry) -> None:
    from fhir_server.definitions import load

    fallbacks = []
    for sp in load().search_params:
        expr = sp.get("expression")
        if not expr or sp["type"] in ("composite", "special"):
            continue
        for branch in split_union(expr):
            try:
                _Parser(branch).parse()
            except Unsupported:
                fallbacks.append(branch)
    assert fallbacks == ["Patient.deceased.exists() and Patient.deceased != false"]
