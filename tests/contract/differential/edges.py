"""A synthetic corpus of awkward values, and queries aimed at their boundaries.

The examples are realistic; these are not: numbers exactly at the edge of an implicit
range or of the 10 % ``ap`` window, strings that normalise in surprising ways (ß,
ligatures, dotted İ, runs of spaces, regular-expression and search-escape characters),
dates at the extremes of the calendar and of time zones, identifiers without a value or
without a system, references by identifier only, versioned and absolute.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from .case import Case
from .corpus import BASE_URL

UCUM = "http://unitsofmeasure.org"
Resource = dict[str, Any]

# (value as written, unit, UCUM code)
QUANTITIES = [
    ("0.9", "mg", "mg"),
    ("1.1", "mg", "mg"),
    ("0.09", "mg", "mg"),
    ("0.11", "mg", "mg"),
    ("90", "mg", "mg"),
    ("110", "mg", "mg"),
    ("99.5", "mg", "mg"),
    ("100.5", "mg", "mg"),
    ("1350.45", "TZS", None),
    ("1650.55", "TZS", None),
    ("1500.495", "TZS", None),
    ("1500.505", "TZS", None),
    ("-90", "Cel", "Cel"),
    ("-110", "Cel", "Cel"),
    ("0", "Cel", "Cel"),
    ("0.000", "milligram", "mg"),
    ("2.5e1", "mg", "mg"),
    ("19.8", "mmol/L", "mmol/L"),
    ("24.2", "mmol/L", "mmol/L"),
    ("22", "mmol/L", "mmol/L"),
]
PROBABILITIES = ["0.09", "0.1", "0.10", "0.11", "0.9", "1.0", "0.25"]
NAMES = [
    ("Straße", ["Jürgen"]),
    ("ﬁnley", ["Ǆemal"]),
    ("İnce", ["Işık"]),
    ("van  der   Berg", ["Anne-Marie"]),
    ("O'Brien-Ngowi", ["Zoë", "Zoe"]),
    ("Smith, Jr.", ["a|b"]),
    ("50% $ off", ["back\\slash"]),
    ("A.B*C+(d)?[x]{2}^$", ["Nyota 🌟"]),
    ("STRASSE", ["ZOË"]),
    ("  ", ["Ω"]),
]
BIRTH_DATES = ["0001-01-01", "9999-12-31", "2024-02-29", "1970", "1969-12", "1969-12-31"]
DEATHS = [
    "2024-02-10T06:15:00.123+03:00",
    "2024-02-10T03:15:00Z",
    "2024-02-09T23:59:59-12:00",
    "2024-02-10T13:59:59+14:00",
    "2024-02-10T03:15:00.999999Z",
]


def _observations() -> list[Resource]:
    out: list[Resource] = []
    for n, (value, unit, code) in enumerate(QUANTITIES):
        q: Resource = {"value": Decimal(value), "unit": unit}
        if code:
            q.update({"system": UCUM, "code": code})
        out.append(
            {
                "resourceType": "Observation",
                "id": f"edge-q{n}",
                "status": "final",
                "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7"}]},
                "valueQuantity": q,
            }
        )
    out.append(
        {
            "resourceType": "Observation",
            "id": "edge-components",
            "status": "final",
            "code": {"text": "blood pressure"},
            "component": [
                {"code": {"text": "systolic"}, "valueQuantity": {"value": Decimal("110"), "code": "mm[Hg]"}},
                {"code": {"text": "diastolic"}, "valueQuantity": {"value": Decimal("90"), "code": "mm[Hg]"}},
            ],
        }
    )
    return out


def _risks() -> list[Resource]:
    out: list[Resource] = [
        {
            "resourceType": "RiskAssessment",
            "id": f"edge-r{n}",
            "status": "final",
            "subject": {"reference": f"Patient/edge-p{n % 4}"},
            "prediction": [{"probabilityDecimal": Decimal(p)}],
        }
        for n, p in enumerate(PROBABILITIES)
    ]
    out.append(
        {
            "resourceType": "RiskAssessment",
            "id": "edge-range",
            "status": "final",
            "subject": {"reference": "Patient/edge-gone"},
            "prediction": [
                {"probabilityRange": {"low": {"value": Decimal("0.2")}, "high": {"value": Decimal("0.4")}}}
            ],
        }
    )
    return out


def _patients() -> list[Resource]:
    out: list[Resource] = []
    for n, (family, given) in enumerate(NAMES):
        p: Resource = {
            "resourceType": "Patient",
            "id": f"edge-p{n}",
            "name": [{"family": family, "given": given}],
        }
        if n < len(BIRTH_DATES):
            p["birthDate"] = BIRTH_DATES[n]
        if n < len(DEATHS):
            p["deceasedDateTime"] = DEATHS[n]
        out.append(p)
    out[0]["identifier"] = [{"system": "urn:edge"}, {"value": "ABC"}, {"system": "urn:edge", "value": "abc"}]
    out[1]["identifier"] = [{"system": "urn:edge", "value": "a,b|c$d\\e"}]
    out[2]["communication"] = [{"language": {"coding": [{"display": "Kiswahili sanifu"}], "text": "Swahili"}}]
    out[3]["generalPractitioner"] = [{"identifier": {"system": "urn:hf", "value": "KBH001"}}]
    out[4]["generalPractitioner"] = [
        {
            "reference": f"{BASE_URL}/Organization/edge-o1",
            "identifier": {"system": "urn:hf", "value": "MKC001"},
        }
    ]
    out[5]["generalPractitioner"] = [{"reference": "Organization/edge-o1/_history/2"}]
    out[6]["generalPractitioner"] = [{"reference": "http://elsewhere.example.org/fhir/Organization/edge-o1"}]
    out[7]["managingOrganization"] = {"reference": "Organization/edge-o2"}
    out[8]["link"] = [{"other": {"reference": "Patient/edge-gone"}, "type": "seealso"}]
    out.append(
        {"resourceType": "Patient", "id": "edge-gone", "name": [{"family": "Gone"}], "gender": "other"}
    )
    return out


def _organizations() -> list[Resource]:
    return [
        {
            "resourceType": "Organization",
            "id": "edge-o1",
            "name": "Alpha",
            "meta": {"source": "urn:edge:a|1"},
        },
        {
            "resourceType": "Organization",
            "id": "edge-o2",
            "name": "alpha",
            "meta": {"profile": ["http://x.org/fhir/StructureDefinition/org|1.0"]},
        },
    ]


def resources() -> list[Resource]:
    return [*_observations(), *_risks(), *_patients(), *_organizations()]


DELETED = frozenset({("Patient", "edge-gone")})


def _c(rtype: str, *params: tuple[str, str], sort: bool = False) -> Case:
    return Case(rtype, tuple(params), 3, sort)


def cases() -> list[Case]:
    """Queries at the boundaries of the values above."""
    out: list[Case] = []
    for q in ("1", "0.1", "100", "1500.50", "-100", "0", "22", "2.5e1", "1e2", "1.0"):
        for prefix in ("ap", "eq", "ne", "ge", "le", "gt", "lt", "sa", "eb"):
            out.append(_c("Observation", ("value-quantity", f"{prefix}{q}")))
    out += [
        _c("Observation", ("value-quantity", "ap100||mg")),
        _c("Observation", ("value-quantity", "0||milligram")),
        _c("Observation", ("value-quantity", f"0|{UCUM}|mg")),
        _c("Observation", ("value-quantity", f"ge0|{UCUM}|")),
        _c("Observation", ("value-quantity", "le0||")),
        _c("Observation", ("value-quantity", "ap1650.55||TZS")),
        _c("Observation", ("component-value-quantity", "ap100")),
        _c("Observation", ("combo-value-quantity", "ge100||mm[Hg]")),
        _c("Observation", ("value-quantity", "ge0"), ("value-quantity", "le1")),
        _c("Observation", ("_sort", "-value-quantity"), sort=True),
        _c("Observation", ("_sort", "value-quantity"), sort=True),
    ]
    for q in ("0.1", "0.10", "0.100", "1", "0.2", "0.3", "0.4"):
        for prefix in ("ap", "eq", "ne", "ge", "le", "gt", "lt"):
            out.append(_c("RiskAssessment", ("probability", f"{prefix}{q}")))
    out.append(_c("RiskAssessment", ("probability", "ne0.2"), ("probability", "ne0.4")))
    out.append(_c("RiskAssessment", ("_sort", "-probability"), sort=True))
    for value in (
        "strasse",
        "STRASSE",
        "Straße",
        "fin",
        "ﬁ",
        "ince",
        "İnce",
        "van der b",
        "van  der",
        "o'brien",
    ):
        out.append(_c("Patient", ("family", value)))
        out.append(_c("Patient", ("family:exact", value)))
        out.append(_c("Patient", ("family:contains", value)))
    for value in (
        "Smith\\, Jr.",
        "Smith",
        "50% \\$",
        "a\\|b",
        "back\\\\slash",
        "A.B*C+(d)",
        "(d)?[x]{2}^\\$",
        "🌟",
    ):
        out.append(_c("Patient", ("name", value)))
        out.append(_c("Patient", ("name:contains", value)))
        out.append(_c("Patient", ("name:exact", value)))
    out += [
        _c("Patient", ("name", "zoe")),
        _c("Patient", ("family", "  ")),
        _c("Patient", ("family:exact", "  ")),
        _c("Patient", ("general-practitioner:missing", "true,false")),
        _c("Patient", ("given", "ZOË")),
        _c("Patient", ("given", "ǆ")),
        _c("Patient", ("given", "ω")),
        _c("Patient", ("family:missing", "false"), ("_sort", "family"), sort=True),
        _c("Patient", ("_sort", "-family"), sort=True),
        _c("Patient", ("_sort", "given,-birthdate"), sort=True),
    ]
    for value in (
        "0001",
        "0001-01-01",
        "9999",
        "9999-12-31T23:59:59Z",
        "2024-02-29",
        "2024-02",
        "1970",
        "1969",
    ):
        for prefix in ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb"):
            out.append(_c("Patient", ("birthdate", f"{prefix}{value}")))
    for value in (
        "2024-02-10T06:15:00+03:00",
        "2024-02-10T03:15:00Z",
        "2024-02-10T03:15:00.123Z",
        "2024-02-10T03:15Z",
        "2024-02-10",
        "2024-02-09",
        "2024-02-11T00:00:00+14:00",
    ):
        for prefix in ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb"):
            out.append(_c("Patient", ("death-date", f"{prefix}{value}")))
    out += [
        _c("Patient", ("_sort", "death-date"), sort=True),
        _c("Patient", ("_sort", "-death-date"), sort=True),
        _c("Patient", ("identifier", "urn:edge|")),
        _c("Patient", ("identifier", "|ABC")),
        _c("Patient", ("identifier", "ABC")),
        _c("Patient", ("identifier", "abc")),
        _c("Patient", ("identifier", "urn:edge|abc")),
        _c("Patient", ("identifier:not", "urn:edge|")),
        _c("Patient", ("identifier:not", "abc")),
        _c("Patient", ("identifier", "urn:edge|a\\,b\\|c\\$d\\\\e")),
        _c("Patient", ("identifier:missing", "true")),
        _c("Patient", ("_sort", "identifier"), sort=True),
        _c("Patient", ("_sort", "-identifier"), sort=True),
        _c("Patient", ("language:text", "kiswahili s")),
        _c("Patient", ("language:text", "swa")),
        _c("Patient", ("language:missing", "false")),
        _c("Patient", ("general-practitioner:identifier", "urn:hf|KBH001")),
        _c("Patient", ("general-practitioner:identifier", "MKC001")),
        _c("Patient", ("general-practitioner:missing", "true")),
        _c("Patient", ("general-practitioner:missing", "false")),
        _c("Patient", ("general-practitioner", "Organization/edge-o1")),
        _c("Patient", ("general-practitioner", f"{BASE_URL}/Organization/edge-o1")),
        _c("Patient", ("general-practitioner", "edge-o1")),
        _c("Patient", ("general-practitioner:Organization", "edge-o1")),
        _c("Patient", ("general-practitioner", "Organization/edge-o1/_history/2")),
        _c("Patient", ("general-practitioner", "Organization/edge-o1/_history/1")),
        _c("Patient", ("general-practitioner", "http://elsewhere.example.org/fhir/Organization/edge-o1")),
        _c("Patient", ("general-practitioner:Organization.name", "alpha")),
        _c("Patient", ("general-practitioner:Organization.name:exact", "Alpha")),
        _c("Patient", ("organization.name:exact", "alpha")),
        _c("Patient", ("link", "Patient/edge-gone")),
        _c("Patient", ("link:Patient.gender", "other")),
        _c("Patient", ("link:missing", "false")),
        _c("Patient", ("_sort", "general-practitioner"), sort=True),
        _c("RiskAssessment", ("subject:Patient.name", "gone")),
        _c("RiskAssessment", ("subject:Patient.family:exact", "Straße")),
        _c("RiskAssessment", ("subject:Patient.birthdate", "le1970")),
        _c("RiskAssessment", ("subject:Patient.identifier:not", "abc")),
        _c("Organization", ("_source", "urn:edge:a|1")),
        _c("Organization", ("_source", "urn:edge:a\\|1")),
        _c("Organization", ("_source:below", "urn:edge:")),
        _c("Organization", ("_source:above", "urn:edge:a\\|1\\|2")),
        _c("Organization", ("_profile", "http://x.org/fhir/StructureDefinition/org\\|1.0")),
        _c("Organization", ("_profile", "http://x.org/fhir/StructureDefinition/org")),
        _c("Organization", ("_profile:below", "http://x.org/fhir/")),
        _c("Organization", ("_sort", "name"), sort=True),
        _c("Organization", ("_sort", "-name"), sort=True),
        _c("Organization", ("name", "ALPHA")),
    ]
    return out
