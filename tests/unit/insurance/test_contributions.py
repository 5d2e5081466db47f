"""Contributions and activation (fhir_server/insurance/contributions.py) against DOMAIN.md §5.4."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fhir_server.insurance.contributions import (
    REASON_ALREADY_PAID,
    REASON_MEMBER_ALIGNED,
    REASON_MEMBER_AWAITING_CONTRIBUTION,
    REASON_MEMBER_COVERED_BY_PAYMENT,
    REASON_MEMBER_COVERED_ON_JOINING,
    REASON_MEMBER_POLICY_NOT_EFFECTIVE,
    REASON_PAID_ENFORCED,
    REASON_PAID_EXACT,
    REASON_PAID_OVER,
    REASON_PARTIAL,
    REASON_PHOTO_FEE,
    REASON_POLICY_EXPIRED,
    REASON_SUSPENDED,
    REASON_WAIT,
    WARNING_OVER_PAYMENT,
    WARNING_POLICY_EXPIRED,
    ActivationOption,
    Payment,
    PolicyState,
    PolicyStatus,
    PremiumAction,
    contributed,
    member_effective_date,
    record_contribution,
)

D = Decimal
START = date(2026, 7, 1)
# the family of five of test_policy_value: value 20,500, starting 1 July
IDLE = PolicyState(value=D("20500.00"), start_date=START)
FIRST = Payment(D("10000.00"), date(2026, 6, 10))


def test_status_codes_are_openimis_codes() -> None:
    assert [s.value for s in PolicyStatus] == [1, 2, 4, 8, 16]
    assert [o.value for o in ActivationOption] == [1, 2, 3]


def test_two_instalments_idle_then_active_from_the_start_date() -> None:
    # 10,000 of 20,500: partial, the policy stays Idle with 10,500 outstanding
    first = record_contribution(IDLE, [], FIRST)
    assert (first.status, first.effective_date, first.reason) == (PolicyStatus.IDLE, None, REASON_PARTIAL)
    assert (first.paid_before, first.paid_total, first.outstanding, first.overpaid) == (
        D(0),
        D(10000),
        D(10500),
        D(0),
    )
    assert not first.changed and first.warnings == ()
    # 10,500 on 20 June = the balance exactly: Active, effective = later of pay date and start = 1 July
    second = record_contribution(IDLE, [FIRST], Payment(D("10500.00"), date(2026, 6, 20)))
    assert (second.status, second.effective_date, second.reason) == (
        PolicyStatus.ACTIVE,
        START,
        REASON_PAID_EXACT,
    )
    assert second.outstanding == 0 and second.overpaid == 0 and second.changed


def test_exact_payment_after_the_start_date_is_effective_from_the_pay_date() -> None:
    decision = record_contribution(IDLE, [FIRST], Payment(D("10500"), date(2026, 7, 15)))
    assert decision.effective_date == date(2026, 7, 15)


def test_over_payment_activates_from_the_pay_date_with_a_warning() -> None:
    # 10,000 + 11,000 = 21,000 > 20,500: paid, effective on the pay date (not the start), 500 over
    decision = record_contribution(IDLE, [FIRST], Payment(D("11000"), date(2026, 6, 20)))
    assert (decision.status, decision.effective_date, decision.reason) == (
        PolicyStatus.ACTIVE,
        date(2026, 6, 20),
        REASON_PAID_OVER,
    )
    assert decision.overpaid == D(500) and decision.warnings == (WARNING_OVER_PAYMENT,)


def test_enforce_activates_a_partial_payment_from_its_pay_date() -> None:
    decision = record_contribution(IDLE, [], FIRST, action=PremiumAction.ENFORCE)
    assert (decision.status, decision.effective_date, decision.reason) == (
        PolicyStatus.ACTIVE,
        FIRST.pay_date,
        REASON_PAID_ENFORCED,
    )
    assert decision.outstanding == D(10500)


def test_topping_up_an_enforced_policy_keeps_its_effective_date() -> None:
    enforced = PolicyState(IDLE.value, START, PolicyStatus.ACTIVE, effective_date=FIRST.pay_date)
    decision = record_contribution(enforced, [FIRST], Payment(D("10500"), date(2026, 8, 1)))
    assert (decision.status, decision.effective_date) == (PolicyStatus.ACTIVE, FIRST.pay_date)


@pytest.mark.parametrize("option", [ActivationOption.PAYMENT, ActivationOption.READY])
def test_options_payment_and_ready_make_the_policy_ready_without_effective_date(
    option: ActivationOption,
) -> None:
    decision = record_contribution(IDLE, [FIRST], Payment(D("10500"), date(2026, 6, 20)), option=option)
    assert (decision.status, decision.effective_date) == (PolicyStatus.READY, None)
    partial = record_contribution(IDLE, [], FIRST, option=option)
    assert partial.status is PolicyStatus.IDLE


def test_suspend_and_wait_actions() -> None:
    suspended = record_contribution(IDLE, [], FIRST, action=PremiumAction.SUSPEND)
    assert (suspended.status, suspended.reason) == (PolicyStatus.SUSPENDED, REASON_SUSPENDED)
    waiting = record_contribution(
        IDLE, [FIRST], Payment(D("10500"), date(2026, 6, 20)), action=PremiumAction.WAIT
    )
    assert (waiting.status, waiting.effective_date, waiting.reason) == (PolicyStatus.IDLE, None, REASON_WAIT)


def test_photo_fees_do_not_count() -> None:
    photo = Payment(D("500"), date(2026, 6, 5), is_photo_fee=True)
    assert contributed([photo, FIRST]) == D(10000)
    fee = record_contribution(IDLE, [FIRST], Payment(D("10500"), date(2026, 6, 20), is_photo_fee=True))
    assert (fee.status, fee.reason, fee.outstanding) == (PolicyStatus.IDLE, REASON_PHOTO_FEE, D(10500))
    # with a photo fee among the previous premiums the balance is still 10,500: exact payment
    exact = record_contribution(IDLE, [photo, FIRST], Payment(D("10500"), date(2026, 6, 20)))
    assert exact.reason == REASON_PAID_EXACT


def test_a_further_payment_on_a_paid_policy_changes_nothing() -> None:
    active = PolicyState(IDLE.value, START, PolicyStatus.ACTIVE, effective_date=START)
    paid = [FIRST, Payment(D("10500"), date(2026, 6, 20))]
    decision = record_contribution(active, paid, Payment(D("100"), date(2026, 9, 1)))
    assert (decision.status, decision.effective_date, decision.reason) == (
        PolicyStatus.ACTIVE,
        START,
        REASON_ALREADY_PAID,
    )
    assert (
        decision.warnings == (WARNING_OVER_PAYMENT,) and decision.overpaid == D(100) and not decision.changed
    )


def test_an_expired_policy_is_not_reactivated() -> None:
    expired = PolicyState(IDLE.value, START, PolicyStatus.EXPIRED, effective_date=START)
    decision = record_contribution(expired, [], Payment(D("20500"), date(2027, 8, 1)))
    assert (decision.status, decision.reason, decision.warnings) == (
        PolicyStatus.EXPIRED,
        REASON_POLICY_EXPIRED,
        (WARNING_POLICY_EXPIRED,),
    )


def test_a_suspended_policy_paid_in_full_is_active_again() -> None:
    suspended = PolicyState(IDLE.value, START, PolicyStatus.SUSPENDED)
    decision = record_contribution(suspended, [], Payment(D("20500"), date(2026, 6, 1)))
    assert (decision.status, decision.effective_date) == (PolicyStatus.ACTIVE, START)


@pytest.mark.parametrize("amount", [D(0), D(-5), D("NaN")])
def test_a_premium_must_be_positive(amount: Decimal) -> None:
    with pytest.raises(ValueError):
        Payment(amount, date(2026, 6, 1))


def test_member_effective_dates() -> None:
    paid = [FIRST, Payment(D("10500"), date(2026, 6, 20))]
    # policy not yet effective: nothing now; founding members follow the policy
    assert member_effective_date(None, D(20500), paid).reason == REASON_MEMBER_POLICY_NOT_EFFECTIVE
    assert member_effective_date(START, D(20500), paid) == member_effective_date(START, D(20500), [])
    assert member_effective_date(START, D(20500), paid).effective_date == START
    assert member_effective_date(START, D(20500), paid).reason == REASON_MEMBER_ALIGNED
    # a third child joins on 1 Aug; the value becomes 23,000 (extra child 2,000 + 500 assembly):
    # awaiting until 2,500 more is paid, then covered from that payment's date
    joined = date(2026, 8, 1)
    waiting = member_effective_date(START, D(23000), paid, joined_on=joined)
    assert (waiting.effective_date, waiting.reason, waiting.shortfall) == (
        None,
        REASON_MEMBER_AWAITING_CONTRIBUTION,
        D(2500),
    )
    topped = member_effective_date(
        START, D(23000), [*paid, Payment(D("2500"), date(2026, 8, 10))], joined_on=joined
    )
    assert (topped.effective_date, topped.reason) == (date(2026, 8, 10), REASON_MEMBER_COVERED_BY_PAYMENT)
    # two top-ups: the one that completes the value counts, in pay-date order whatever the input order
    late = [Payment(D("1500"), date(2026, 8, 20)), *paid, Payment(D("1000"), date(2026, 8, 10))]
    assert member_effective_date(START, D(23000), late, joined_on=joined).effective_date == date(2026, 8, 20)
    # value unchanged (a child within the threshold, no fees) or over-paid before: covered on joining
    same = member_effective_date(START, D(20500), paid, joined_on=joined)
    assert (same.effective_date, same.reason) == (joined, REASON_MEMBER_COVERED_ON_JOINING)
    overpaid = [Payment(D("24000"), date(2026, 6, 20))]
    assert member_effective_date(START, D(23000), overpaid, joined_on=joined).effective_date == joined
    # joining before the policy's start is covered from the start, not before
    assert member_effective_date(START, D(20500), paid, joined_on=date(2026, 6, 25)).effective_date == START


@given(
    st.decimals(min_value=1, max_value=50_000, places=2),
    st.lists(st.decimals(min_value="0.01", max_value=30_000, places=2), max_size=4),
    st.decimals(min_value="0.01", max_value=30_000, places=2),
    st.sampled_from(list(ActivationOption)),
)
def test_money_position_and_activation(
    value: Decimal, before: list[Decimal], amount: Decimal, option: ActivationOption
) -> None:
    previous = [Payment(a, date(2026, 6, 1)) for a in before]
    decision = record_contribution(
        PolicyState(value, START), previous, Payment(amount, date(2026, 6, 15)), option
    )
    assert decision.paid_total == sum(before, D(0)) + amount
    assert decision.outstanding - decision.overpaid == value - decision.paid_total
    assert min(decision.outstanding, decision.overpaid) == 0
    # from Idle, without ENFORCE, a policy is paid exactly when the contributions cover its value
    assert (decision.status is not PolicyStatus.IDLE) == (decision.paid_total >= value)
    assert (decision.effective_date is not None) == (decision.status is PolicyStatus.ACTIVE)
