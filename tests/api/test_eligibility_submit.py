"""``POST CoverageEligibilityRequest/$submit`` over HTTP on the real app (SQLite file)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal as D
from typing import Any

import httpx
import pytest

from fhir_server.insurance.ledger import Amounts, ClaimConsumption, apply
from fhir_server.scheme.ledger import load_ledger, save_ledger
from fhir_server.server import Server
from tests.api.eligibility_data import INSURANCE_NUMBER, scheme, transaction

Json = dict[str, Any]
CAT = "https://openimis.org/fhir/CodeSystem/coverage-item-category"
REASON = "https://openimis.org/fhir/StructureDefinition/eligibility-reason"


@pytest.fixture
async def sch(client: httpx.AsyncClient) -> AsyncIterator[httpx.AsyncClient]:
    r = await client.post("", json=transaction(scheme()))
    assert r.status_code == 200, r.text
    yield client


def request(
    patient: Json, day: str | None = "2024-06-01", items: list[Json] | None = None, **kw: Any
) -> Json:
    body: Json = {"resourceType": "CoverageEligibilityRequest", "patient": patient}
    if day:
        body["servicedDate"] = day
    if items:
        body["item"] = items
    body.update(kw)
    return body


def item(kind: str, code: str, as_text: bool = True) -> Json:
    pos = {"text": code} if as_text else {"coding": [{"code": code}]}
    return {"category": {"coding": [{"system": CAT, "code": kind}]}, "productOrService": pos}


def benefits(it: Json) -> dict[str, Json]:
    return {b["type"]["coding"][0]["code"]: b for b in it.get("benefit", [])}


def reason(element: Json) -> str | None:
    for e in element.get("extension", []):
        if e["url"] == REASON:
            return str(e["valueCodeableConcept"]["coding"][0]["code"])
    return None


async def submit(c: httpx.AsyncClient, body: Json) -> httpx.Response:
    return await c.post("CoverageEligibilityRequest/$submit", json=body)


async def valid(c: httpx.AsyncClient, resource: Json) -> None:
    r = await c.post(f"{resource['resourceType']}/$validate", json=resource)
    errors = [i for i in r.json()["issue"] if i["severity"] in ("error", "fatal")]
    assert not errors, errors


async def test_in_force_with_items_categories_and_ceilings(sch: httpx.AsyncClient) -> None:
    r = await submit(
        sch,
        request(
            {"reference": "Patient/massawe-head"},
            items=[
                item("service", "A1"),
                item("item", "0182", as_text=False),
                item("item", "0999"),
                item("service", "ZZ9"),
                item("benefit", "H"),
            ],
        ),
    )
    assert r.status_code == 200, r.text
    resp = r.json()
    assert resp["resourceType"] == "CoverageEligibilityResponse" and resp["outcome"] == "complete"
    await valid(sch, resp)
    [ins] = resp["insurance"]
    assert ins["coverage"]["reference"] == "Coverage/policy-massawe-2024" and ins["inforce"] is True
    assert ins["benefitPeriod"] == {"start": "2024-01-15", "end": "2025-01-14"} and reason(ins) == "in-force"
    a1, i0182, i0999, zz9, hosp, general = ins["item"]
    # A1: adult waiting 3 months from 2024-01-15 → 2024-04-15, 4 per period
    assert a1["category"]["coding"][0]["code"] == "service" and a1["excluded"] is False
    assert (
        benefits(a1)["service_left"]["allowedUnsignedInt"] == 4
        and benefits(a1)["service_left"]["usedUnsignedInt"] == 0
    )
    assert benefits(a1)["min_date_service"]["allowedString"] == "2024-04-15"
    # 0182 is an item: item_left / min_date_item (openIMIS swaps these, §9 note 3)
    assert (
        i0182["category"]["coding"][0]["code"] == "item"
        and benefits(i0182)["item_left"]["allowedUnsignedInt"] == 72
    )
    assert i0999["excluded"] is True and reason(i0999) == "waiting-period"
    assert (
        benefits(i0999)["min_date_item"]["allowedString"] == "2024-07-15"
        and "allowedUnsignedInt" not in benefits(i0999)["item_left"]
    )
    assert zz9["excluded"] is True and reason(zz9) == "not-covered" and "benefit" not in zz9
    assert hosp["category"]["coding"][0]["code"] == "benefit" and hosp["excluded"] is False
    assert benefits(hosp)["admissions_left"]["allowedUnsignedInt"] == 2
    assert general["name"] == "Basic Health Scheme" and general["description"] == "BHS01"
    b = benefits(general)
    assert b["visits_left"]["allowedUnsignedInt"] == 12
    assert (
        b["surgery_amount"]["allowedMoney"]["value"] == 150000
        and b["surgery_amount"]["usedMoney"]["value"] == 0
    )
    # 4 members current on 2024-06-01 (the 'other' left on 2024-04-30): threshold 4 → 500,000
    assert b["total_ceiling"]["allowedMoney"]["value"] == 500000
    assert b["total_deduction"]["allowedMoney"]["value"] == 2000
    # stored: the request and the response, linked
    req_id = resp["request"]["reference"].split("/")[1]
    stored = await sch.get(f"CoverageEligibilityRequest/{req_id}")
    assert stored.status_code == 200 and stored.json()["patient"]["reference"] == "Patient/massawe-head"
    assert (await sch.get(f"CoverageEligibilityResponse/{resp['id']}")).status_code == 200


async def test_consumption_from_the_ledger_reduces_what_is_left(sch: httpx.AsyncClient) -> None:
    server: Server = sch._transport.app.state.server  # type: ignore[attr-defined]
    async with server.store.transaction() as tx:
        ledger = await load_ledger(tx, "policy-massawe-2024")
        for n in range(4):
            ledger = apply(
                ledger,
                ClaimConsumption(
                    f"clm-{n}",
                    "massawe-head",
                    quantities={("service", "A1"): D(1)},
                    categories={"surgery": D(40000)},
                    deducted=Amounts(g=D(500)),
                    remunerated=Amounts(g=D(40000)),
                ),
            )
        await save_ledger(server, tx, ledger)
    r = await submit(sch, request({"reference": "Patient/massawe-head"}, items=[item("service", "A1")]))
    resp = r.json()
    await valid(sch, resp)
    a1, general = resp["insurance"][0]["item"]
    assert a1["excluded"] is True and reason(a1) == "limit-reached"
    assert benefits(a1)["service_left"]["usedUnsignedInt"] == 4
    b = benefits(general)
    assert b["surgery_amount"]["usedMoney"]["value"] == 160000  # over the 150,000 maximum: nothing left
    assert (
        b["total_ceiling"]["usedMoney"]["value"] == 160000
        and b["total_deduction"]["usedMoney"]["value"] == 2000
    )
    # the spouse consumed nothing: per-insuree A1 is intact, the per-policy ceiling is shared
    r = await submit(sch, request({"reference": "Patient/massawe-spouse"}, items=[item("service", "A1")]))
    a1, general = r.json()["insurance"][0]["item"]
    assert a1["excluded"] is False and benefits(a1)["service_left"]["usedUnsignedInt"] == 0
    assert benefits(general)["total_ceiling"]["usedMoney"]["value"] == 160000


async def test_a_service_of_a_category_at_its_limit_is_excluded(sch: httpx.AsyncClient) -> None:
    server: Server = sch._transport.app.state.server  # type: ignore[attr-defined]
    async with server.store.transaction() as tx:
        ledger = await load_ledger(tx, "policy-massawe-2024")
        for n in range(3):  # three consultations (the product allows 3), none of them A1
            claim = ClaimConsumption(f"c-{n}", "massawe-spouse", categories={"consultation": D(1000)})
            ledger = apply(ledger, claim)
        await save_ledger(server, tx, ledger)
    r = await submit(sch, request({"reference": "Patient/massawe-spouse"}, items=[item("service", "A1")]))
    a1, general = r.json()["insurance"][0]["item"]
    assert a1["excluded"] is True and reason(a1) == "category-limit-reached"
    assert benefits(a1)["service_left"]["usedUnsignedInt"] == 0
    consult = benefits(general)["consultations_left"]
    assert consult["allowedUnsignedInt"] == 3 and consult["usedUnsignedInt"] == 3


async def test_waiting_period_boundaries_over_http(sch: httpx.AsyncClient) -> None:
    async def a1(day: str, who: str = "massawe-head") -> Json:
        r = await submit(sch, request({"reference": f"Patient/{who}"}, day, [item("service", "A1")]))
        assert r.status_code == 200, r.text
        return r.json()["insurance"][0]["item"][0]  # type: ignore[no-any-return]

    assert (await a1("2024-04-14"))["excluded"] is True
    assert (await a1("2024-04-15"))["excluded"] is False
    # the spouse joined on 2024-03-01: adult waiting from her effective date → 2024-06-01
    assert (await a1("2024-05-31", "massawe-spouse"))["excluded"] is True
    assert (await a1("2024-06-01", "massawe-spouse"))["excluded"] is False
    # child: 1 month → 2024-02-15
    assert (await a1("2024-02-14", "massawe-child1"))["excluded"] is True
    assert (await a1("2024-02-15", "massawe-child1"))["excluded"] is False


async def test_by_insurance_number_and_policy_states(sch: httpx.AsyncClient) -> None:
    r = await submit(sch, request({"identifier": {"system": INSURANCE_NUMBER, "value": "100000003"}}))
    resp = r.json()
    assert (
        resp["patient"]["reference"] == "Patient/massawe-child1" and resp["insurance"][0]["inforce"] is True
    )
    # openIMIS sends the CHFID as the reference id
    r = await submit(sch, request({"reference": "Patient/100000003"}))
    assert r.json()["patient"]["reference"] == "Patient/massawe-child1"
    for who, why in (("idle-head", "idle"), ("susp-head", "suspended"), ("massawe-other", "member-left")):
        r = await submit(sch, request({"reference": f"Patient/{who}"}, items=[item("service", "A1")]))
        resp = r.json()
        await valid(sch, resp)
        ins = resp["insurance"][0]
        assert ins["inforce"] is False and reason(ins) == why, (who, resp)
        assert ins["item"][0]["excluded"] is True
    r = await submit(sch, request({"reference": "Patient/massawe-head"}, "2025-03-01"))
    ins = r.json()["insurance"][0]
    assert ins["inforce"] is False and reason(ins) == "expired"


async def test_unknown_patient_and_patient_without_policy_are_answers(sch: httpx.AsyncClient) -> None:
    r = await submit(sch, request({"reference": "Patient/nobody"}))
    assert r.status_code == 200, r.text
    resp = r.json()
    await valid(sch, resp)
    assert "insurance" not in resp and resp["outcome"] == "error"
    assert (
        resp["error"][0]["code"]["coding"][0]["code"] == "unknown-insuree"
        and "No insuree" in resp["disposition"]
    )
    r = await submit(sch, request({"reference": "Patient/lonely"}, items=[item("service", "A1")]))
    resp = r.json()
    await valid(sch, resp)
    assert r.status_code == 200 and "insurance" not in resp and resp["outcome"] == "complete"
    assert reason(resp) == "no-policy" and "no policy" in resp["disposition"]


async def test_parameters_body_and_default_service_date(sch: httpx.AsyncClient) -> None:
    body = {
        "resourceType": "Parameters",
        "parameter": [{"name": "resource", "resource": request({"reference": "Patient/massawe-head"}, None)}],
    }
    r = await sch.post("CoverageEligibilityRequest/$submit", json=body)
    assert r.status_code == 200, r.text
    assert len(r.json()["servicedDate"]) == 10


@pytest.mark.parametrize(
    ("body", "status", "expression"),
    [
        ({"resourceType": "Patient"}, 400, "resourceType"),
        (request({"display": "x"}), 400, "CoverageEligibilityRequest.patient"),
        (request({"reference": "Group/family-massawe"}), 400, "CoverageEligibilityRequest.patient.reference"),
        (
            request({"identifier": {"system": "urn:other", "value": "1"}}),
            400,
            "CoverageEligibilityRequest.patient.identifier.system",
        ),
        (
            request({"reference": "Patient/massawe-head"}, "2024-13-45"),
            400,
            "CoverageEligibilityRequest.servicedDate",
        ),
        (
            request(
                {"reference": "Patient/massawe-head"},
                items=[{"category": {"coding": [{"system": CAT, "code": "item"}]}}],
            ),
            400,
            "CoverageEligibilityRequest.item[0].productOrService",
        ),
        (
            request({"reference": "Patient/massawe-head"}, items=[{"productOrService": {"text": "A1"}}]),
            400,
            "CoverageEligibilityRequest.item[0].category",
        ),
        (
            request({"reference": "Patient/massawe-head"}, items=[item("benefit", "Q")]),
            400,
            "CoverageEligibilityRequest.item[0].productOrService",
        ),
        (
            request({"reference": "Patient/massawe-head"}, items=[item("drug", "A1")]),
            400,
            "CoverageEligibilityRequest.item[0].category",
        ),
        ({"resourceType": "Parameters", "parameter": []}, 400, "Parameters.parameter"),
    ],
)
async def test_bad_input(sch: httpx.AsyncClient, body: Json, status: int, expression: str) -> None:
    r = await submit(sch, body)
    assert r.status_code == status, r.text
    out = r.json()
    assert out["resourceType"] == "OperationOutcome"
    assert any(expression in e for i in out["issue"] for e in i.get("expression", [])), out


async def test_get_is_not_allowed(sch: httpx.AsyncClient) -> None:
    r = await sch.get("CoverageEligibilityRequest/$submit")
    assert r.status_code == 405


async def test_end_to_end_with_a_policy_sold_and_paid_through_the_policy_service(
    client: httpx.AsyncClient,
) -> None:
    """The policy service (POST Coverage, PaymentNotice) makes the policy; eligibility reads it."""
    from tests.api.scheme_builders import FHIR_JSON, covered, family_of_five, policy, premium, product, put

    items = [covered("service", "A1", priceOrigin="P", waitingPeriodAdult=2, waitingPeriodChild=0)]
    await put(client, product(covered_items=items))
    ids = await family_of_five(client)
    r = await client.post(
        "Coverage", json=policy("tst", "family-kweka", "2026-03-01", head=ids[0]), headers=FHIR_JSON
    )
    assert r.status_code == 201, r.text
    cov = r.json()

    async def ask(day: str, who: str = "juma-kweka") -> Json:
        body = request({"reference": f"Patient/{who}"}, day, [item("service", "A1"), item("item", "X9")])
        answer = await submit(client, body)
        assert answer.status_code == 200, answer.text
        await valid(client, answer.json())
        return answer.json()  # type: ignore[no-any-return]

    idle = (await ask("2026-04-01"))["insurance"][0]
    assert idle["inforce"] is False and reason(idle) == "idle"
    paid = await client.post(
        "PaymentNotice", json=premium(cov["id"], "RC-1", "16500", "2026-03-20"), headers=FHIR_JSON
    )
    assert paid.status_code == 201, paid.text
    # covered from 2026-03-20; A1's adult waiting period of 2 months ends on 2026-05-20
    before = (await ask("2026-05-19"))["insurance"][0]
    assert before["inforce"] is True
    a1, x9 = before["item"][:2]
    assert a1["excluded"] is True and reason(a1) == "waiting-period"
    assert benefits(a1)["min_date_service"]["allowedString"] == "2026-05-20"
    assert x9["excluded"] is True and reason(x9) == "not-covered"
    on = (await ask("2026-05-20"))["insurance"][0]
    assert on["item"][0]["excluded"] is False
    child = (await ask("2026-03-20", "baraka-kweka"))["insurance"][0]  # no waiting period for children
    assert child["item"][0]["excluded"] is False
    outside = (await ask("2026-03-19"))["insurance"][0]  # before the payment: not covered yet
    assert outside["inforce"] is False and reason(outside) == "member-not-yet-effective"
