"""Contributions (premiums) and policy activation, DOMAIN.md §5.4, as pure functions.

openIMIS decides in ``contribution/services.py`` ``premium_updated`` and
``policy_status_premium_paid`` ([CONTRIB], [POLICY]); DOMAIN.md §5.4 summarises:

- balance = policy value − Σ the other non-photo-fee premiums;
- amount = balance → paid, effective date = the later of pay date and start date;
- amount < balance → unchanged (a partial payment leaves the policy Idle) unless the
  action is ``ENFORCE`` (then paid, effective = pay date);
- amount > balance → paid, effective = pay date, with a warning (over-payment);
- action ``SUSPEND`` → Suspended; ``WAIT`` → nothing;
- "paid" depends on the ``activation_option`` (default 1): 1 contribution → Active (2)
  with the effective date; 2 payment and 3 ready → Ready (16).
- members: when the policy activates, the members' insuree-policy dates are aligned on
  the policy's; a member added to an already effective policy is covered from the pay
  date of the payment that covers them; while collected premiums are below the
  recomputed value their effective date stays empty (legacy ``uspAddInsureePolicy``).

Our rules where the port leaves a gap (DOMAIN.md §9: keep the semantics, fix defects):

- a payment on a policy that is already paid (Active or Ready, balance ≤ 0 before it)
  keeps its status and effective date and warns of the over-payment; the port would
  "pay" it again and move the effective date to the new pay date;
- a payment completing an Active policy (one activated by ``ENFORCE``) keeps its
  effective date;
- Expired policies are never re-activated by a payment (warning ``policy-expired``);
- a photo-fee premium never counts towards the value and changes nothing.

Every decision carries a stable ``reason`` code (the ``REASON_*`` constants) and
warnings; the service persists the result and maps codes to OperationOutcome issues.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import IntEnum, StrEnum

ZERO = Decimal(0)

REASON_PAID_EXACT = "paid-exact"
REASON_PAID_OVER = "paid-over"
REASON_PAID_ENFORCED = "paid-enforced"
REASON_PARTIAL = "partial-payment"
REASON_ALREADY_PAID = "already-paid"
REASON_SUSPENDED = "suspended"
REASON_WAIT = "wait"
REASON_PHOTO_FEE = "photo-fee"
REASON_POLICY_EXPIRED = "policy-expired"

WARNING_OVER_PAYMENT = "over-payment"
WARNING_POLICY_EXPIRED = "policy-expired"

REASON_MEMBER_ALIGNED = "aligned-with-policy"
REASON_MEMBER_POLICY_NOT_EFFECTIVE = "policy-not-effective"
REASON_MEMBER_COVERED_ON_JOINING = "covered-on-joining"
REASON_MEMBER_COVERED_BY_PAYMENT = "covered-by-payment"
REASON_MEMBER_AWAITING_CONTRIBUTION = "awaiting-contribution"


class PolicyStatus(IntEnum):
    """openIMIS policy status codes (DOMAIN.md §5.1, §9 note 2)."""

    IDLE = 1
    ACTIVE = 2
    SUSPENDED = 4
    EXPIRED = 8
    READY = 16


class ActivationOption(IntEnum):
    """``ContributionConfig.activation_option`` (DOMAIN.md §5.4)."""

    CONTRIBUTION = 1
    PAYMENT = 2
    READY = 3


class PremiumAction(StrEnum):
    """``PremiumUpdateActionEnum`` (DOMAIN.md §5.4)."""

    SUSPEND = "SUSPEND"
    ENFORCE = "ENFORCE"
    WAIT = "WAIT"


@dataclass(frozen=True)
class Payment:
    """One premium as the rules see it."""

    amount: Decimal
    pay_date: date
    is_photo_fee: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.amount, Decimal) or not self.amount.is_finite() or self.amount <= 0:
            raise ValueError(f"a premium amount must be a positive Decimal, got {self.amount!r}")


@dataclass(frozen=True)
class PolicyState:
    """The policy facts the activation needs: value (§5.3), start date (§5.2), status, effective date."""

    value: Decimal
    start_date: date
    status: PolicyStatus = PolicyStatus.IDLE
    effective_date: date | None = None


@dataclass(frozen=True)
class ContributionDecision:
    """The policy's state after a premium, why, and the money position."""

    status: PolicyStatus
    effective_date: date | None
    reason: str
    paid_before: Decimal
    paid_total: Decimal
    outstanding: Decimal
    overpaid: Decimal
    warnings: tuple[str, ...] = ()

    @property
    def changed(self) -> bool:
        return self.reason not in (
            REASON_PARTIAL,
            REASON_ALREADY_PAID,
            REASON_WAIT,
            REASON_PHOTO_FEE,
            REASON_POLICY_EXPIRED,
        )


