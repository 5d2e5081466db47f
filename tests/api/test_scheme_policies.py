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

import os
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from fhir_server.app import create_app
from fhir_server.config import Settings
from tests.api.conftest import BASE, make_settings
from tests.api.scheme_builders import (
    FHIR_JSON,
    SD,
    family_of_five,
    policy,
    premium,
    product,
    put,
)
from tests.api.test_mongo_backend import mongo_store

Json = dict[str, Any]


@pytest.fixture(params=["sqlite", "mongo"])
async def client(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """SQLite, and a real MongoDB replica set when FHIR_TEST_MONGODB_URI is set: the scheme's
    units of work write several resources, which a standalone MongoDB (mongomock in CI) refuses
    (see test_a_standalone_mongodb_refuses_a_premium_cleanly)."""
    if request.param == "sqlite":
        app = create_app(make_settings(tmp_path))
    else:
        if not os.environ.get("FHIR_TEST_MONGODB_URI"):
            pytest.skip("needs a MongoDB replica set (FHIR_TEST_MONGODB_URI)")
        app = create_app(
            Settings(store="mongodb://unused", base_url=BASE, policy_expiry_interval=0), store=mongo_store()
        )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE + "/") as c:
            yield c


async def test_a_standalone_mongodb_refuses_a_premium_cleanly() -> None:
    app = create_app(
        Settings(store="mongodb://unused", base_url=BASE, policy_expiry_interval=0), store=mongo_store()
    )
    if os.environ.get("FHIR_TEST_MONGODB_URI"):
        pytest.skip("mongomock only: a real server may be a replica set")
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url=BASE + "/") as c,
    ):
        cov = await sell(c)
        assert status(cov) == "1"  # selling writes one resource: fine on a standalone server
        r = await c.post(
            "PaymentNotice", json=premium(cov["id"], "S-1", "16500", "2026-03-05"), headers=FHIR_JSON
        )
        assert r.status_code == 400 and "replica set" in r.text
        assert (await c.get("PaymentNotice")).json().get("entry") is None
        assert (await c.get(f"Coverage/{cov['id']}")).json()["meta"]["versionId"] == "1"


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
    # paid by whichever was recorded second: from its pay date
    assert status(final) == "2" and ext(final, "policy-effective-date") in ("2026-03-02", "2026-03-03")
    completing = a if "paid-exact" in a.text else b
    assert "paid-exact" in completing.text and "partial-payment" in (b if completing is a else a).text
    assert ext(final, "policy-effective-date") == out(completing.json(), "payment")["paymentDate"]
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


async def _sync(client: httpx.AsyncClient, family_id: str, day: str) -> None:
    from datetime import date

    from fhir_server.scheme.policy import sync_family_policies

    server = client._transport.app.state.server  # type: ignore[attr-defined]
    async with server.store.transaction() as tx:
        await sync_family_policies(server, tx, family_id, date.fromisoformat(day))


