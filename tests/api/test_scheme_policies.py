"""Policies (Coverage) and premiums (PaymentNotice) over HTTP: computed value, dates, status, members.

The product of ``scheme_builders.product()``: lump sum 10,000 for up to 4 related members,
adult premium 3,000, child 1,500, registration fee 500 and assembly fee 200 per member,
12 months, no cycles, no administration period, payment grace 1 month, at most 6 members.
The family of five (head, spouse, two children, one "Others" adult) is worth:
  lump sum 10,000 (2 adults + 2 children ≤ threshold 4)
  + other adult 1 × 3,000
  + registration 5 × 500 = 2,500 + assembly 5 × 200 = 1,000  → 16,500.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx

from tests.api.scheme_builders import (
    FHIR_JSON,
    SD,
    family_of_five,
    policy,
    premium,
    product,
    put,
)

Json = dict[str, Any]


def ext(resource: Json, name: str) -> Any:
    for e in resource.get("extension", []):
        if e["url"] == SD + name:
            return next(v for k, v in e.items() if k.startswith("value"))
    return None


def members(resource: Json) -> dict[str, Json]:
    out: dict[str, Json] = {}
    for e in resource.get("extension", []):
        if e["url"] == SD + "policy-member":
            parts = {p["url"]: next(v for k, v in p.items() if k.startswith("value")) for p in e["extension"]}
            out[parts["member"]["reference"].split("/")[1]] = parts
    return out


def status(resource: Json) -> str:
    return str(ext(resource, "policy-status")["coding"][0]["code"])


async def sell(client: httpx.AsyncClient, enrol: str = "2026-03-01", **product_kw: Any) -> Json:
    await put(client, product(**product_kw))
    ids = await family_of_five(client)
    r = await client.post(
        "Coverage", json=policy("tst", "family-kweka", enrol, head=ids[0]), headers=FHIR_JSON
    )
    assert r.status_code == 201, r.text
    body: Json = r.json()
    return body


async def test_a_new_policy_is_valued_dated_and_idle(client: httpx.AsyncClient) -> None:
    cov = await sell(client)
    assert Decimal(str(ext(cov, "policy-value")["value"])) == Decimal("16500.00")
    assert cov["period"] == {"start": "2026-03-01", "end": "2027-02-28"}  # + 12 months − 1 day
    assert status(cov) == "1" and cov["status"] == "draft"
    assert ext(cov, "policy-stage")["coding"][0]["code"] == "N"
    assert cov["beneficiary"] == {
        "reference": "Patient/juma-kweka",
        "identifier": {"system": "https://openimis.org/fhir/insurance-number", "value": "100000001"},
    }
    assert cov["class"][0]["value"] == "TST01"
    got = members(cov)
    assert sorted(got) == sorted(["juma-kweka", "rehema-kweka", "baraka-kweka", "neema-kweka", "bibi-kweka"])
    assert all("effectiveDate" not in m for m in got.values())  # not covered before it is paid


async def test_two_instalments_activate_the_policy_and_cover_the_members(client: httpx.AsyncClient) -> None:
    cov = await sell(client)
    first = await client.post(
        "PaymentNotice", json=premium(cov["id"], "RC-1", "10000", "2026-03-05"), headers=FHIR_JSON
    )
    assert first.status_code == 201, first.text
    after_first = (await client.get(f"Coverage/{cov['id']}")).json()
    assert status(after_first) == "1" and after_first["status"] == "draft"  # partial payment: still idle
    second = await client.post(
        "PaymentNotice", json=premium(cov["id"], "RC-2", "6500", "2026-03-20"), headers=FHIR_JSON
    )
    assert second.status_code == 201, second.text
    paid = (await client.get(f"Coverage/{cov['id']}")).json()
    assert status(paid) == "2" and paid["status"] == "active"
    # exact payment: effective = the later of the pay date and the start date
    assert ext(paid, "policy-effective-date") == "2026-03-20"
    for m in members(paid).values():
        assert m["effectiveDate"] == "2026-03-20" and m["expiryDate"] == "2027-02-28"


async def test_a_replayed_premium_changes_nothing(client: httpx.AsyncClient) -> None:
    cov = await sell(client)
    body = premium(cov["id"], "RC-9", "16500", "2026-03-05")
    first = await client.post("PaymentNotice", json=body, headers=FHIR_JSON)
    assert first.status_code == 201, first.text
    policy_after = (await client.get(f"Coverage/{cov['id']}")).json()
    again = await client.post("PaymentNotice", json=body, headers=FHIR_JSON)
    assert again.status_code == 200, again.text
    assert again.json()["id"] == first.json()["id"]
    listed = (await client.get("PaymentNotice", params={"request": f"Coverage/{cov['id']}"})).json()
    assert listed["total"] == 1 if "total" in listed else len(listed.get("entry", [])) == 1
    same = (await client.get(f"Coverage/{cov['id']}")).json()
    assert same["meta"]["versionId"] == policy_after["meta"]["versionId"]


async def test_a_receipt_reused_for_another_payment_of_the_product_is_refused(
    client: httpx.AsyncClient,
) -> None:
    cov = await sell(client)
    ok = await client.post(
        "PaymentNotice", json=premium(cov["id"], "RC-3", "1000", "2026-03-05"), headers=FHIR_JSON
    )
    assert ok.status_code == 201
    r = await client.post(
        "PaymentNotice", json=premium(cov["id"], "RC-3", "2000", "2026-03-06"), headers=FHIR_JSON
    )
    assert r.status_code == 422, r.text
    issue = r.json()["issue"][0]
    assert issue["code"] == "duplicate" and issue["details"]["coding"][0]["code"] == "duplicate-receipt"


async def test_a_premium_for_an_unknown_policy_is_refused(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "PaymentNotice", json=premium("nope", "RC-4", "100", "2026-03-05"), headers=FHIR_JSON
    )
    assert r.status_code == 422, r.text
    issue = r.json()["issue"][0]
    assert issue["expression"] == ["PaymentNotice.request"]
    assert issue["details"]["coding"][0]["code"] == "unknown-policy"
    assert (await client.get("PaymentNotice")).json().get("entry") is None


async def test_a_policy_for_an_unknown_product_or_family_is_refused(client: httpx.AsyncClient) -> None:
    await put(client, product())
    r = await client.post("Coverage", json=policy("tst", "no-family", "2026-03-01"), headers=FHIR_JSON)
    assert r.status_code == 422, r.text
    assert r.json()["issue"][0]["details"]["coding"][0]["code"] == "unknown-family"
    r = await client.post("Coverage", json=policy("nope", "no-family", "2026-03-01"), headers=FHIR_JSON)
    assert r.json()["issue"][0]["details"]["coding"][0]["code"] == "unknown-product"


async def test_an_enrolment_date_in_the_future_is_refused(client: httpx.AsyncClient) -> None:
    await put(client, product())
    ids = await family_of_five(client)
    r = await client.post(
        "Coverage", json=policy("tst", "family-kweka", "2999-01-01", head=ids[0]), headers=FHIR_JSON
    )
    assert r.status_code == 422
    assert r.json()["issue"][0]["details"]["coding"][0]["code"] == "enroll-date-future"


async def test_a_paid_policy_keeps_its_terms_and_can_be_suspended(client: httpx.AsyncClient) -> None:
    cov = await sell(client)
    await client.post(
        "PaymentNotice", json=premium(cov["id"], "RC-5", "16500", "2026-03-05"), headers=FHIR_JSON
    )
    paid = (await client.get(f"Coverage/{cov['id']}")).json()
    changed = dict(paid)
    changed["extension"] = [
        e if e["url"] != SD + "policy-enrol-date" else {"url": e["url"], "valueDate": "2026-02-01"}
        for e in paid["extension"]
    ]
    r = await client.put(f"Coverage/{cov['id']}", json=changed, headers=FHIR_JSON)
    assert (
        r.status_code == 422 and r.json()["issue"][0]["details"]["coding"][0]["code"] == "policy-terms-locked"
    )
    suspended = dict(paid)
    suspended["extension"] = [
        e
        if e["url"] != SD + "policy-status"
        else {
            "url": e["url"],
            "valueCodeableConcept": {
                "coding": [{"system": "https://openimis.org/fhir/CodeSystem/policy-status", "code": "4"}]
            },
        }
        for e in paid["extension"]
    ]
    r = await client.put(f"Coverage/{cov['id']}", json=suspended, headers=FHIR_JSON)
    assert r.status_code == 200, r.text
    assert status(r.json()) == "4" and r.json()["status"] == "cancelled"