def contributed(payments: Iterable[Payment]) -> Decimal:
    """Σ the premiums that count towards the value (photo fees excluded, §5.4)."""
    return sum((p.amount for p in payments if not p.is_photo_fee), ZERO)


def _paid_status(option: ActivationOption) -> PolicyStatus:
    """``policy_status_premium_paid``: Active with option 1, Ready with options 2 and 3 (§5.4)."""
    return PolicyStatus.ACTIVE if option is ActivationOption.CONTRIBUTION else PolicyStatus.READY


def record_contribution(
    policy: PolicyState,
    previous: Sequence[Payment],
    payment: Payment,
    option: ActivationOption = ActivationOption.CONTRIBUTION,
    action: PremiumAction | None = None,
) -> ContributionDecision:
    """Decide the policy's status after ``payment``, given the ``previous`` premiums (DOMAIN.md §5.4).

    The effective date is only set for an Active policy (option 1); a Ready policy waits
    for its activation (options 2 and 3) without one.
    """
    before = contributed(previous)
    after = before + (ZERO if payment.is_photo_fee else payment.amount)
    balance = policy.value - before
    outstanding = max(ZERO, policy.value - after)
    overpaid = max(ZERO, after - policy.value)

    def decide(
        status: PolicyStatus, effective: date | None, reason: str, warnings: tuple[str, ...] = ()
    ) -> ContributionDecision:
        return ContributionDecision(status, effective, reason, before, after, outstanding, overpaid, warnings)

    def paid(effective: date, reason: str, warnings: tuple[str, ...] = ()) -> ContributionDecision:
        status = _paid_status(option)
        if policy.status is PolicyStatus.ACTIVE and policy.effective_date is not None:
            effective = policy.effective_date  # topping up an enforced policy never moves its start of cover
        return decide(status, effective if status is PolicyStatus.ACTIVE else None, reason, warnings)

    unchanged = (policy.status, policy.effective_date)
    if action is PremiumAction.SUSPEND:
        return decide(PolicyStatus.SUSPENDED, policy.effective_date, REASON_SUSPENDED)
    if action is PremiumAction.WAIT:
        return decide(*unchanged, REASON_WAIT)
    if payment.is_photo_fee:
        return decide(*unchanged, REASON_PHOTO_FEE)
    if policy.status is PolicyStatus.EXPIRED:
        return decide(*unchanged, REASON_POLICY_EXPIRED, (WARNING_POLICY_EXPIRED,))
    over = (WARNING_OVER_PAYMENT,) if overpaid > 0 else ()
    if balance <= 0 and policy.status in (PolicyStatus.ACTIVE, PolicyStatus.READY):
        return decide(*unchanged, REASON_ALREADY_PAID, over)
    if payment.amount == balance:
        return paid(max(payment.pay_date, policy.start_date), REASON_PAID_EXACT)
    if payment.amount > balance:
        return paid(payment.pay_date, REASON_PAID_OVER, over)
    if action is PremiumAction.ENFORCE:
        return paid(payment.pay_date, REASON_PAID_ENFORCED)
    return decide(*unchanged, REASON_PARTIAL)


@dataclass(frozen=True)
class MemberCoverage:
    """When a member's coverage under the policy takes effect (None: not yet), and why."""

    effective_date: date | None
    reason: str
    shortfall: Decimal = ZERO


def member_effective_date(
    policy_effective_date: date | None,
    value_with_member: Decimal,
    payments: Sequence[Payment],
    joined_on: date | None = None,
) -> MemberCoverage:
    """The insuree-policy effective date of one member (DOMAIN.md §5.4).

    - Policy not effective yet: None; the member is aligned when it activates.
    - A founding member (``joined_on`` None): the policy's effective date.
    - A member who joined an effective policy on ``joined_on``: covered from the pay
      date of the payment that brings the premiums up to ``value_with_member`` (the
      value recomputed with them); if earlier payments already covered that value (it
      did not change, or was over-paid), from the day they joined, never before; if
      nothing covers it yet, None with the shortfall.
    """
    if policy_effective_date is None:
        return MemberCoverage(None, REASON_MEMBER_POLICY_NOT_EFFECTIVE)
    if joined_on is None:
        return MemberCoverage(policy_effective_date, REASON_MEMBER_ALIGNED)
    running = ZERO
    for payment in sorted((p for p in payments if not p.is_photo_fee), key=lambda p: p.pay_date):
        running += payment.amount
        if running >= value_with_member:
            if payment.pay_date <= joined_on:
                return MemberCoverage(max(joined_on, policy_effective_date), REASON_MEMBER_COVERED_ON_JOINING)
            return MemberCoverage(payment.pay_date, REASON_MEMBER_COVERED_BY_PAYMENT)
    return MemberCoverage(None, REASON_MEMBER_AWAITING_CONTRIBUTION, value_with_member - running)