async def test_a_member_joining_a_paid_policy_is_covered_from_the_payment_that_covers_them(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import date

    from fhir_server import clock
    from tests.api.scheme_builders import FIVE, family, insuree

    cov = await sell(client)
    await client.post(f"Coverage/{cov['id']}/$record-premium", json=record("16500", "2026-03-20", "J-1"))
    # amani names the family: it joins it, and the family's policies are synced that day
    monkeypatch.setattr(clock, "today", lambda: date(2026, 4, 10))
    await put(client, insuree("amani-kweka", "100000056", "family-kweka", "2024-01-05", "male", 4))
    ids = [m[0] for m in FIVE] + ["amani-kweka"]
    await put(client, family("family-kweka", ids[0], FIVE[0][1], ids))
    monkeypatch.undo()
    await _sync(client, "family-kweka", "2026-04-10")
    pol = (await client.get(f"Coverage/{cov['id']}")).json()
    # 3 related children now: 2 adults + 2 children fill the threshold of 4, one extra child 1,500;
    # registration and assembly for 6 members: 6 × 700 = 4,200 → 10,000 + 1,500 + 3,000 + 4,200
    assert Decimal(str(ext(pol, "policy-value")["value"])) == Decimal("18700.00")
    joined = members(pol)["amani-kweka"]
    assert joined["joined"] == "2026-04-10" and "effectiveDate" not in joined  # 2,200 short
    assert members(pol)["juma-kweka"]["effectiveDate"] == "2026-03-20"
    assert status(pol) == "2"
    r = await client.post(f"Coverage/{cov['id']}/$record-premium", json=record("2200", "2026-04-15", "J-2"))
    pol = out(r.json(), "policy")
    assert status(pol) == "2" and ext(pol, "policy-effective-date") == "2026-03-20"
    assert members(pol)["amani-kweka"]["effectiveDate"] == "2026-04-15"
    assert members(pol)["amani-kweka"]["expiryDate"] == "2027-02-28"
    # syncing again changes nothing
    version = pol["meta"]["versionId"]
    await _sync(client, "family-kweka", "2026-04-20")
    assert (await client.get(f"Coverage/{cov['id']}")).json()["meta"]["versionId"] == version


async def test_a_member_who_dies_or_leaves_stops_being_covered(client: httpx.AsyncClient) -> None:
    from tests.api.scheme_builders import FIVE, family, insuree

    cov = await sell(client)
    await client.post(f"Coverage/{cov['id']}/$record-premium", json=record("16500", "2026-03-20", "D-1"))
    grandma = insuree("bibi-kweka", "100000045", "family-kweka", "1950-01-10", "female", 7)
    grandma["extension"].append(
        {
            "url": SD + "insuree-status",
            "valueCodeableConcept": {
                "coding": [{"system": "https://openimis.org/fhir/CodeSystem/insuree-status", "code": "DE"}]
            },
        }
    )
    await put(client, grandma)
    ids = [m[0] for m in FIVE if m[0] != "neema-kweka"]  # neema leaves the family
    await put(client, family("family-kweka", ids[0], FIVE[0][1], ids))
    await _sync(client, "family-kweka", "2026-06-30")
    pol = (await client.get(f"Coverage/{cov['id']}")).json()
    got = members(pol)
    assert (
        got["bibi-kweka"]["expiryDate"] == "2026-06-30" and got["neema-kweka"]["expiryDate"] == "2026-06-30"
    )
    assert got["juma-kweka"]["expiryDate"] == "2027-02-28"
    assert Decimal(str(ext(pol, "policy-value")["value"])) == Decimal("16500.00")  # nothing refunded


async def test_the_daily_job_expires_ended_policies_when_the_server_starts(tmp_path: Any) -> None:
    import asyncio

    from fhir_server.app import create_app
    from tests.api.conftest import BASE, make_settings

    def client_of(app: Any) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE + "/")

    app = create_app(make_settings(tmp_path))  # no job
    async with app.router.lifespan_context(app), client_of(app) as c:
        old = await sell(c, enrol="2025-01-10")
        await c.post(f"Coverage/{old['id']}/$record-premium", json=record("16500", "2025-01-15", "Y-1"))
    app = create_app(make_settings(tmp_path, policy_expiry_interval=3600))
    async with app.router.lifespan_context(app), client_of(app) as c:
        for _ in range(100):
            got = (await c.get(f"Coverage/{old['id']}")).json()
            if status(got) == "8":
                break
            await asyncio.sleep(0.05)
        assert status(got) == "8" and got["status"] == "cancelled"


async def test_a_product_that_cannot_price_a_policy_is_refused(client: httpx.AsyncClient) -> None:
    broken = product()
    broken["coverage"][0]["benefit"][0]["limit"] = broken["coverage"][0]["benefit"][0]["limit"][1:]
    r = await client.put("InsurancePlan/tst", json=broken, headers=FHIR_JSON)
    assert r.status_code == 422, r.text
    issue = r.json()["issue"][0]
    assert issue["details"]["coding"][0]["code"] == "product-incomplete"
    assert issue["expression"] == ["InsurancePlan.coverage.benefit.limit"]
    assert (await client.put("InsurancePlan/tst", json=product(), headers=FHIR_JSON)).status_code == 201


async def test_a_bad_start_cycle_points_at_it(client: httpx.AsyncClient) -> None:
    r = await client.put("InsurancePlan/tst", json=product(cycles=("31-02",)), headers=FHIR_JSON)
    assert r.status_code == 422
    assert r.json()["issue"][0]["expression"] == ["InsurancePlan.extension[0].value"]


