"""Builders of our IG's resources for the scheme's API tests (products, insurees, families, policies)."""

from __future__ import annotations

from typing import Any

import httpx

Json = dict[str, Any]
SD = "https://openimis.org/fhir/StructureDefinition/"
CS = "https://openimis.org/fhir/CodeSystem/"
FHIR_JSON = {"Content-Type": "application/fhir+json"}
NUMBER = "https://openimis.org/fhir/insurance-number"


def cost(kind: str, amount: str | int, group_size: int | None = None) -> Json:
    out: Json = {
        "type": {"coding": [{"system": CS + "product-cost-type", "code": kind}]},
        "cost": {"value": float(amount), "currency": "TZS"},
    }
    if group_size is not None:
        out["groupSize"] = group_size
    return out


def period_ext(kind: str, months: int) -> Json:
    return {
        "url": SD + "product-period",
        "extension": [
            {
                "url": "kind",
                "valueCodeableConcept": {"coding": [{"system": CS + "product-period-kind", "code": kind}]},
            },
            {"url": "months", "valueUnsignedInt": months},
        ],
    }


def covered(kind: str, code: str, **parts: Any) -> Json:
    system = (
        "https://openimis.org/fhir/medical-item-code"
        if kind == "item"
        else "https://openimis.org/fhir/medical-service-code"
    )
    ext: list[Json] = [{"url": "code", "valueCoding": {"system": system, "code": code}}]
    concept = {"priceOrigin": "price-origin", "limitationType": "limitation-type"}
    for name, v in parts.items():
        if name in concept:
            ext.append(
                {"url": name, "valueCodeableConcept": {"coding": [{"system": CS + concept[name], "code": v}]}}
            )
        elif name.startswith("waiting"):
            ext.append({"url": name, "valueUnsignedInt": v})
        else:
            ext.append({"url": name, "valueDecimal": v})
    return {"url": SD + "product-covered-item", "extension": ext}


def product(
    id: str = "tst",
    code: str = "TST01",
    *,
    lump_sum: int = 10000,
    threshold: int = 4,
    max_members: int = 6,
    premium_adult: int = 3000,
    premium_child: int = 1500,
    registration_fee: int = 500,
    assembly_fee: int = 200,
    start: str = "2025-01-01",
    end: str = "2030-12-31",
    periods: dict[str, int] | None = None,
    cycles: tuple[str, ...] = (),
    covered_items: list[Json] | None = None,
    extensions: list[Json] | None = None,
) -> Json:
    ext: list[Json] = [{"url": SD + "product-start-cycle", "valueString": c} for c in cycles]
    ext += [period_ext(k, m) for k, m in (periods or {"grace-payment": 1}).items()]
    ext += extensions or []
    costs = [
        cost("lumpsum", lump_sum, threshold),
        cost("premiumAdult", premium_adult),
        cost("premiumChild", premium_child),
        cost("registrationFee", registration_fee),
        cost("generalAssemblyFee", assembly_fee),
    ]
    return {
        "resourceType": "InsurancePlan",
        "id": id,
        "meta": {"profile": [SD + "product"]},
        "extension": ext,
        "identifier": [
            {
                "type": {"coding": [{"system": CS + "identifier-type", "code": "Code"}]},
                "system": "https://openimis.org/fhir/product-code",
                "value": code,
            }
        ],
        "status": "active",
        "type": [
            {
                "coding": [
                    {"system": "http://terminology.hl7.org/CodeSystem/insurance-plan-type", "code": "medical"}
                ]
            }
        ],
        "name": f"Test product {code}",
        "period": {"start": start, "end": end},
        "coverage": [
            {
                **({"extension": covered_items} if covered_items else {}),
                "type": {"text": "Care"},
                "benefit": [
                    {
                        "type": {"text": "Medical care"},
                        "limit": [
                            {
                                "value": {
                                    "value": 12,
                                    "unit": "month",
                                    "system": "http://unitsofmeasure.org",
                                    "code": "mo",
                                },
                                "code": {"coding": [{"system": CS + "product-limit-type", "code": "period"}]},
                            },
                            {
                                "value": {"value": max_members, "unit": "member"},
                                "code": {
                                    "coding": [{"system": CS + "product-limit-type", "code": "memberCount"}]
                                },
                            },
                        ],
                    }
                ],
            }
        ],
        "plan": [{"type": {"text": "Household"}, "generalCost": costs}],
    }


