"""Eligibility (DOMAIN.md §4.1) as a pure function over policies, products and ledgers.

Given an insuree, the policies that concern them (their family's), each with its product
and its consumption ledger (``ledger.py``, the one claim valuation updates, §9 note 5),
the service date and the requested items/services/categories, :func:`eligibility`
answers per policy: in force or not and why, the benefit period, per requested item
allowed / used / left, the earliest date it is available and whether it is excluded
(with the reason), per service category the counts and amounts allowed / used / left,
and the deductibles and ceilings left. Rules (openIMIS ``uspServiceItemEnquiry``,
``ByInsureeService``, ``uspPolicyInquiry``):

- **in force**: the policy is Active (2) and the service date lies in its period and in
  the member's effective..expiry dates (scheme.md). Otherwise the reason: ``idle`` (1),
  ``ready`` (16), ``suspended`` (4), ``expired`` (8, or the date after the period),
  ``not-yet-effective`` (before the period start), ``not-a-member`` (the insuree is not
  on the policy), ``member-not-covered`` (on it without an effective date, e.g. beyond
  the product's maximum members), ``member-not-yet-effective``, ``member-left`` (the
  member's coverage ended before the date).
- **age**: adult or child by the age at the service date (``policy_value.age_category``;
  a member whose 18th birthday is the date is still a child); no birth date: adult.
- **item/service** (per policy whose product covers it): earliest date = the member's
  effective date + the waiting period (months, adult/child); before it the item is
  ``excluded`` for ``waiting-period``. Left = quantity limit (adult/child) − the
  insuree's consumed quantity under this policy, never below 0; no limit = unlimited;
  0 left: ``limit-reached``. Not in the product: ``not-covered``. A service whose
  category is known (C, S, D, H, A, V) is also ``category-limit-reached`` when the
  category's count left or amount left is 0 (openIMIS tests C/S/D only; we test every
  category the product limits).
- **summary** over the policies in force (§4.1): the date reported is the earliest date
  on or before the service date if any, else the earliest; left = the largest left of
  the policies already past their waiting period (None = unlimited).
- **categories**: max count − the insuree's claims of the category under the policy,
  negative → 0, no max = unlimited (no ``allowed``); the amounts likewise, reduced by
  what was remunerated (openIMIS returns the maximum unreduced: §9 note 3, fixed).
- **deductibles and ceilings**: the general (``g``) values when the product has any,
  else in-patient and out-patient. Per kind, the first set of: per insuree (used = the
  insuree's consumption), per treatment (used = 0: every treatment starts afresh), per
  policy (used = the sum over the policy's members), the order of ``uspPolicyInquiry``.
  A policy ceiling grows by ``extraMember`` for each member current on the date beyond
  the product's threshold, capped at its ``maximum`` (§3.3).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from .ledger import CARE, NOTHING, InsureeConsumption, Ledger
from .policy_dates import add_months
from .policy_value import AGE_OF_MAJORITY, AgeCategory, age_category
from .product import CATEGORIES, CATEGORY_OF_SERVICE, AmountLimit, Product

ZERO = Decimal(0)

ACTIVE, IDLE, SUSPENDED, EXPIRED, READY = 2, 1, 4, 8, 16
_STATUS_REASON = {IDLE: "idle", SUSPENDED: "suspended", EXPIRED: "expired", READY: "ready"}
#: in-force reasons → a sentence for the response's disposition
REASONS = {
    "in-force": "The policy is in force",
    "no-policy": "The insuree has no policy",
    "unknown-insuree": "No insuree is known by this reference or insurance number",
    "idle": "The policy is idle (not paid yet)",
    "ready": "The policy is ready but not active",
    "suspended": "The policy is suspended",
    "expired": "The policy has expired",
    "not-yet-effective": "The policy is not effective yet on the service date",
    "not-a-member": "The insuree is not a member of the policy",
    "member-not-covered": "The insuree is on the policy but not covered (no effective date)",
    "member-not-yet-effective": "The insuree's coverage starts after the service date",
    "member-left": "The insuree's coverage ended before the service date",
    "not-covered": "The product does not cover it",
    "waiting-period": "The waiting period has not ended on the service date",
    "limit-reached": "The quantity limit of the policy period is reached",
    "category-limit-reached": "The category's limit of the policy period is reached",
}


@dataclass(frozen=True)
class PolicyMember:
    insuree_id: str
    effective: date | None = None
    expiry: date | None = None


@dataclass(frozen=True)
class Policy:
    """A policy as eligibility sees it (the Coverage claiming our ``policy`` profile)."""

    id: str
    status: int
    start: date | None
    expiry: date | None
    product: Product
    members: tuple[PolicyMember, ...] = ()

    def member(self, insuree_id: str) -> PolicyMember | None:
        for m in self.members:
            if m.insuree_id == insuree_id:
                return m
        return None

    def members_on(self, day: date) -> int:
        """Members current on ``day`` (the extra-member rule counts them)."""
        return sum(
            1
            for m in self.members
            if m.effective is not None and m.effective <= day and (m.expiry is None or day <= m.expiry)
        )


@dataclass(frozen=True)
class Insuree:
    id: str
    birth_date: date | None = None


@dataclass(frozen=True)
class Requested:
    """A requested ``item`` or ``service`` by code, or a service ``category`` (a
    ``CATEGORIES`` name). ``category``: the service's category when known."""

    kind: str
    code: str
    category: str | None = None


