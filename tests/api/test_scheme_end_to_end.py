"""Issue 5 end to end over HTTP: from the location tree to eligibility, every response checked
against our profiles with ``$validate``.

Locations (region → district → ward → village), a health facility, a product, a family of five
(head, spouse, two children, one relative with relationship 7 "Others"), a policy (value and
dates computed by the server), two instalments (status after each), then eligibility for a
covered service inside and outside its waiting period and for an item the product does not cover.

The product (``scheme_builders.product``): lump sum 10,000 for up to 4 related members, adult
3,000, child 1,500, registration 500 and general assembly 200 per member, 12 months, no cycles;
service A1 (consultation) covered with a 3-month waiting period for adults, none for children.
Value: 10,000 (2 adults + 2 children ≤ 4) + 3,000 (the "other" adult) + 5 × 500 + 5 × 200 = 16,500.
Dates: enrolled 2026-01-10, no administration period, no cycles → start 2026-01-10,
expiry 2026-01-10 + 12 months − 1 day = 2027-01-09.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx

from tests.api.eligibility_data import transaction
from tests.api.scheme_builders import CS, FHIR_JSON, SD, covered, family_of_five, policy, premium, product
from tests.api.test_eligibility_submit import benefits, item, reason, request, submit, valid

Json = dict[str, Any]


def location(id: str, code: str, name: str, kind: str, parent: str | None) -> Json:
    out: Json = {
        "resourceType": "Location",
        "id": id,
        "meta": {"profile": [SD + "location"]},
        "identifier": [
            {
                "type": {"coding": [{"system": CS + "identifier-type", "code": "Code"}]},
                "system": "https://openimis.org/fhir/location-code",
                "value": code,
            }
        ],
        "status": "active",
        "name": name,
        "mode": "instance",
        "physicalType": {"coding": [{"system": CS + "location-type", "code": kind}]},
    }
    if parent:
        out["partOf"] = {"reference": f"Location/{parent}"}
    return out


def facility() -> Json:
    def concept(name: str, code: str) -> Json:
        return {"url": SD + name, "valueCodeableConcept": {"coding": [{"system": CS + name, "code": code}]}}

    return {
        "resourceType": "Organization",
        "id": "hf-singa",
        "meta": {"profile": [SD + "health-facility"]},
        "extension": [
            concept("facility-level", "D"),
            concept("care-type", "O"),
            concept("facility-legal-form", "G"),
        ],
        "identifier": [
            {
                "type": {"coding": [{"system": CS + "identifier-type", "code": "Code"}]},
                "system": "https://openimis.org/fhir/health-facility-code",
                "value": "SNG001",
            }
        ],
        "active": True,
        "type": [
            {
                "coding": [
                    {"system": "http://terminology.hl7.org/CodeSystem/organization-type", "code": "prov"}
                ]
            }
        ],
        "name": "Singa Dispensary",
        "address": [{"use": "work", "type": "physical", "city": "Singa", "district": "Moshi Rural"}],
    }


def ext(resource: Json, name: str) -> Any:
    for e in resource.get("extension", []):
        if e["url"] == SD + name:
            return next(v for k, v in e.items() if k.startswith("value"))
    return None


def status(coverage: Json) -> str:
    return str(ext(coverage, "policy-status")["coding"][0]["code"])


async def checked(c: httpx.AsyncClient, response: httpx.Response, *codes: int) -> Json:
    """The response's status is one of ``codes`` and its resource conforms to our profiles."""
    assert response.status_code in codes, response.text
    body: Json = response.json()
    await valid(c, body)
    return body


