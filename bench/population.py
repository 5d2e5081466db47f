"""A deterministic synthetic insurance population for bench/search.py.

Patients are insurees in families of four (a FHIR Group, the first member is the head of
household); each member has one Coverage (80 % active), 2–4 Claims with 1–4 items and one
ClaimResponse per Claim. Organizations: one insurer and ``FACILITIES`` health facilities
(a few large hospitals get most of the claims). Everything about patient ``i`` is drawn from
``Random(f"{seed}:{i}")``, so patients 0..N-1 are the same whatever N is: a database at 1K
grows to 8K by loading patients 1000..7999 only.

``facts`` gives the small per-patient summary the workload needs to know the expected
results; ``bundles`` gives transaction Bundles (``urn:uuid`` references inside a bundle,
``Organization/<id>`` for the organizations loaded by ``org_bundle``).
"""

from __future__ import annotations

import json
import random
import re
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

INSURANCE = "https://openimis.org/fhir/insurance-number"
FACILITY = "https://openimis.org/fhir/health-facility-code"
ITEM = "https://openimis.org/fhir/item-code"
FAMILY_SIZE = 4
FACILITIES = 50
START = date(2024, 1, 1)
DAYS = 731  # 2024-01-01 .. 2025-12-31
_HEAD = ["Ba", "Ki", "Mwa", "Njo", "Ra", "Tu", "Wa", "Zu", "Ola", "Ade", "Ngu", "Sha", "Lu", "Chi", "Mo"]
_TAIL = ["maro", "nde", "langa", "ko", "sibe", "tembo", "zwe", "goro", "yeni", "bwa", "dungu", "pira"]
SURNAMES = [h + t for h in _HEAD for t in _TAIL]  # 180
GIVEN = [
    "Amina",
    "Baraka",
    "Daudi",
    "Esther",
    "Faraji",
    "Grace",
    "Halima",
    "Imani",
    "Juma",
    "Khadija",
    "Lulu",
    "Musa",
    "Neema",
    "Omari",
    "Pendo",
    "Rehema",
    "Salim",
    "Tumaini",
    "Upendo",
    "Yusuf",
]


@dataclass(frozen=True)
class Claim:
    created: str  # YYYY-MM-DD
    provider: int  # facility index
    items: tuple[tuple[str, str], ...]  # (item code, unitPrice as a decimal string)


@dataclass(frozen=True)
class Person:
    index: int
    insurance_number: str
    family: str
    given: str
    gender: str
    birth_date: str
    village: str
    coverage_active: bool
    claims: tuple[Claim, ...]

    @property
    def family_index(self) -> int:
        return self.index // FAMILY_SIZE


def insurance_number(i: int) -> str:
    return str((i * 7919 + 12345) % 900_000_000 + 100_000_000)


def _facility(rng: random.Random) -> int:
    # half the claims at the 8 hospitals, the rest spread over the dispensaries
    return rng.randrange(8) if rng.random() < 0.5 else rng.randrange(8, FACILITIES)


def person(seed: int, i: int) -> Person:
    rng = random.Random(f"{seed}:{i}")
    surname = SURNAMES[random.Random(f"{seed}:family:{i // FAMILY_SIZE}").randrange(len(SURNAMES))]
    claims = []
    for _ in range(rng.randint(2, 4)):
        created = (START + timedelta(days=rng.randrange(DAYS))).isoformat()
        items = tuple(
            (f"IT{rng.randrange(1, 300):04d}", f"{rng.randrange(100, 500000) / 100:.2f}")
            for _ in range(rng.randint(1, 4))
        )
        claims.append(Claim(created, _facility(rng), items))
    return Person(
        index=i,
        insurance_number=insurance_number(i),
        family=surname,
        given=rng.choice(GIVEN),
        gender=rng.choice(("male", "female")),
        birth_date=(date(1940, 1, 1) + timedelta(days=rng.randrange(80 * 365))).isoformat(),
        village=f"Village{rng.randrange(400):03d}",
        coverage_active=rng.random() < 0.8,
        claims=tuple(claims),
    )


def facts(seed: int, n: int) -> list[Person]:
    return [person(seed, i) for i in range(n)]


def _ref(url: str) -> dict[str, str]:
    return {"reference": url}


def _entry(full_url: str, res: dict[str, Any]) -> dict[str, Any]:
    return {"fullUrl": full_url, "resource": res, "request": {"method": "POST", "url": res["resourceType"]}}


def org_bundle() -> dict[str, Any]:
    """Entry 0 is the insurer, entry 1 + k the facility k."""
    orgs = [
        {
            "resourceType": "Organization",
            "active": True,
            "name": "National Health Insurance Fund",
            "identifier": [{"system": FACILITY, "value": "INSURER"}],
            "type": [
                {
                    "coding": [
                        {"system": "http://terminology.hl7.org/CodeSystem/organization-type", "code": "ins"}
                    ]
                }
            ],
        }
    ]
    for k in range(FACILITIES):
        orgs.append(
            {
                "resourceType": "Organization",
                "active": True,
                "name": f"{'Hospital' if k < 8 else 'Dispensary'} {k:02d}",
                "identifier": [{"system": FACILITY, "value": f"HF{k:04d}"}],
                "type": [
                    {
                        "coding": [
                            {
                                "system": "http://terminology.hl7.org/CodeSystem/organization-type",
                                "code": "prov",
                            }
                        ]
                    }
                ],
            }
        )
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [_entry(f"urn:uuid:{uuid.uuid4()}", o) for o in orgs],
    }