@dataclass(frozen=True)
class Limit:
    """allowed / used / left; ``allowed`` None is unlimited (then ``left`` is None too)."""

    allowed: Decimal | None
    used: Decimal
    left: Decimal | None

    @classmethod
    def of(cls, allowed: Decimal | None, used: Decimal) -> Limit:
        if allowed is None:
            return cls(None, used, None)
        return cls(allowed, used, max(ZERO, allowed - used))

    @property
    def exhausted(self) -> bool:
        return self.left is not None and self.left <= 0


@dataclass(frozen=True)
class ItemDecision:
    requested: Requested
    covered: bool
    excluded: bool
    reason: str | None  # why excluded
    quantity: Limit | None = None  # items/services only
    min_date: date | None = None


@dataclass(frozen=True)
class CategoryDecision:
    category: str
    count: Limit
    amount: Limit


@dataclass(frozen=True)
class AmountDecision:
    """A deductible (``kind`` ded) or ceiling (max) for ``care`` g / ip / op, at ``basis``
    insuree / treatment / policy."""

    kind: str
    care: str
    basis: str
    limit: Limit


@dataclass(frozen=True)
class PolicyDecision:
    policy: Policy
    inforce: bool
    reason: str
    adult: bool
    items: tuple[ItemDecision, ...]
    categories: tuple[CategoryDecision, ...]
    amounts: tuple[AmountDecision, ...]


@dataclass(frozen=True)
class Summary:
    """One requested item over the policies in force (§4.1): ``ok``, the date to report
    and the quantity left (None: unlimited)."""

    requested: Requested
    ok: bool
    reason: str | None
    min_date: date | None
    left: Decimal | None


@dataclass(frozen=True)
class Eligibility:
    insuree: Insuree
    day: date
    policies: tuple[PolicyDecision, ...]
    summary: tuple[Summary, ...]

    @property
    def inforce(self) -> bool:
        return any(p.inforce for p in self.policies)

    @property
    def reason(self) -> str:
        if not self.policies:
            return "no-policy"
        if self.inforce:
            return "in-force"
        return self.policies[0].reason


def in_force(policy: Policy, insuree_id: str, day: date) -> str:
    """``in-force``, or why the policy does not cover ``insuree_id`` on ``day``."""
    if policy.status != ACTIVE:
        return _STATUS_REASON.get(policy.status, "idle")
    if policy.start is not None and day < policy.start:
        return "not-yet-effective"
    if policy.expiry is not None and day > policy.expiry:
        return "expired"
    member = policy.member(insuree_id)
    if member is None:
        return "not-a-member"
    if member.effective is None:
        return "member-not-covered"
    if day < member.effective:
        return "member-not-yet-effective"
    if member.expiry is not None and day > member.expiry:
        return "member-left" if policy.expiry is None or member.expiry < policy.expiry else "expired"
    return "in-force"


def _item(
    policy: Policy,
    member: PolicyMember | None,
    used: InsureeConsumption,
    adult: bool,
    req: Requested,
    inforce: bool,
    categories: dict[str, CategoryDecision],
    day: date,
) -> ItemDecision:
    if req.kind == "category":
        cat = categories.get(req.code)
        limited = cat is not None and (cat.count.exhausted or cat.amount.exhausted)
        return ItemDecision(
            req, True, not inforce or limited, "category-limit-reached" if inforce and limited else None
        )
    covered = policy.product.covers(req.kind, req.code)
    if covered is None:
        return ItemDecision(req, False, True, "not-covered")
    base = member.effective if member is not None else None
    min_date = add_months(base, covered.waiting_period(adult)) if base is not None else None
    quantity = Limit.of(covered.quantity_limit(adult), used.quantity(req.kind, req.code))
    reason: str | None = None
    if min_date is not None and day < min_date:  # available from min_date on
        reason = "waiting-period"
    elif quantity.exhausted:
        reason = "limit-reached"
    elif req.category is not None:
        cat = categories.get(req.category)
        if cat is not None and (cat.count.exhausted or cat.amount.exhausted):
            reason = "category-limit-reached"
    excluded = reason is not None or not inforce
    return ItemDecision(req, True, excluded, reason, quantity, min_date)


