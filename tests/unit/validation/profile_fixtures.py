"""Small test profiles of our own (not the IG in profiles/): one rule kind each."""

from __future__ import annotations

from typing import Any

BASE = "https://example.org/fhir"
INSUREE = f"{BASE}/StructureDefinition/test-insuree"
CHILD = f"{BASE}/StructureDefinition/test-insuree-child"
PHOTO_CONSENT = f"{BASE}/StructureDefinition/test-photo-consent"
OBS = f"{BASE}/StructureDefinition/test-weight"
NUMBER_SYSTEM = "https://example.org/insurance-number"


def sd(
    url: str, type_: str, elements: list[dict[str, Any]], base: str | None = None, **extra: Any
) -> dict[str, Any]:
    sid = url.rsplit("/", 1)[-1]
    return {
        "resourceType": "StructureDefinition",
        "id": sid,
        "url": url,
        "name": sid.replace("-", "_"),
        "status": "active",
        "kind": "complex-type" if type_ == "Extension" else "resource",
        "abstract": False,
        "type": type_,
        "baseDefinition": base or f"http://hl7.org/fhir/StructureDefinition/{type_}",
        "derivation": "constraint",
        "differential": {"element": elements},
        **extra,
    }


PHOTO_CONSENT_SD = sd(
    PHOTO_CONSENT,
    "Extension",
    [
        {"id": "Extension", "path": "Extension", "min": 0, "max": "1"},
        {"id": "Extension.url", "path": "Extension.url", "fixedUri": PHOTO_CONSENT},
        {"id": "Extension.value[x]", "path": "Extension.value[x]", "min": 1, "type": [{"code": "boolean"}]},
    ],
    context=[{"type": "element", "expression": "Patient"}],
)

INSUREE_SD = sd(
    INSUREE,
    "Patient",
    [
        {
            "id": "Patient",
            "path": "Patient",
            "constraint": [
                {
                    "key": "tst-insuree-1",
                    "severity": "error",
                    "human": "An insuree born after 2000 has a birth date",
                    "expression": "deceased.exists() implies birthDate.exists()",
                }
            ],
        },
        {
            "id": "Patient.extension",
            "path": "Patient.extension",
            "slicing": {"discriminator": [{"type": "value", "path": "url"}], "rules": "open"},
        },
        {
            "id": "Patient.extension:photoConsent",
            "path": "Patient.extension",
            "sliceName": "photoConsent",
            "min": 0,
            "max": "1",
            "type": [{"code": "Extension", "profile": [PHOTO_CONSENT]}],
        },
        {
            "id": "Patient.identifier",
            "path": "Patient.identifier",
            "min": 1,
            "slicing": {"discriminator": [{"type": "value", "path": "system"}], "rules": "open"},
        },
        {
            "id": "Patient.identifier:insuranceNumber",
            "path": "Patient.identifier",
            "sliceName": "insuranceNumber",
            "min": 1,
            "max": "1",
        },
        {
            "id": "Patient.identifier:insuranceNumber.system",
            "path": "Patient.identifier.system",
            "min": 1,
            "fixedUri": NUMBER_SYSTEM,
        },
        {
            "id": "Patient.identifier:insuranceNumber.value",
            "path": "Patient.identifier.value",
            "min": 1,
            "constraint": [
                {
                    "key": "tst-insuree-2",
                    "severity": "error",
                    "human": "The insurance number has 9 digits",
                    "expression": "matches('^[0-9]{9}$')",
                }
            ],
        },
        {"id": "Patient.gender", "path": "Patient.gender", "min": 1},
        {
            "id": "Patient.maritalStatus",
            "path": "Patient.maritalStatus",
            "binding": {"strength": "required", "valueSet": "http://hl7.org/fhir/ValueSet/marital-status"},
        },
        {
            "id": "Patient.communication.language",
            "path": "Patient.communication.language",
            "binding": {
                "strength": "extensible",
                "valueSet": "http://hl7.org/fhir/ValueSet/administrative-gender",
            },
        },
        {"id": "Patient.address.country", "path": "Patient.address.country", "fixedString": "TZ"},
        {"id": "Patient.telecom", "path": "Patient.telecom", "patternContactPoint": {"system": "phone"}},
        {"id": "Patient.deceased[x]", "path": "Patient.deceased[x]", "type": [{"code": "boolean"}]},
    ],
)

# derived from the insuree: two more rules over the base profile's
CHILD_SD = sd(
    CHILD,
    "Patient",
    [
        {"id": "Patient.birthDate", "path": "Patient.birthDate", "min": 1},
        {"id": "Patient.name", "path": "Patient.name", "max": "1"},
    ],
    base=INSUREE,
)

# closed slicing by type and by pattern
OBS_SD = sd(
    OBS,
    "Observation",
    [
        {
            "id": "Observation.code",
            "path": "Observation.code",
            "patternCodeableConcept": {"coding": [{"system": "http://loinc.org", "code": "29463-7"}]},
        },
        {
            "id": "Observation.value[x]",
            "path": "Observation.value[x]",
            "slicing": {"discriminator": [{"type": "type", "path": "$this"}], "rules": "closed"},
        },
        {
            "id": "Observation.value[x]:valueQuantity",
            "path": "Observation.value[x]",
            "sliceName": "valueQuantity",
            "type": [{"code": "Quantity"}],
        },
        {
            "id": "Observation.category",
            "path": "Observation.category",
            "slicing": {"discriminator": [{"type": "pattern", "path": "$this"}], "rules": "closed"},
        },
        {
            "id": "Observation.category:vs",
            "path": "Observation.category",
            "sliceName": "vs",
            "min": 1,
            "max": "1",
            "patternCodeableConcept": {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                        "code": "vital-signs",
                    }
                ]
            },
        },
    ],
)

ALL = [PHOTO_CONSENT_SD, INSUREE_SD, CHILD_SD, OBS_SD]


def insuree(**changes: Any) -> dict[str, Any]:
    r: dict[str, Any] = {
        "resourceType": "Patient",
        "meta": {"profile": [INSUREE]},
        "extension": [{"url": PHOTO_CONSENT, "valueBoolean": True}],
        "identifier": [{"system": NUMBER_SYSTEM, "value": "123456789"}],
        "gender": "female",
        "birthDate": "2001-02-03",
        "maritalStatus": {
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-MaritalStatus", "code": "M"}]
        },
        "address": [{"country": "TZ", "city": "Moshi"}],
        "telecom": [{"system": "phone", "value": "+255 1"}],
    }
    r.update(changes)
    return {k: v for k, v in r.items() if v is not None}


def weight(**changes: Any) -> dict[str, Any]:
    r: dict[str, Any] = {
        "resourceType": "Observation",
        "meta": {"profile": [OBS]},
        "status": "final",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                        "code": "vital-signs",
                    }
                ]
            }
        ],
        "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7", "display": "Body weight"}]},
        "valueQuantity": {"value": 70, "unit": "kg", "system": "http://unitsofmeasure.org", "code": "kg"},
    }
    r.update(changes)
    return {k: v for k, v in r.items() if v is not None}