def _patient(p: Person) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "active": True,
        "identifier": [{"system": INSURANCE, "value": p.insurance_number}],
        "name": [{"use": "official", "family": p.family, "given": [p.given]}],
        "gender": p.gender,
        "birthDate": p.birth_date,
        "address": [{"use": "home", "city": p.village, "district": "Central", "country": "TZ"}],
    }


def _resources(
    p: Person, urls: dict[str, str], head_url: str, orgs: list[str]
) -> list[tuple[str, dict[str, Any]]]:
    """(fullUrl, resource) for the patient, the coverage, the claims and the claim responses."""
    pat, cov = urls["pat"], urls["cov"]
    out = [(pat, _patient(p))]
    out.append(
        (
            cov,
            {
                "resourceType": "Coverage",
                "status": "active" if p.coverage_active else "cancelled",
                "identifier": [{"system": INSURANCE, "value": p.insurance_number}],
                "subscriber": _ref(head_url),
                "beneficiary": _ref(pat),
                "payor": [_ref(orgs[0])],
                "relationship": {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/subscriber-relationship",
                            "code": "self" if head_url == pat else "other",
                        }
                    ]
                },
                "period": {"start": "2024-01-01", "end": "2026-12-31"},
            },
        )
    )
    for n, c in enumerate(p.claims):
        claim_url = f"urn:uuid:{uuid.uuid4()}"
        items = [
            {
                "sequence": s + 1,
                "productOrService": {"coding": [{"system": ITEM, "code": code}]},
                "quantity": {"value": 1},
                "unitPrice": {"value": _dec(price), "currency": "TZS"},
            }
            for s, (code, price) in enumerate(c.items)
        ]
        total = f"{sum(float(price) for _, price in c.items):.2f}"
        claim_type = {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/claim-type",
                    "code": "institutional" if c.provider < 8 else "professional",
                }
            ]
        }
        out.append(
            (
                claim_url,
                {
                    "resourceType": "Claim",
                    "status": "active",
                    "type": claim_type,
                    "use": "claim",
                    "identifier": [
                        {
                            "system": "https://openimis.org/fhir/claim-code",
                            "value": f"CL{p.insurance_number}-{n}",
                        }
                    ],
                    "patient": _ref(pat),
                    "created": c.created,
                    "provider": _ref(orgs[1 + c.provider]),
                    "priority": {
                        "coding": [
                            {
                                "system": "http://terminology.hl7.org/CodeSystem/processpriority",
                                "code": "normal",
                            }
                        ]
                    },
                    "insurance": [{"sequence": 1, "focal": True, "coverage": _ref(cov)}],
                    "item": items,
                    "total": {"value": _dec(total), "currency": "TZS"},
                },
            )
        )
        out.append(
            (
                f"urn:uuid:{uuid.uuid4()}",
                {
                    "resourceType": "ClaimResponse",
                    "status": "active",
                    "type": claim_type,
                    "use": "claim",
                    "patient": _ref(pat),
                    "created": c.created,
                    "insurer": _ref(orgs[0]),
                    "request": _ref(claim_url),
                    "outcome": ("complete", "partial", "error")[(p.index + n) % 7 % 3],
                },
            )
        )
    return out


def _dec(value: str) -> str:
    """A decimal to be written into the JSON as a bare number, digits kept (see ``dumps``)."""
    return _DEC + value


_DEC = "~dec~"
_DEC_RE = re.compile(r'"~dec~(-?[0-9.]+)"')


def family_entries(people: list[Person], orgs: list[str]) -> list[dict[str, Any]]:
    urls = [{"pat": f"urn:uuid:{uuid.uuid4()}", "cov": f"urn:uuid:{uuid.uuid4()}"} for _ in people]
    head = urls[0]["pat"]
    entries = []
    for p, u in zip(people, urls, strict=True):
        entries += [_entry(url, res) for url, res in _resources(p, u, head, orgs)]
    group = {
        "resourceType": "Group",
        "type": "person",
        "actual": True,
        "name": f"Family {people[0].family}",
        "identifier": [{"system": "https://openimis.org/fhir/family", "value": f"F{people[0].family_index}"}],
        "quantity": len(people),
        "member": [{"entity": _ref(u["pat"])} for u in urls],
    }
    entries.append(_entry(f"urn:uuid:{uuid.uuid4()}", group))
    return entries


def dumps(doc: Any) -> bytes:
    """JSON with the ``_dec`` decimals written as bare numbers (e.g. ``1500.00``, not a float)."""
    return _DEC_RE.sub(r"\1", json.dumps(doc, separators=(",", ":"))).encode()
