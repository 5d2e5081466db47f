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


def record(amount: str, day: str, receipt: str, pay_type: str = "M") -> Json:
    return {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "amount", "valueMoney": {"value": float(amount), "currency": "TZS"}},
            {"name": "payDate", "valueDate": day},
            {"name": "payType", "valueCoding": {"code": pay_type}},
            {"name": "receipt", "valueString": receipt},
        ],
    }


def out(parameters: Json, name: str) -> Json:
    found: Json = next(p["resource"] for p in parameters["parameter"] if p["name"] == name)
    return found


async def test_record_premium_returns_the_payment_and_the_policy(client: httpx.AsyncClient) -> None:
    cov = await sell(client)
    r = await client.post(f"Coverage/{cov['id']}/$record-premium", json=record("6000", "2026-03-02", "MP-1"))
    assert r.status_code == 200, r.text
    assert status(out(r.json(), "policy")) == "1"
    assert "partial-payment" in r.text
    r = await client.post(f"Coverage/{cov['id']}/$record-premium", json=record("11000", "2026-03-04", "MP-2"))
    body = r.json()
    pol = out(body, "policy")
    assert (
        status(pol) == "2" and ext(pol, "policy-effective-date") == "2026-03-04"
    )  # over-paid: from the pay date
    codes = {i.get("details", {}).get("coding", [{}])[0].get("code") for i in out(body, "outcome")["issue"]}
    assert {"paid-over", "over-payment"} <= codes
    payment = out(body, "payment")
    assert payment["request"] == {"reference": f"Coverage/{cov['id']}"}
    assert payment["identifier"][0]["value"] == "MP-2"
    # the same receipt again: the recorded payment, nothing new
    again = await client.post(
        f"Coverage/{cov['id']}/$record-premium", json=record("11000", "2026-03-04", "MP-2")
    )
    assert again.status_code == 200
    assert out(again.json(), "payment")["id"] == payment["id"]
    assert out(again.json(), "policy")["meta"]["versionId"] == pol["meta"]["versionId"]
    assert any(i["code"] == "duplicate" for i in out(again.json(), "outcome")["issue"])


async def test_record_premium_on_an_unknown_policy_is_404(client: httpx.AsyncClient) -> None:
    r = await client.post("Coverage/nope/$record-premium", json=record("10", "2026-03-02", "X"))
    assert r.status_code == 404 and r.json()["resourceType"] == "OperationOutcome"


async def test_record_premium_refuses_bad_parameters(client: httpx.AsyncClient) -> None:
    cov = await sell(client)
    url = f"Coverage/{cov['id']}/$record-premium"
    bad = record("10", "2026-03-02", "X")
    bad["parameter"][0] = {"name": "amount", "valueMoney": {"value": -5}}
    r = await client.post(url, json=bad)
    assert r.status_code == 400 and r.json()["issue"][0]["expression"] == ["amount"]
    r = await client.post(url, json=record("10", "2999-01-01", "X"))
    assert r.status_code == 400 and r.json()["issue"][0]["expression"] == ["payDate"]
    r = await client.post(url, json=record("10", "2026-03-02", "X", pay_type="Z"))
    assert r.status_code == 400 and r.json()["issue"][0]["code"] == "code-invalid"
    r = await client.post(url, json={"resourceType": "Patient"})
    assert r.status_code == 400
    r = await client.get(url)
    assert r.status_code == 405
    assert (await client.get("PaymentNotice")).json().get("entry") is None


async def test_expire_policies_expires_only_ended_policies(client: httpx.AsyncClient) -> None:
    old = await sell(client, enrol="2025-01-10")  # 2025-01-10 .. 2026-01-09
    assert old["period"] == {"start": "2025-01-10", "end": "2026-01-09"}
    await client.post(f"Coverage/{old['id']}/$record-premium", json=record("16500", "2025-01-15", "E-1"))
    current = await client.post(
        "Coverage", json=policy("tst", "family-kweka", "2026-03-01", head="juma-kweka"), headers=FHIR_JSON
    )
    assert current.status_code == 201
    r = await client.post("Coverage/$expire-policies", json={"resourceType": "Parameters", "parameter": []})
    assert r.status_code == 200, r.text
    params = {p["name"]: p for p in r.json()["parameter"]}
    assert params["expired"]["valueInteger"] == 1
    assert params["policy"]["valueReference"]["reference"] == f"Coverage/{old['id']}"
    expired = (await client.get(f"Coverage/{old['id']}")).json()
    assert status(expired) == "8" and expired["status"] == "cancelled"
    assert status((await client.get(f"Coverage/{current.json()['id']}")).json()) == "1"
    again = await client.post(
        "Coverage/$expire-policies", json={"resourceType": "Parameters", "parameter": []}
    )
    assert {p["name"]: p for p in again.json()["parameter"]}["expired"]["valueInteger"] == 0
    # a payment does not re-activate an expired policy
    late = await client.post(f"Coverage/{old['id']}/$record-premium", json=record("100", "2026-02-01", "E-2"))
    assert status(out(late.json(), "policy")) == "8" and "policy-expired" in late.text