def _categories(product: Product, used: InsureeConsumption) -> dict[str, CategoryDecision]:
    out: dict[str, CategoryDecision] = {}
    for category in CATEGORIES:
        max_count = product.max_counts.get(category)
        max_amount = product.max_amounts.get(category)
        if max_count is None and max_amount is None:
            continue
        out[category] = CategoryDecision(
            category,
            Limit.of(None if max_count is None else Decimal(max_count), Decimal(used.count(category))),
            Limit.of(max_amount, used.amount(category)),
        )
    return out


def _ceiling_allowed(limit: AmountLimit, basis: str, members: int, threshold: int) -> Decimal:
    allowed = limit.amount
    if basis == "policy" and limit.extra_member and threshold and members > threshold:
        allowed += (members - threshold) * limit.extra_member
        if limit.maximum is not None and limit.maximum > 0:
            allowed = min(allowed, limit.maximum)
    return allowed


def _amounts(policy: Policy, ledger: Ledger, insuree_id: str, day: date) -> tuple[AmountDecision, ...]:
    product = policy.product
    out: list[AmountDecision] = []
    members = policy.members_on(day)
    threshold = product.pricing.threshold or 0
    mine = ledger.insuree(insuree_id)
    total: InsureeConsumption | None = None
    for kind in ("ded", "max"):
        general = any(product.amount(f"{kind}-g-{b}") for b in ("insuree", "treatment", "policy"))
        for care in CARE:
            if (care == "g") != general:
                continue
            for basis in ("insuree", "treatment", "policy"):
                limit = product.amount(f"{kind}-{care}-{basis}")
                if limit is None:
                    continue
                if basis == "insuree":
                    consumed = mine
                elif basis == "policy":
                    total = total if total is not None else ledger.policy_total()
                    consumed = total
                else:
                    consumed = NOTHING
                used = (consumed.deducted if kind == "ded" else consumed.remunerated).get(care)
                allowed = limit.amount
                if kind == "max":
                    allowed = _ceiling_allowed(limit, basis, members, threshold)
                out.append(AmountDecision(kind, care, basis, Limit.of(allowed, used)))
                break
    return tuple(out)


def decide_policy(
    insuree: Insuree,
    policy: Policy,
    ledger: Ledger,
    day: date,
    requested: tuple[Requested, ...],
    age_of_majority: int = AGE_OF_MAJORITY,
) -> PolicyDecision:
    reason = in_force(policy, insuree.id, day)
    inforce = reason == "in-force"
    adult = (
        insuree.birth_date is None
        or age_category(insuree.birth_date, day, age_of_majority) is AgeCategory.ADULT
    )
    used = ledger.insuree(insuree.id)
    categories = _categories(policy.product, used)
    member = policy.member(insuree.id)
    items = tuple(_item(policy, member, used, adult, r, inforce, categories, day) for r in requested)
    return PolicyDecision(
        policy,
        inforce,
        reason,
        adult,
        items,
        tuple(categories.values()),
        _amounts(policy, ledger, insuree.id, day),
    )


def _summary(req: Requested, index: int, decisions: tuple[PolicyDecision, ...], day: date) -> Summary:
    """§4.1 over the policies in force whose product covers the item."""
    rows = [d.items[index] for d in decisions if d.inforce and d.items[index].covered]
    if not rows:
        reasons = [d.items[index].reason for d in decisions if d.inforce]
        return Summary(req, False, (reasons[0] if reasons else None) or "not-covered", None, ZERO)
    dates = [r.min_date for r in rows if r.min_date is not None]
    past = sorted(d for d in dates if d <= day)
    min_date = past[0] if past else (min(dates) if dates else None)
    available = [r for r in rows if r.min_date is None or r.min_date <= day]
    left: Decimal | None = ZERO
    if available:
        lefts = [r.quantity.left if r.quantity is not None else None for r in available]
        left = None if any(x is None for x in lefts) else max(x for x in lefts if x is not None)
    ok_rows = [r for r in rows if not r.excluded]
    reason = None if ok_rows else rows[0].reason
    return Summary(req, bool(ok_rows), reason, min_date, left)


def eligibility(
    insuree: Insuree,
    policies: list[tuple[Policy, Ledger]],
    day: date,
    requested: tuple[Requested, ...] = (),
    age_of_majority: int = AGE_OF_MAJORITY,
) -> Eligibility:
    """Decide for ``insuree`` on ``day``: one :class:`PolicyDecision` per policy (in force
    first, then by expiry, latest first) and one :class:`Summary` per requested item."""
    decisions = tuple(
        decide_policy(insuree, p, ledger, day, requested, age_of_majority) for p, ledger in policies
    )
    decisions = tuple(
        sorted(
            decisions,
            key=lambda d: (not d.inforce, -(d.policy.expiry or date.min).toordinal()),
        )
    )
    summary = tuple(_summary(r, i, decisions, day) for i, r in enumerate(requested))
    return Eligibility(insuree, day, decisions, summary)


def category_of_service_code(code: str) -> str | None:
    """The category name of a ``service-category`` code (C → consultation ...)."""
    return CATEGORY_OF_SERVICE.get(code)
