"""A small scheme for eligibility tests (and bench/eligibility.py): a product, families of
insurees and fully formed policy Coverages (tagged ``imported`` so that the policy service
keeps them as given), built as FHIR JSON."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

Json = dict[str, Any]

ROOT = Path(__file__).resolve().parents[2]
SD = "https://openimis.org/fhir/StructureDefinition/"
CS = "https://openimis.org/fhir/CodeSystem/"
INSURANCE_NUMBER = "https://openimis.org/fhir/insurance-number"
IMPORTED = {"system": CS + "scheme-tag", "code": "imported"}
PRODUCT_ID = "bhs-basic"


def _covered(code: str, system: str, reference: str | None = None, **limits: Any) -> Json:
    parts: list[Json] = [
        {"url": "code", "valueCoding": {"system": system, "code": code}},
        *([{"url": "reference", "valueReference": {"reference": reference}}] if reference else []),
        {
            "url": "priceOrigin",
            "valueCodeableConcept": {"coding": [{"system": CS + "price-origin", "code": "P"}]},
        },
    ]
    for name, value in limits.items():
        key = "valueUnsignedInt" if name.startswith("waiting") else "valueDecimal"
        parts.append({"url": name, key: value})
    return {"url": SD + "product-covered-item", "extension": parts}


def product() -> Json:
    """The example product BHS01 (waiting periods and limits set for the tests):

    - service A1: waiting 3 months adult / 1 month child, 4 per adult / 6 per child;
    - item 0182: no waiting period, 72 adult / 48 child;
    - item 0999: waiting 6 months (adult and child), unlimited;
    - A1 is a consultation (ActivityDefinition/service-a1-consultation, the example);
    - categories: 3 consultations, 12 visits, 2 hospitalizations, 150,000 for surgery; ceilings: general
      per policy 500,000 + 50,000 per member beyond 4, at most 800,000; deductible 2,000.
    """
    plan = json.loads((ROOT / "examples" / "InsurancePlan-bhs-basic.json").read_text(encoding="utf-8"))
    plan["id"] = PRODUCT_ID
    svc, item = (
        "https://openimis.org/fhir/medical-service-code",
        "https://openimis.org/fhir/medical-item-code",
    )
    plan["extension"].append(
        {
            "url": SD + "product-category-limit",
            "extension": [
                {
                    "url": "kind",
                    "valueCodeableConcept": {
                        "coding": [{"system": CS + "category-limit-kind", "code": "count-consultation"}]
                    },
                },
                {"url": "value", "valueUnsignedInt": 3},
            ],
        }
    )
    plan["coverage"][0]["extension"] = [
        _covered(
            "A1",
            svc,
            "ActivityDefinition/service-a1-consultation",
            waitingPeriodAdult=3,
            waitingPeriodChild=1,
            quantityLimitAdult=4,
            quantityLimitChild=6,
        ),
        _covered("0182", item, quantityLimitAdult=72, quantityLimitChild=48),
        _covered("0999", item, waitingPeriodAdult=6, waitingPeriodChild=6),
    ]
    # the lump sum covers 4 members (the threshold of the extra-member rule)
    for planned in plan.get("plan") or []:
        for cost in planned.get("generalCost") or []:
            if (cost.get("type") or {}).get("coding", [{}])[0].get("code") == "lumpsum":
                cost["groupSize"] = 4
    return plan


def patient(
    pid: str, number: str, birth: str, family: str, head: bool, relationship: str | None = None
) -> Json:
    ext: list[Json] = [
        {"url": SD + "insuree-family", "valueReference": {"reference": f"Group/{family}"}},
        {"url": SD + "insuree-is-head", "valueBoolean": head},
    ]
    if relationship:
        ext.append(
            {
                "url": SD + "insuree-relationship",
                "valueCodeableConcept": {"coding": [{"system": CS + "relationship", "code": relationship}]},
            }
        )
    return {
        "resourceType": "Patient",
        "id": pid,
        "meta": {"profile": [SD + "insuree"]},
        "extension": ext,
        "identifier": [{"system": INSURANCE_NUMBER, "value": number}],
        "name": [{"family": "Test", "given": [pid]}],
        "gender": "female",
        "birthDate": birth,
    }


def family(fid: str, head: str, members: list[str], number: str) -> Json:
    return {
        "resourceType": "Group",
        "id": fid,
        "meta": {"profile": [SD + "family"]},
        "extension": [
            {"url": SD + "family-head", "valueReference": {"reference": f"Patient/{head}"}},
            {"url": SD + "family-address", "valueAddress": {"city": "Umbwe"}},
        ],
        "identifier": [{"system": INSURANCE_NUMBER, "value": number}],
        "type": "person",
        "actual": True,
        "member": [{"entity": {"reference": f"Patient/{m}"}} for m in members],
    }


def policy(
    cid: str,
    family_id: str,
    head: str,
    start: str,
    end: str,
    members: list[tuple[str, str | None, str | None]],
    status: str = "2",
) -> Json:
    """A fully formed policy: ``members`` (patient id, effective date, expiry date)."""
    ext: list[Json] = [
        {
            "url": SD + "policy-status",
            "valueCodeableConcept": {"coding": [{"system": CS + "policy-status", "code": status}]},
        },
        {"url": SD + "policy-effective-date", "valueDate": start},
        {"url": SD + "policy-family", "valueReference": {"reference": f"Group/{family_id}"}},
        {"url": SD + "policy-product", "valueReference": {"reference": f"InsurancePlan/{PRODUCT_ID}"}},
    ]
    for who, effective, expiry in members:
        parts: list[Json] = [{"url": "member", "valueReference": {"reference": f"Patient/{who}"}}]
        if effective:
            parts.append({"url": "effectiveDate", "valueDate": effective})
        if expiry:
            parts.append({"url": "expiryDate", "valueDate": expiry})
        ext.append({"url": SD + "policy-member", "extension": parts})
    coverage_status = {"2": "active", "4": "cancelled", "8": "cancelled"}.get(status, "draft")
    return {
        "resourceType": "Coverage",
        "id": cid,
        "meta": {"profile": [SD + "policy"], "tag": [IMPORTED]},
        "extension": ext,
        "identifier": [{"system": "https://openimis.org/fhir/policy-number", "value": cid}],
        "status": coverage_status,
        "beneficiary": {"reference": f"Patient/{head}"},
        "period": {"start": start, "end": end},
        "payor": [{"reference": f"Patient/{head}"}],
        "class": [
            {
                "type": {
                    "coding": [
                        {"system": "http://terminology.hl7.org/CodeSystem/coverage-class", "code": "plan"}
                    ]
                },
                "value": "BHS01",
            }
        ],
    }


def scheme() -> list[Json]:
    """The Massawe family of five (head, spouse, two children, one 'other') with one active
    policy 2024-01-15..2025-01-14; the spouse joined late (covered from 2024-03-01); the
    'other' member left on 2024-04-30. A second family has only an idle policy; a third
    family has a suspended one; an insuree without any policy."""
    f = "family-massawe"
    people = [
        patient("massawe-head", "100000001", "1980-05-01", f, True),
        patient("massawe-spouse", "100000002", "1982-02-02", f, False, "8"),
        patient("massawe-child1", "100000003", "2015-06-01", f, False, "4"),
        patient("massawe-child2", "100000004", "2006-05-01", f, False, "4"),  # 18 on 2024-05-01
        patient("massawe-other", "100000005", "1950-01-01", f, False, "7"),
    ]
    service = json.loads(
        (ROOT / "examples" / "ActivityDefinition-service-a1-consultation.json").read_text("utf-8")
    )
    out: list[Json] = [product(), service, *people]
    out.append(family(f, "massawe-head", [p["id"] for p in people], "100000001"))
    out.append(
        policy(
            "policy-massawe-2024",
            f,
            "massawe-head",
            "2024-01-15",
            "2025-01-14",
            [
                ("massawe-head", "2024-01-15", "2025-01-14"),
                ("massawe-spouse", "2024-03-01", "2025-01-14"),
                ("massawe-child1", "2024-01-15", "2025-01-14"),
                ("massawe-child2", "2024-01-15", "2025-01-14"),
                ("massawe-other", "2024-01-15", "2024-04-30"),
            ],
        )
    )
    for fid, head, number, status in (
        ("family-idle", "idle-head", "200000001", "1"),
        ("family-susp", "susp-head", "300000001", "4"),
    ):
        out.append(patient(head, number, "1990-01-01", fid, True))
        out.append(family(fid, head, [head], number))
        out.append(
            policy(
                f"policy-{fid}",
                fid,
                head,
                "2024-01-01",
                "2024-12-31",
                [(head, "2024-01-01" if status != "1" else None, "2024-12-31")],
                status,
            )
        )
    out.append(patient("lonely", "400000001", "1990-01-01", "family-lonely", True))
    out.append(family("family-lonely", "lonely", ["lonely"], "400000001"))
    return copy.deepcopy(out)


def transaction(resources: list[Json]) -> Json:
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"resource": r, "request": {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"}}
            for r in resources
        ],
    }