async def test_enrol_sell_pay_and_ask_eligibility(client: httpx.AsyncClient) -> None:
    tree = [
        location("region-kil", "KIL", "Kilimanjaro", "R", None),
        location("district-mosh", "KIL01", "Moshi Rural", "D", "region-kil"),
        location("ward-kib", "KIL0101", "Kibosho", "W", "district-mosh"),
        location("village-singa", "KIL01011", "Singa", "V", "ward-kib"),
        facility(),
    ]
    bundle = await checked(client, await client.post("", json=transaction(tree)), 200)
    assert [e["response"]["status"][:3] for e in bundle["entry"]] == ["201"] * 5
    for r in tree:
        await checked(client, await client.get(f"{r['resourceType']}/{r['id']}"), 200)

    consultation = covered("service", "A1", priceOrigin="P", waitingPeriodAdult=3, waitingPeriodChild=0)
    plan = product(covered_items=[consultation])
    plan["coverageArea"] = [{"reference": "Location/region-kil"}]
    await checked(client, await client.put("InsurancePlan/tst", json=plan, headers=FHIR_JSON), 201)
    ids = await family_of_five(client)
    for pid in ids:
        await checked(client, await client.get(f"Patient/{pid}"), 200)
    family = await checked(client, await client.get("Group/family-kweka"), 200)
    assert family["quantity"] == 5

    sold = await client.post(
        "Coverage", json=policy("tst", "family-kweka", "2026-01-10", head=ids[0]), headers=FHIR_JSON
    )
    cov = await checked(client, sold, 201)
    assert Decimal(str(ext(cov, "policy-value")["value"])) == Decimal("16500.00")
    assert cov["period"] == {"start": "2026-01-10", "end": "2027-01-09"}
    assert status(cov) == "1" and cov["status"] == "draft"

    first = await client.post(
        "PaymentNotice", json=premium(cov["id"], "E2E-1", "9000", "2026-01-12"), headers=FHIR_JSON
    )
    await checked(client, first, 201)
    after_first = await checked(client, await client.get(f"Coverage/{cov['id']}"), 200)
    assert status(after_first) == "1" and after_first["status"] == "draft"  # 7,500 still due

    params = {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "amount", "valueMoney": {"value": 7500, "currency": "TZS"}},
            {"name": "payDate", "valueDate": "2026-01-25"},
            {"name": "payType", "valueCoding": {"system": CS + "contribution-pay-type", "code": "M"}},
            {"name": "receipt", "valueString": "E2E-2"},
        ],
    }
    second = await checked(
        client, await client.post(f"Coverage/{cov['id']}/$record-premium", json=params), 200
    )
    for p in second["parameter"]:
        await valid(client, p["resource"])
    paid = await checked(client, await client.get(f"Coverage/{cov['id']}"), 200)
    assert status(paid) == "2" and paid["status"] == "active"
    assert ext(paid, "policy-effective-date") == "2026-01-25"  # the instalment that completed the value

    async def ask(day: str, who: str = "juma-kweka") -> Json:
        body = request({"reference": f"Patient/{who}"}, day, [item("service", "A1"), item("item", "NOPE")])
        answer = await checked(client, await submit(client, body), 200)
        assert answer["resourceType"] == "CoverageEligibilityResponse"
        return answer

    # adults: covered from 2026-01-25, A1 waits 3 months → 2026-04-25
    inside = (await ask("2026-03-01"))["insurance"][0]
    assert inside["inforce"] is True and inside["coverage"] == {"reference": f"Coverage/{cov['id']}"}
    a1, nope = inside["item"][:2]
    assert a1["excluded"] is True and reason(a1) == "waiting-period"
    assert benefits(a1)["min_date_service"]["allowedString"] == "2026-04-25"
    assert nope["excluded"] is True and reason(nope) == "not-covered"
    outside = (await ask("2026-04-25"))["insurance"][0]
    assert outside["item"][0]["excluded"] is False
    child = (await ask("2026-03-01", "neema-kweka"))["insurance"][0]  # children do not wait
    assert child["item"][0]["excluded"] is False
    before_cover = (await ask("2026-01-20"))["insurance"][0]
    assert before_cover["inforce"] is False
    # the request and its response were stored
    stored = (await client.get("CoverageEligibilityResponse", params={"_count": "100"})).json()
    assert len(stored["entry"]) == 4