RENEWAL_DISCOUNT = {
    "url": SD + "product-discount",
    "extension": [
        {
            "url": "kind",
            "valueCodeableConcept": {
                "coding": [
                    {
                        "system": "https://openimis.org/fhir/CodeSystem/product-discount-kind",
                        "code": "renewal",
                    }
                ]
            },
        },
        {"url": "percentage", "valueDecimal": 10},
        {"url": "months", "valueUnsignedInt": 1},
    ],
}


async def test_renewal_creates_the_next_policy_with_its_discount(client: httpx.AsyncClient) -> None:
    cov = await sell(client, extensions=[RENEWAL_DISCOUNT])
    await client.post(f"Coverage/{cov['id']}/$record-premium", json=record("16500", "2026-03-02", "R-1"))
    r = await client.post(
        f"Coverage/{cov['id']}/$renew",
        json={"resourceType": "Parameters", "parameter": [{"name": "enrolDate", "valueDate": "2026-11-20"}]},
    )
    assert r.status_code == 201, r.text
    new = out(r.json(), "policy")
    assert ext(new, "policy-stage")["coding"][0]["code"] == "R"
    assert ext(new, "policy-previous") == {"reference": f"Coverage/{cov['id']}"}
    # starts the day after the previous expiry (2027-02-28); 12 months − 1 day, 2028 is a leap year
    assert new["period"] == {"start": "2027-03-01", "end": "2028-02-29"}
    # no registration fee on renewal: 10,000 + 3,000 + assembly 1,000 = 14,000; renewed on
    # 2026-11-20, on or before 2027-03-01 − 1 month: 10 % off → 12,600
    assert Decimal(str(ext(new, "policy-value")["value"])) == Decimal("12600.00")
    assert status(new) == "1"
    twice = await client.post(
        f"Coverage/{cov['id']}/$renew", json={"resourceType": "Parameters", "parameter": []}
    )
    assert twice.status_code == 422 and "already-renewed" in twice.text


async def test_two_instalments_recorded_at_once_both_count(client: httpx.AsyncClient) -> None:
    import asyncio

    cov = await sell(client)
    url = f"Coverage/{cov['id']}/$record-premium"
    a, b = await asyncio.gather(
        client.post(url, json=record("8250", "2026-03-02", "C-1")),
        client.post(url, json=record("8250", "2026-03-03", "C-2")),
    )
    assert a.status_code == b.status_code == 200, (a.text, b.text)
    final = (await client.get(f"Coverage/{cov['id']}")).json()
    assert status(final) == "2" and ext(final, "policy-effective-date") == "2026-03-03"
    listed = (await client.get("PaymentNotice", params={"request": f"Coverage/{cov['id']}"})).json()
    assert len(listed["entry"]) == 2


async def test_an_imported_policy_is_kept_as_given(client: httpx.AsyncClient) -> None:
    await put(client, product())
    await family_of_five(client)
    legacy = policy("tst", "family-kweka", "2026-03-01", head="juma-kweka")
    legacy["meta"]["tag"] = [
        {"system": "https://openimis.org/fhir/CodeSystem/scheme-tag", "code": "imported"}
    ]
    legacy["extension"] += [
        {"url": SD + "policy-value", "valueMoney": {"value": 123.45, "currency": "TZS"}},
        {
            "url": SD + "policy-status",
            "valueCodeableConcept": {
                "coding": [{"system": "https://openimis.org/fhir/CodeSystem/policy-status", "code": "2"}]
            },
        },
    ]
    legacy["status"] = "active"
    legacy["identifier"] = [{"system": "https://openimis.org/fhir/policy-number", "value": "legacy-1"}]
    legacy["period"] = {"start": "2026-03-01", "end": "2027-02-28"}
    legacy["class"] = [
        {
            "type": {
                "coding": [{"system": "http://terminology.hl7.org/CodeSystem/coverage-class", "code": "plan"}]
            },
            "value": "TST01",
        }
    ]
    r = await client.post("Coverage", json=legacy, headers=FHIR_JSON)
    assert r.status_code == 201, r.text
    assert ext(r.json(), "policy-value")["value"] == 123.45 and status(r.json()) == "2"
