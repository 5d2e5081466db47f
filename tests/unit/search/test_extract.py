"""Extraction (search/extract.py) over real values and the official examples."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

from fhir_server.search.contained import CONTAINED_KEY
from fhir_server.search.extract import Extractor
from fhir_server.search.index import (
    DateEntry,
    NumberEntry,
    QuantityEntry,
    ReferenceEntry,
    StringEntry,
    TokenEntry,
    UriEntry,
)
from fhir_server.search.registry import SearchRegistry
from fhir_server.search.types.date import date_range

from .conftest import BASE


def test_every_official_example_extracts_without_error(examples: list[dict[str, Any]]) -> None:
    extractor = Extractor(SearchRegistry.from_definitions(), base_url=BASE)
    started = time.perf_counter()
    total = 0
    for resource in examples:
        entries = extractor.extract(resource)
        for code, values in entries.items():
            assert values, code
            total += len(values)
    elapsed = time.perf_counter() - started
    assert len(examples) > 5000
    assert total > 100_000
    assert elapsed < 30  # measured ~20k resources/s; this only guards against pathologies


def test_keys_are_parameters_of_the_type(
    extractor: Extractor, registry: SearchRegistry, examples: list[dict[str, Any]]
) -> None:
    for resource in examples[::7]:
        params = registry.for_type(resource["resourceType"])
        for key in extractor.extract(resource):
            if key == CONTAINED_KEY:  # the contained resources' own entries (search/contained.py)
                continue
            assert key.removesuffix(":identifier").removesuffix(":of-type") in params


def test_patient_example(extractor: Extractor, example: Any) -> None:
    e = extractor.extract(example("Patient", "example"))
    assert "_id" not in e and "_lastUpdated" not in e
    assert StringEntry("chalmers", "Chalmers") in e["family"]
    assert StringEntry("peter", "Peter") in e["given"]
    assert StringEntry("pleasantville", "PleasantVille") in e["address-city"]
    assert e["gender"] == [TokenEntry("http://hl7.org/fhir/administrative-gender", "male")]
    assert e["active"] == [TokenEntry(None, "true")]
    assert e["identifier"] == [TokenEntry("urn:oid:1.2.36.146.595.217.0.1", "12345")]
    assert e["organization"] == [ReferenceEntry("Organization/1", "Organization")]
    assert e["birthdate"] == [DateEntry(*date_range("1974-12-25"))]
    assert TokenEntry(None, "(03) 5555 6473") in e["phone"]
    assert e["deceased"] == [TokenEntry(None, "false")]  # fhirpathpy fallback


def test_union_pruned_to_the_type(extractor: Extractor, example: Any) -> None:
    # clinical-code: "AllergyIntolerance.code | ... | Observation.code | ..."
    e = extractor.extract(example("Observation", "blood-pressure"))
    assert (
        TokenEntry("http://loinc.org", "85354-9", "blood pressure panel with all children optional")
        in e["code"]
    )
    assert TokenEntry(None, None, "blood pressure systolic & diastolic") in e["code"]  # CodeableConcept.text
    assert e["patient"] == [ReferenceEntry("Patient/example", "Patient")]  # where(resolve() is Patient)
    assert e["_profile"] == [UriEntry("http://hl7.org/fhir/StructureDefinition/vitalsigns")]
    written = QuantityEntry(107.0, 106.5, 107.5, "http://unitsofmeasure.org", "mm[Hg]", "mmHg")
    assert written[:6] in [q[:6] for q in e["component-value-quantity"]]  # + UCUM canonical fields
    assert e["based-on:identifier"] == [TokenEntry("https://acme.org/identifiers", "1234")]


def test_choice_elements_expand(extractor: Extractor) -> None:
    obs = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"text": "x"},
        "valueQuantity": {
            "value": Decimal("1.50"),
            "unit": "mg",
            "system": "http://unitsofmeasure.org",
            "code": "mg",
        },
        "effectivePeriod": {"start": "2020-01-01", "end": "2020-01-31"},
    }
    e = extractor.extract(obs)
    (q,) = e["value-quantity"]
    assert (q.value, q.code, q.unit) == (1.5, "mg", "mg")
    assert abs(q.lo - 1.495) < 1e-12 and abs(q.hi - 1.505) < 1e-12
    assert "value-concept" not in e and "value-string" not in e
    (d,) = e["date"]
    assert d == DateEntry(date_range("2020-01-01")[0], date_range("2020-01-31")[1])
    assert e["status"] == [TokenEntry("http://hl7.org/fhir/observation-status", "final")]


def test_value_string_and_value_concept(extractor: Extractor) -> None:
    obs = {
        "resourceType": "Observation",
        "valueCodeableConcept": {"text": "Positive", "coding": [{"code": "P"}]},
    }
    e = extractor.extract(obs)
    assert e["value-string"] == [StringEntry("positive", "Positive")]  # (value as CodeableConcept).text
    assert TokenEntry(None, "P") in e["value-concept"]


def test_email_and_phone_filter_contact_points(extractor: Extractor) -> None:
    p = {
        "resourceType": "Patient",
        "telecom": [{"system": "email", "value": "a@b.org"}, {"system": "phone", "value": "123"}],
    }
    e = extractor.extract(p)
    assert e["email"] == [TokenEntry(None, "a@b.org")]
    assert e["phone"] == [TokenEntry(None, "123")]
    assert len(e["telecom"]) == 2


def test_references(extractor: Extractor) -> None:
    obs = {
        "resourceType": "Observation",
        "subject": {"reference": f"{BASE}/Patient/7/_history/3"},
        "performer": [
            {"reference": "http://other.org/fhir/Practitioner/9"},
            {"reference": "#contained"},
            {"identifier": {"system": "urn:npi", "value": "42"}},
            {"reference": "Organization/o1", "identifier": {"value": "X"}},
        ],
        "hasMember": [{"reference": "urn:uuid:1234", "type": "Observation"}],
    }
    e = extractor.extract(obs)
    assert e["subject"] == [ReferenceEntry("Patient/7", "Patient", "3")]
    assert e["patient"] == [ReferenceEntry("Patient/7", "Patient", "3")]
    assert e["performer"] == [
        ReferenceEntry("http://other.org/fhir/Practitioner/9", None),
        ReferenceEntry("Organization/o1", "Organization"),
    ]
    assert e["performer:identifier"] == [TokenEntry("urn:npi", "42"), TokenEntry(None, "X")]
    assert e["has-member"] == [ReferenceEntry("urn:uuid:1234", None)]


def test_canonical_reference_and_uri(extractor: Extractor) -> None:
    q = {
        "resourceType": "Questionnaire",
        "url": "http://example.org/Questionnaire/q",
    }
    e = extractor.extract(q)
    assert e["url"] == [UriEntry("http://example.org/Questionnaire/q")]
    pd = {"resourceType": "PlanDefinition", "library": ["http://example.org/Library/l|1.2"]}
    assert extractor.extract(pd)["depends-on"] == [
        ReferenceEntry("http://example.org/Library/l", None, "1.2")
    ]


def test_bundle_composition_only_for_compositions(extractor: Extractor) -> None:
    doc = {
        "resourceType": "Bundle",
        "type": "document",
        "entry": [
            {"resource": {"resourceType": "Composition", "id": "c1"}},
            {"resource": {"resourceType": "Patient", "id": "p"}},
        ],
    }
    assert extractor.extract(doc)["composition"] == [ReferenceEntry("Composition/c1", "Composition")]
    other = {"resourceType": "Bundle", "entry": [{"resource": {"resourceType": "Patient", "id": "p"}}]}
    assert "composition" not in extractor.extract(other)


def test_numbers_from_decimal_int_and_float(extractor: Extractor) -> None:
    ra = {"resourceType": "RiskAssessment", "prediction": [{"probabilityDecimal": Decimal("0.50")}]}
    assert extractor.extract(ra)["probability"] == [NumberEntry(0.5, 0.495, 0.505)]
    ra = {"resourceType": "RiskAssessment", "prediction": [{"probabilityDecimal": 2}]}
    assert extractor.extract(ra)["probability"] == [NumberEntry(2.0, 1.5, 2.5)]
    ra = {"resourceType": "RiskAssessment", "prediction": [{"probabilityDecimal": 0.25}]}
    assert extractor.extract(ra)["probability"] == [NumberEntry(0.25, 0.245, 0.255)]
    ra = {
        "resourceType": "RiskAssessment",
        "prediction": [{"probabilityRange": {"low": {"value": 1}, "high": {"value": 3}}}],
    }
    assert extractor.extract(ra)["probability"] == [NumberEntry(1.0, 0.5, 1.5), NumberEntry(3.0, 2.5, 3.5)]


def test_money_and_range_quantities(extractor: Extractor) -> None:
    ci = {"resourceType": "ChargeItem", "priceOverride": {"value": Decimal("40.00"), "currency": "EUR"}}
    (q,) = extractor.extract(ci)["price-override"]
    assert (q.value, q.system, q.code, q.unit) == (40.0, "urn:iso:std:iso:4217", "EUR", None)
    cond = {
        "resourceType": "Condition",
        "onsetRange": {"low": {"value": 10, "unit": "a"}, "high": {"value": 20, "unit": "a"}},
    }
    assert [q.value for q in extractor.extract(cond)["onset-age"]] == [10.0, 20.0]


def test_meta_tag_profile_security(extractor: Extractor) -> None:
    p = {
        "resourceType": "Patient",
        "meta": {
            "tag": [{"system": "urn:t", "code": "a", "display": "Tag A"}],
            "security": [{"system": "urn:s", "code": "R"}],
            "profile": ["http://example.org/StructureDefinition/p"],
            "source": "urn:src",
            "lastUpdated": "2020-01-01T00:00:00Z",
        },
    }
    e = extractor.extract(p)
    assert e["_tag"] == [TokenEntry("urn:t", "a", "tag a")]
    assert e["_security"] == [TokenEntry("urn:s", "R")]
    assert e["_profile"] == [UriEntry("http://example.org/StructureDefinition/p")]
    assert e["_source"] == [UriEntry("urn:src")]
    assert "_lastUpdated" not in e


def test_timing_outer_limits(extractor: Extractor) -> None:
    mr = {
        "resourceType": "CarePlan",
        "activity": [{"detail": {"scheduledTiming": {"event": ["2020-01-05", "2020-01-01T10:00:00Z"]}}}],
    }
    (d,) = extractor.extract(mr)["activity-date"]
    assert d == DateEntry(date_range("2020-01-01T10:00:00Z")[0], date_range("2020-01-05")[1])


def test_invalid_values_are_skipped_not_raised(extractor: Extractor) -> None:
    p = {
        "resourceType": "Patient",
        "birthDate": "not-a-date",
        "name": [{"family": 12}, "junk"],
        "identifier": "x",
        "telecom": [None, {"value": Decimal(1)}],
        "managingOrganization": {"reference": 5},
    }
    e = extractor.extract(p)
    assert "birthdate" not in e and "family" not in e and "organization" not in e
    assert extractor.extract({"resourceType": "NotAType", "x": 1}) == {}
    assert extractor.extract({}) == {}


def test_custom_search_parameter_recompiles(registry: SearchRegistry) -> None:
    reg = SearchRegistry.from_definitions()
    ex = Extractor(reg)
    p = {"resourceType": "Patient", "birthDate": "2000-01-01", "maritalStatus": {"coding": [{"code": "M"}]}}
    assert "marital" not in ex.extract(p)
    reg.add(
        {
            "resourceType": "SearchParameter",
            "url": "http://example.org/SearchParameter/marital",
            "code": "marital",
            "base": ["Patient"],
            "type": "token",
            "expression": "Patient.maritalStatus",
        }
    )
    assert ex.extract(p)["marital"] == [TokenEntry(None, "M")]


def test_extension_search_parameter() -> None:
    reg = SearchRegistry.from_definitions()
    reg.add(
        {
            "resourceType": "SearchParameter",
            "url": "http://example.org/SearchParameter/scheme",
            "code": "scheme",
            "base": ["Coverage", "Patient"],
            "type": "token",
            "expression": "Patient.extension('http://example.org/scheme').value"
            " | Coverage.extension.where(url='http://example.org/scheme').value",
        }
    )
    ex = Extractor(reg)
    p = {
        "resourceType": "Patient",
        "extension": [{"url": "http://example.org/scheme", "valueCoding": {"code": "A"}}],
    }
    c = {"resourceType": "Coverage", "extension": [{"url": "http://example.org/scheme", "valueCode": "B"}]}
    assert ex.extract(p)["scheme"] == [TokenEntry(None, "A")]
    assert ex.extract(c)["scheme"] == [TokenEntry(None, "B")]