async def test_paid_policies_and_recorded_premiums_are_not_deleted(client: httpx.AsyncClient) -> None:
    cov = await sell(client)
    r = await client.post(f"Coverage/{cov['id']}/$record-premium", json=record("100", "2026-03-02", "DEL-1"))
    payment = out(r.json(), "payment")
    r = await client.delete(f"Coverage/{cov['id']}")
    assert r.status_code == 409 and "policy-has-premiums" in r.text
    r = await client.delete(f"PaymentNotice/{payment['id']}")
    assert r.status_code == 409 and "premium-delete" in r.text
    cancelled = dict(payment, status="cancelled")
    r = await client.put(f"PaymentNotice/{payment['id']}", json=cancelled, headers=FHIR_JSON)
    assert r.status_code == 200, r.text
    assert (await client.delete(f"PaymentNotice/{payment['id']}")).status_code == 200
    assert (await client.delete(f"Coverage/{cov['id']}")).status_code == 200


async def test_renewal_follows_the_conversion_product_chain(client: httpx.AsyncClient) -> None:
    await put(client, product("tst3", "TST03"))
    conversion = {"url": SD + "product-conversion", "valueReference": {"reference": "InsurancePlan/tst3"}}
    await put(client, product("tst2", "TST02", extensions=[conversion]))
    to_two = {"url": SD + "product-conversion", "valueReference": {"reference": "InsurancePlan/tst2"}}
    cov = await sell(client, extensions=[to_two])  # TST01 → TST02 → TST03
    r = await client.post(
        f"Coverage/{cov['id']}/$renew", json={"resourceType": "Parameters", "parameter": []}
    )
    assert r.status_code == 201, r.text
    new = out(r.json(), "policy")
    assert (
        ext(new, "policy-product") == {"reference": "InsurancePlan/tst3"}
        and new["class"][0]["value"] == "TST03"
    )


async def test_the_capability_statement_lists_the_scheme_operations(client: httpx.AsyncClient) -> None:
    import json

    cs = (await client.get("metadata")).json()
    by_type = {
        r["type"]: {o["name"]: o["definition"] for o in r.get("operation", [])}
        for r in cs["rest"][0]["resource"]
    }
    expected = {
        "Coverage": {"record-premium", "renew", "expire-policies"},
        "CoverageEligibilityRequest": {"submit"},
    }
    root = Path(__file__).resolve().parents[2] / "profiles"
    for rtype, names in expected.items():
        assert names <= set(by_type[rtype]), (rtype, by_type[rtype])
        for name in names:
            url = by_type[rtype][name]
            od = json.loads((root / f"OperationDefinition-{url.rsplit('/', 1)[1]}.json").read_text())
            assert od["url"] == url and od["code"] == name and rtype in od["resource"]


async def test_a_policy_used_in_claims_is_not_deleted(client: httpx.AsyncClient) -> None:
    from fhir_server.insurance.ledger import ClaimConsumption, apply
    from fhir_server.scheme.ledger import load_ledger, save_ledger

    cov = await sell(client)
    server = client._transport.app.state.server  # type: ignore[attr-defined]
    async with server.store.transaction() as tx:
        ledger = await load_ledger(tx, cov["id"])
        await save_ledger(server, tx, apply(ledger, ClaimConsumption("claim-1", "juma-kweka")))
    r = await client.delete(f"Coverage/{cov['id']}")
    assert r.status_code == 409 and "policy-used-in-claims" in r.text


async def test_a_paid_policy_sent_again_without_its_stage_or_enrolment_date_keeps_its_terms(
    client: httpx.AsyncClient,
) -> None:
    cov = await sell(client)
    await client.post(f"Coverage/{cov['id']}/$record-premium", json=record("16500", "2026-03-02", "ST-1"))
    paid = (await client.get(f"Coverage/{cov['id']}")).json()
    again = dict(paid)
    again["extension"] = [
        e for e in paid["extension"] if e["url"] not in (SD + "policy-stage", SD + "policy-enrol-date")
    ]
    r = await client.put(f"Coverage/{cov['id']}", json=again, headers=FHIR_JSON)
    assert r.status_code == 200, r.text
    assert status(r.json()) == "2" and ext(r.json(), "policy-stage")["coding"][0]["code"] == "N"
    assert ext(r.json(), "policy-enrol-date") == "2026-03-01"
