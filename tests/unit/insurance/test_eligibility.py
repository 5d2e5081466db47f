"""Eligibility (DOMAIN.md §4.1) with worked numbers: insurance/eligibility.py."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

from fhir_server.insurance.eligibility import (
    Insuree,
    Policy,
    PolicyMember,
    Requested,
    eligibility,
    in_force,
)
from fhir_server.insurance.ledger import Amounts, ClaimConsumption, Ledger, apply, empty
from fhir_server.insurance.policy_dates import ProductPeriods
from fhir_server.insurance.policy_value import ProductPricing
from fhir_server.insurance.product import AmountLimit, CoveredItem, Product

A1 = Requested("service", "A1", category="consultation")
ITEM = Requested("item", "0182")


def product(**kw: object) -> Product:
    values: dict[str, object] = {
        "id": "bhs",
        "code": "BHS01",
        "name": "Basic",
        "currency": "TZS",
        "date_from": None,
        "date_to": None,
        "location": None,
        "pricing": ProductPricing(threshold=4),
        "periods": ProductPeriods(insurance_period=12),
        "covered": {
            ("service", "A1"): CoveredItem(
                "service",
                "A1",
                waiting_period_adult=3,
                waiting_period_child=1,
                quantity_limit_adult=D(4),
                quantity_limit_child=D(6),
            ),
            ("item", "0182"): CoveredItem("item", "0182"),  # no waiting period, unlimited
        },
    }
    values.update(kw)
    return Product(**values)  # type: ignore[arg-type]


# Policy 2024-01-15 .. 2025-01-14; the adult joined with the policy, the child too.
ADULT = Insuree("adult", date(1980, 5, 1))
CHILD = Insuree("child", date(2010, 3, 10))


def policy(status: int = 2, members: tuple[PolicyMember, ...] | None = None, **kw: object) -> Policy:
    return Policy(
        "pol1",
        status,
        date(2024, 1, 15),
        date(2025, 1, 14),
        kw.pop("prod", None) or product(),  # type: ignore[arg-type]
        members
        if members is not None
        else (
            PolicyMember("adult", date(2024, 1, 15), date(2025, 1, 14)),
            PolicyMember("child", date(2024, 1, 15), date(2025, 1, 14)),
        ),
    )


def decide(
    insuree: Insuree, day: date, *req: Requested, pol: Policy | None = None, ledger: Ledger | None = None
):  # type: ignore[no-untyped-def]
    p = pol or policy()
    return eligibility(insuree, [(p, ledger or empty(p.id))], day, tuple(req))


# -- waiting periods ---------------------------------------------------------------------


def test_adult_waiting_period_boundaries() -> None:
    # adult: 3 months from 2024-01-15 → available from 2024-04-15
    before = decide(ADULT, date(2024, 4, 14), A1)
    item = before.policies[0].items[0]
    assert before.inforce and item.excluded and item.reason == "waiting-period"
    assert item.min_date == date(2024, 4, 15)
    assert not before.summary[0].ok and before.summary[0].min_date == date(2024, 4, 15)
    assert before.summary[0].left == 0  # no policy past its waiting period
    on = decide(ADULT, date(2024, 4, 15), A1)
    assert not on.policies[0].items[0].excluded and on.summary[0].ok
    assert on.summary[0].left == 4


def test_child_waiting_period_boundaries() -> None:
    # child: 1 month → available from 2024-02-15
    assert decide(CHILD, date(2024, 2, 14), A1).policies[0].items[0].reason == "waiting-period"
    on = decide(CHILD, date(2024, 2, 15), A1).policies[0]
    assert not on.adult and not on.items[0].excluded
    assert on.items[0].quantity is not None and on.items[0].quantity.allowed == 6


def test_child_turning_adult_gets_adult_rules_from_the_day_after_18th_birthday() -> None:
    teen = Insuree("child", date(2006, 5, 1))  # 18 on 2024-05-01
    on_birthday = decide(teen, date(2024, 5, 1), A1).policies[0]
    assert not on_birthday.adult  # openIMIS: still a child on the 18th birthday
    assert on_birthday.items[0].quantity.allowed == 6  # type: ignore[union-attr]
    after = decide(teen, date(2024, 5, 2), A1).policies[0]
    assert after.adult and after.items[0].quantity.allowed == 4  # type: ignore[union-attr]
    # a child waiting period (1 month) no longer applies: the adult's (3 months) does
    late_joiner = policy(members=(PolicyMember("child", date(2024, 4, 20), date(2025, 1, 14)),))
    d = decide(teen, date(2024, 6, 1), A1, pol=late_joiner).policies[0]
    assert d.items[0].min_date == date(2024, 7, 20) and d.items[0].reason == "waiting-period"


# -- quantities --------------------------------------------------------------------------


def consumed(qty: int, insuree: str = "adult", cid: str = "c1", **kw: object) -> Ledger:
    return apply(empty("pol1"), ClaimConsumption(cid, insuree, quantities={("service", "A1"): D(qty)}, **kw))  # type: ignore[arg-type]


def test_remaining_quantity_and_limit_reached() -> None:
    d = decide(ADULT, date(2024, 6, 1), A1, ledger=consumed(3)).policies[0].items[0]
    assert (d.quantity.allowed, d.quantity.used, d.quantity.left) == (4, 3, 1)  # type: ignore[union-attr]
    assert not d.excluded
    full = decide(ADULT, date(2024, 6, 1), A1, ledger=consumed(5))
    item = full.policies[0].items[0]
    assert item.quantity.left == 0 and item.excluded and item.reason == "limit-reached"  # type: ignore[union-attr]
    assert not full.summary[0].ok and full.summary[0].left == 0


def test_unlimited_item_and_uncovered_item() -> None:
    d = decide(ADULT, date(2024, 1, 15), ITEM, Requested("item", "9999"))
    unlimited, uncovered = d.policies[0].items
    assert (
        unlimited.quantity is not None
        and unlimited.quantity.allowed is None
        and unlimited.quantity.left is None
    )
    assert not unlimited.excluded and d.summary[0].left is None and d.summary[0].ok
    assert uncovered.excluded and uncovered.reason == "not-covered" and not uncovered.covered
    assert not d.summary[1].ok and d.summary[1].reason == "not-covered"


# -- categories --------------------------------------------------------------------------


def test_category_counts_and_amounts() -> None:
    prod = product(max_counts={"consultation": 2, "surgery": 1}, max_amounts={"consultation": D(10000)})
    ledger = empty("pol1")
    for i, amount in enumerate((D(3000), D(4000), D(5000))):  # three consultations: one over the max
        ledger = apply(ledger, ClaimConsumption(f"c{i}", "adult", categories={"consultation": amount}))
    d = decide(
        ADULT, date(2024, 6, 1), A1, Requested("category", "surgery"), pol=policy(prod=prod), ledger=ledger
    )
    cats = {c.category: c for c in d.policies[0].categories}
    consult = cats["consultation"]
    assert (consult.count.allowed, consult.count.used, consult.count.left) == (2, 3, 0)  # negative → 0
    assert (consult.amount.allowed, consult.amount.used, consult.amount.left) == (10000, 12000, 0)
    surgery = cats["surgery"]
    assert surgery.count.left == 1 and surgery.amount.allowed is None and surgery.amount.left is None
    assert "delivery" not in cats  # no maximum at all: unlimited, not reported
    a1, surg = d.policies[0].items
    assert a1.excluded and a1.reason == "category-limit-reached"
    assert not surg.excluded


def test_amount_left_is_reduced_by_consumption() -> None:
    prod = product(max_amounts={"surgery": D(150000)})
    ledger = apply(empty("pol1"), ClaimConsumption("c1", "adult", categories={"surgery": D(40000)}))
    cat = decide(ADULT, date(2024, 6, 1), pol=policy(prod=prod), ledger=ledger).policies[0].categories[0]
    assert (cat.amount.allowed, cat.amount.used, cat.amount.left) == (150000, 40000, 110000)


# -- deductibles and ceilings ------------------------------------------------------------


def family(n: int) -> tuple[PolicyMember, ...]:
    members = [PolicyMember("adult", date(2024, 1, 15), date(2025, 1, 14))]
    members += [PolicyMember(f"m{i}", date(2024, 1, 15), date(2025, 1, 14)) for i in range(n - 1)]
    return tuple(members)


def amounts_of(d):  # type: ignore[no-untyped-def]
    return {(a.kind, a.care): a for a in d.policies[0].amounts}


def test_policy_ceiling_with_the_extra_member_rule_capped() -> None:
    prod = product(
        amounts={
            "max-g-policy": AmountLimit(D(500000), D(50000), D(600000)),
            "ded-g-policy": AmountLimit(D(2000)),
        }
    )
    ledger = apply(
        apply(
            empty("pol1"),
            ClaimConsumption("c1", "adult", deducted=Amounts(g=D(1500)), remunerated=Amounts(g=D(20000))),
        ),
        ClaimConsumption("c2", "m0", deducted=Amounts(g=D(500)), remunerated=Amounts(g=D(30000))),
    )
    # 6 members, threshold 4 → 500000 + 2 × 50000 = 600000 (= the cap)
    six = amounts_of(decide(ADULT, date(2024, 6, 1), pol=policy(prod=prod, members=family(6)), ledger=ledger))
    ceiling = six[("max", "g")]
    assert ceiling.basis == "policy" and ceiling.limit.allowed == 600000
    assert ceiling.limit.used == 50000 and ceiling.limit.left == 550000
    ded = six[("ded", "g")]
    assert (ded.limit.allowed, ded.limit.used, ded.limit.left) == (2000, 2000, 0)
    # 9 members → 500000 + 5 × 50000 = 750000, capped at 600000
    nine = amounts_of(
        decide(ADULT, date(2024, 6, 1), pol=policy(prod=prod, members=family(9)), ledger=ledger)
    )
    assert nine[("max", "g")].limit.allowed == 600000
    # 4 members (the threshold): no extra
    four = amounts_of(
        decide(ADULT, date(2024, 6, 1), pol=policy(prod=prod, members=family(4)), ledger=ledger)
    )
    assert four[("max", "g")].limit.allowed == 500000
    # a member who left before the date does not count
    left = (*family(6)[:-1], PolicyMember("gone", date(2024, 1, 15), date(2024, 3, 1)))
    five = amounts_of(decide(ADULT, date(2024, 6, 1), pol=policy(prod=prod, members=left), ledger=ledger))
    assert five[("max", "g")].limit.allowed == 550000


def test_insuree_before_treatment_before_policy_and_ip_op_without_general() -> None:
    prod = product(
        amounts={
            "max-ip-insuree": AmountLimit(D(100000)),
            "max-ip-policy": AmountLimit(D(900000)),
            "max-op-treatment": AmountLimit(D(20000)),
            "max-op-policy": AmountLimit(D(300000)),
            "ded-op-policy": AmountLimit(D(1000)),
        }
    )
    ledger = apply(
        apply(empty("pol1"), ClaimConsumption("c1", "adult", remunerated=Amounts(ip=D(30000), op=D(5000)))),
        ClaimConsumption("c2", "other", deducted=Amounts(op=D(400)), remunerated=Amounts(ip=D(70000))),
    )
    got = amounts_of(decide(ADULT, date(2024, 6, 1), pol=policy(prod=prod), ledger=ledger))
    assert set(got) == {("max", "ip"), ("max", "op"), ("ded", "op")}
    assert got[("max", "ip")].basis == "insuree" and got[("max", "ip")].limit.left == 70000
    assert got[("max", "op")].basis == "treatment" and got[("max", "op")].limit.left == 20000
    assert got[("ded", "op")].basis == "policy" and got[("ded", "op")].limit.left == 600


def test_general_values_hide_ip_op() -> None:
    prod = product(amounts={"max-g-insuree": AmountLimit(D(1000)), "max-ip-insuree": AmountLimit(D(5))})
    got = amounts_of(decide(ADULT, date(2024, 6, 1), pol=policy(prod=prod)))
    assert set(got) == {("max", "g")}


# -- in force ----------------------------------------------------------------------------


def test_policy_statuses_and_dates() -> None:
    day = date(2024, 6, 1)
    assert in_force(policy(1), "adult", day) == "idle"
    assert in_force(policy(4), "adult", day) == "suspended"
    assert in_force(policy(8), "adult", day) == "expired"
    assert in_force(policy(16), "adult", day) == "ready"
    assert in_force(policy(), "adult", date(2024, 1, 14)) == "not-yet-effective"
    assert in_force(policy(), "adult", date(2024, 1, 15)) == "in-force"
    assert in_force(policy(), "adult", date(2025, 1, 14)) == "in-force"
    assert in_force(policy(), "adult", date(2025, 1, 15)) == "expired"
    assert in_force(policy(), "stranger", day) == "not-a-member"


def test_member_dates() -> None:
    members = (
        PolicyMember("adult", date(2024, 1, 15), date(2024, 4, 30)),  # left on 2024-04-30
        PolicyMember("late", date(2024, 7, 1), date(2025, 1, 14)),
        PolicyMember("pending"),
    )
    pol = policy(members=members)
    assert in_force(pol, "adult", date(2024, 4, 30)) == "in-force"
    assert in_force(pol, "adult", date(2024, 5, 1)) == "member-left"
    assert in_force(pol, "late", date(2024, 6, 30)) == "member-not-yet-effective"
    assert in_force(pol, "pending", date(2024, 6, 30)) == "member-not-covered"
    gone = decide(ADULT, date(2024, 5, 1), A1, pol=pol)
    assert not gone.inforce and gone.reason == "member-left"
    assert gone.policies[0].items[0].excluded and not gone.summary[0].ok


def test_no_policy() -> None:
    d = eligibility(ADULT, [], date(2024, 6, 1), (A1,))
    assert d.reason == "no-policy" and not d.inforce
    assert not d.summary[0].ok and d.summary[0].left == 0


def test_summary_over_two_policies_reports_the_earliest_past_date_and_max_left() -> None:
    p1 = policy()
    p2 = Policy(
        "pol2",
        2,
        date(2024, 1, 1),
        date(2024, 12, 31),
        product(),
        (PolicyMember("adult", date(2024, 5, 1), date(2024, 12, 31)),),
    )
    ledger1 = consumed(3)  # pol1: 1 left
    ledger2 = empty("pol2")  # pol2: 4 left but waiting until 2024-08-01
    d = eligibility(ADULT, [(p1, ledger1), (p2, ledger2)], date(2024, 6, 1), (A1,))
    s = d.summary[0]
    assert s.ok and s.min_date == date(2024, 4, 15) and s.left == 1
    later = eligibility(ADULT, [(p1, ledger1), (p2, ledger2)], date(2024, 8, 1), (A1,))
    assert later.summary[0].left == 4  # both past the waiting period: the larger left