def insuree(
    id: str, number: str, family: str, birth: str, gender: str, relationship: int | None, head: bool = False
) -> Json:
    ext: list[Json] = [
        {"url": SD + "insuree-family", "valueReference": {"reference": f"Group/{family}"}},
        {"url": SD + "insuree-is-head", "valueBoolean": head},
    ]
    if relationship is not None:
        ext.append(
            {
                "url": SD + "insuree-relationship",
                "valueCodeableConcept": {
                    "coding": [{"system": CS + "relationship", "code": str(relationship)}]
                },
            }
        )
    return {
        "resourceType": "Patient",
        "id": id,
        "meta": {"profile": [SD + "insuree"]},
        "extension": ext,
        "identifier": [
            {
                "type": {"coding": [{"system": CS + "identifier-type", "code": "Code"}]},
                "system": NUMBER,
                "value": number,
            }
        ],
        "name": [
            {
                "use": "official",
                "family": id.split("-")[-1].capitalize(),
                "given": [id.split("-")[0].capitalize()],
            }
        ],
        "gender": gender,
        "birthDate": birth,
    }


def family(id: str, head: str, number: str, members: list[str]) -> Json:
    return {
        "resourceType": "Group",
        "id": id,
        "meta": {"profile": [SD + "family"]},
        "extension": [
            {"url": SD + "family-head", "valueReference": {"reference": f"Patient/{head}"}},
            {
                "url": SD + "family-address",
                "valueAddress": {
                    "use": "home",
                    "type": "physical",
                    "city": "Singa",
                    "district": "Moshi Rural",
                    "state": "Kilimanjaro",
                },
            },
        ],
        "identifier": [
            {
                "type": {"coding": [{"system": CS + "identifier-type", "code": "Code"}]},
                "system": NUMBER,
                "value": number,
            }
        ],
        "type": "person",
        "actual": True,
        "name": head.split("-")[-1].capitalize(),
        "quantity": len(members),
        "member": [{"entity": {"reference": f"Patient/{m}"}} for m in members],
    }


def policy(product_id: str, family_id: str, enrol: str, **extra: Any) -> Json:
    """What a client sends to sell a policy: product, family, enrolment date (the server does the rest)."""
    ext = [
        {"url": SD + "policy-product", "valueReference": {"reference": f"InsurancePlan/{product_id}"}},
        {"url": SD + "policy-family", "valueReference": {"reference": f"Group/{family_id}"}},
        {"url": SD + "policy-enrol-date", "valueDate": enrol},
    ]
    return {
        "resourceType": "Coverage",
        "meta": {"profile": [SD + "policy"]},
        "extension": ext,
        "status": "draft",
        "beneficiary": {"reference": f"Patient/{extra.get('head', 'x')}"},
        "payor": [{"reference": f"Patient/{extra.get('head', 'x')}"}],
    }


def premium(policy_id: str, receipt: str, amount: str, day: str, pay_type: str = "C") -> Json:
    return {
        "resourceType": "PaymentNotice",
        "meta": {"profile": [SD + "premium"]},
        "extension": [
            {
                "url": SD + "contribution-pay-type",
                "valueCodeableConcept": {
                    "coding": [{"system": CS + "contribution-pay-type", "code": pay_type}]
                },
            },
        ],
        "identifier": [{"system": "https://openimis.org/fhir/premium-receipt", "value": receipt}],
        "status": "active",
        "request": {"reference": f"Coverage/{policy_id}"},
        "created": f"{day}T10:00:00Z",
        "payment": {"identifier": {"value": receipt}},
        "paymentDate": day,
        "recipient": {"display": "Scheme"},
        "amount": {"value": float(amount), "currency": "TZS"},
    }


FIVE = [  # head, spouse (8), two children (4), one "other" (7)
    ("juma-kweka", "100000001", "1980-04-02", "male", None, True),
    ("rehema-kweka", "100000012", "1983-09-15", "female", 8, False),
    ("baraka-kweka", "100000023", "2015-06-01", "male", 4, False),
    ("neema-kweka", "100000034", "2019-02-20", "female", 4, False),
    ("bibi-kweka", "100000045", "1950-01-10", "female", 7, False),
]


async def put(client: httpx.AsyncClient, resource: Json) -> Json:
    r = await client.put(f"{resource['resourceType']}/{resource['id']}", json=resource, headers=FHIR_JSON)
    assert r.status_code in (200, 201), r.text
    body: Json = r.json()
    return body


async def family_of_five(client: httpx.AsyncClient, family_id: str = "family-kweka") -> list[str]:
    ids = [m[0] for m in FIVE]
    for id, number, birth, gender, rel, head in FIVE:
        await put(client, insuree(id, number, family_id, birth, gender, rel, head))
    await put(client, family(family_id, ids[0], FIVE[0][1], ids))
    return ids
