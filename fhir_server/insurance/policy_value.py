"""A policy's value (the contribution a family owes for a product), DOMAIN.md §5.3.

openIMIS computes it in ``policy/values.py`` (``family_counts``, ``sum_contributions``,
``sum_general_assemblies``, ``sum_registrations``, ``discount_new``, ``discount_renew``;
legacy ``uspPolicyValue``). This module is the same rule as one pure function,
:func:`policy_value`, over a typed :class:`ProductPricing` (the product fields of
DOMAIN.md §3.6b it needs) and the family's :class:`Member` s, answering the value and a
breakdown in which every component carries its reason.

DOMAIN.md §5.3, in short:

- counting: adult = born more than ``age_of_majority`` (18) years before the reference
  date; relationship 7 ("Others") makes an "other" member; members beyond
  ``max_members`` are left out, keeping adults first, then children, then other
  children, then other adults (the order of ``family_counts``), with a warning;
- ``threshold`` = number of related members covered by the lump sum, adults first:
  extra_adults = adults beyond the threshold, extra_children = children beyond what the
  adults leave of it;
- contributions: ``lump_sum`` > 0 → lump sum + extra_adults × premium_adult +
  extra_children × premium_child; else adults × premium_adult + children × premium_child;
  plus always other_adults × premium_adult + other_children × premium_child;
- general assembly: ``general_assembly_lump_sum`` if set, else members × ``general_assembly_fee``;
- registration (new policies only): ``registration_lump_sum`` if set, else members ×
  ``registration_fee``;
- enrolment discount (stage N, product with cycles, discount configured): enrolled on or
  before start date − ``enrolment_discount_period`` months → value −= value × perc / 100;
- renewal discount (stage R): enrolled on or before previous expiry + 1 day −
  ``renewal_discount_period`` months → value −= value × perc / 100.

Where we deliberately differ from the Python port (DOMAIN.md §9: keep the semantics, fix
the defects):

- the age category is decided at an explicit reference date given by the caller (the
  enrolment date), never "today" (the port uses ``date.today()``, so a value recomputed
  later changes; §9 note 3 lists the same defect for ``is_adult``);
- without a lump sum every related adult and child pays its premium, as §5.3 states; the
  port's else-branch multiplies the counts already reduced by the threshold, which would
  make members beyond the threshold free;
- ``max_members`` = 0 means "no maximum" (the port raises ``UnboundLocalError`` there);
- a renewal discount needs the previous policy's expiry date: missing, it is an input
  error (``ValueError``), not a crash deep inside the date arithmetic.

Money is ``Decimal`` throughout, never float. Quantisation: the components are summed
exactly, the discount is applied exactly (``value − value × perc / 100``) and only the
final value is quantised, once, to 0.01 with ``ROUND_HALF_EVEN``. That is what openIMIS
stores: ``Policy.value`` is a ``DecimalField(max_digits=18, decimal_places=2)``
(``tblPolicy.PolicyValue decimal(18,2)``) and Django quantises a ``Decimal`` to the field's
places with the default decimal context (``ROUND_HALF_EVEN``) on save. The breakdown shows
the discount as the exact reduction and, when quantising changed anything, a separate
``rounding`` component, so the components always add up to the value.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum

from .policy_dates import Stage, add_months

#: Relationship code 7 "Others" (DOMAIN.md §1.5, §5.3): not part of the lump sum.
OTHER_RELATIONSHIP = 7
#: ``CoreConfig.age_of_majority`` default (DOMAIN.md §5.3).
AGE_OF_MAJORITY = 18
#: Places of ``tblPolicy.PolicyValue decimal(18,2)``.
CENT = Decimal("0.01")
ZERO = Decimal(0)
HUNDRED = Decimal(100)


class AgeCategory(StrEnum):
    ADULT = "adult"
    CHILD = "child"


def age_category(
    birth_date: date, reference_date: date, age_of_majority: int = AGE_OF_MAJORITY
) -> AgeCategory:
    """Adult when born strictly before ``reference_date`` − ``age_of_majority`` years (DOMAIN.md §5.3).

    openIMIS counts a member as a child when ``dob >= today - relativedelta(years=18)``,
    so a member whose 18th birthday is the reference date is still a child; 29 February
    minus whole years lands on 28 February, as with ``relativedelta``.
    """
    majority_date = add_months(reference_date, -12 * age_of_majority)
    return AgeCategory.ADULT if birth_date < majority_date else AgeCategory.CHILD


@dataclass(frozen=True)
class Member:
    """One family member as the value sees them: age category at the reference date, relationship code."""

    category: AgeCategory
    relationship: int | None = None

    @property
    def is_other(self) -> bool:
        return self.relationship == OTHER_RELATIONSHIP


def _non_negative(name: str, value: Decimal | int) -> None:
    if value < 0:
        raise ValueError(f"{name} must not be negative, got {value}")


@dataclass(frozen=True)
class ProductPricing:
    """The product fields of DOMAIN.md §3.6b that price a policy; 0 means "not set" as in openIMIS.

    Money fields are ``Decimal``; ``threshold`` and ``max_members`` are member counts
    (``max_members`` 0 = no maximum, ``threshold`` 0 = the lump sum covers every related
    member, as the port's truthiness tests do); discount percentages are 0-100 and periods
    whole months.
    """

    lump_sum: Decimal = ZERO
    threshold: int = 0
    max_members: int = 0
    premium_adult: Decimal = ZERO
    premium_child: Decimal = ZERO
    registration_lump_sum: Decimal = ZERO
    registration_fee: Decimal = ZERO
    general_assembly_lump_sum: Decimal = ZERO
    general_assembly_fee: Decimal = ZERO
    enrolment_discount_perc: Decimal = ZERO
    enrolment_discount_period: int = 0
    renewal_discount_perc: Decimal = ZERO
    renewal_discount_period: int = 0
    has_cycles: bool = False

    def __post_init__(self) -> None:
        for name in (
            "lump_sum",
            "premium_adult",
            "premium_child",
            "registration_lump_sum",
            "registration_fee",
            "general_assembly_lump_sum",
            "general_assembly_fee",
            "enrolment_discount_perc",
            "renewal_discount_perc",
        ):
            amount = getattr(self, name)
            if not isinstance(amount, Decimal) or not amount.is_finite():
                raise ValueError(f"{name} must be a finite Decimal, got {amount!r}")
            _non_negative(name, amount)
        for name in ("threshold", "max_members", "enrolment_discount_period", "renewal_discount_period"):
            _non_negative(name, getattr(self, name))
        for name in ("enrolment_discount_perc", "renewal_discount_perc"):
            if getattr(self, name) > HUNDRED:
                raise ValueError(f"{name} must be at most 100, got {getattr(self, name)}")

    @property
    def has_enrolment_discount(self) -> bool:
        return self.enrolment_discount_perc > 0 and self.enrolment_discount_period > 0

    @property
    def has_renewal_discount(self) -> bool:
        return self.renewal_discount_perc > 0 and self.renewal_discount_period > 0


@dataclass(frozen=True)
class PolicyTerms:
    """What the discounts need: stage, enrolment date, start date (§5.2), previous policy's expiry."""

    stage: Stage
    enroll_date: date
    start_date: date
    previous_expiry_date: date | None = None


@dataclass(frozen=True)
class FamilyCounts:
    """The counts of ``family_counts`` after the maximum and the threshold are applied."""

    lump_sum_adults: int = 0
    lump_sum_children: int = 0
    extra_adults: int = 0
    extra_children: int = 0
    other_adults: int = 0
    other_children: int = 0
    excluded: int = 0

    @property
    def adults(self) -> int:
        return self.lump_sum_adults + self.extra_adults

    @property
    def children(self) -> int:
        return self.lump_sum_children + self.extra_children

    @property
    def total(self) -> int:
        """Members counted in the value (after ``max_members``)."""
        return self.adults + self.children + self.other_adults + self.other_children


@dataclass(frozen=True)
class Component:
    """One line of the value: a stable ``code``, its amount (negative for a discount) and why."""

    code: str
    amount: Decimal
    reason: str


@dataclass(frozen=True)
class PolicyValue:
    """The value (quantised to 0.01), its components (summing exactly to it), the counts and warnings."""

    value: Decimal
    components: tuple[Component, ...]
    counts: FamilyCounts
    warnings: tuple[str, ...] = field(default=())


def family_counts(product: ProductPricing, members: Iterable[Member]) -> FamilyCounts:
    """Count adults, children and "other" members, drop those beyond the maximum, split at the threshold."""
    adults = children = other_adults = other_children = 0
    for member in members:
        adult = member.category is AgeCategory.ADULT
        if member.is_other:
            other_adults += adult
            other_children += not adult
        else:
            adults += adult
            children += not adult
    given = adults + children + other_adults + other_children
    if product.max_members:
        room = product.max_members
        adults = min(adults, room)
        room -= adults
        children = min(children, room)
        room -= children
        other_children = min(other_children, room)
        room -= other_children
        other_adults = min(other_adults, room)
    counted = adults + children + other_adults + other_children
    lump_adults, lump_children = adults, children
    if product.threshold:
        lump_adults = min(adults, product.threshold)
        lump_children = min(children, product.threshold - lump_adults)
    return FamilyCounts(
        lump_sum_adults=lump_adults,
        lump_sum_children=lump_children,
        extra_adults=adults - lump_adults,
        extra_children=children - lump_children,
        other_adults=other_adults,
        other_children=other_children,
        excluded=given - counted,
    )


def covered_members(
    product: ProductPricing, members: Sequence[tuple[str, Member]]
) -> tuple[list[str], list[str]]:
    """Which members a policy covers, and which it leaves out (DOMAIN.md §5.1 "Max members").

    The same members :func:`family_counts` counts in the value: up to ``max_members``,
    related adults first, then related children, other children and other adults, each in
    the order given (the head first). Returns (covered keys, left-out keys)."""
    if not product.max_members:
        return [k for k, _ in members], []
    groups: list[list[str]] = [[], [], [], []]
    for key, member in members:
        adult = member.category is AgeCategory.ADULT
        groups[(0 if adult else 1) if not member.is_other else (3 if adult else 2)].append(key)
    room = product.max_members
    kept: set[str] = set()
    for group in groups:
        take = group[:room]
        room -= len(take)
        kept.update(take)
    return [k for k, _ in members if k in kept], [k for k, _ in members if k not in kept]


def _per_head(code: str, count: int, premium: Decimal, reason: str) -> list[Component]:
    if count == 0 or premium == 0:
        return []
    return [Component(code, count * premium, f"{count} × {premium}: {reason}")]


def _contributions(product: ProductPricing, counts: FamilyCounts) -> list[Component]:
    lines: list[Component] = []
    if product.lump_sum:
        covered = counts.lump_sum_adults + counts.lump_sum_children
        limit = f"the threshold of {product.threshold}" if product.threshold else "no threshold"
        lines.append(
            Component("lump-sum", product.lump_sum, f"lump sum for {covered} related member(s), {limit}")
        )
        lines += _per_head(
            "extra-adults", counts.extra_adults, product.premium_adult, "related adults beyond the threshold"
        )
        lines += _per_head(
            "extra-children",
            counts.extra_children,
            product.premium_child,
            "related children beyond the threshold",
        )
    else:
        lines += _per_head("adults", counts.adults, product.premium_adult, "related adults, no lump sum")
        lines += _per_head(
            "children", counts.children, product.premium_child, "related children, no lump sum"
        )
    lines += _per_head(
        "other-adults", counts.other_adults, product.premium_adult, "adults with relationship 'Others'"
    )
    lines += _per_head(
        "other-children", counts.other_children, product.premium_child, "children with relationship 'Others'"
    )
    return lines


def _fees(product: ProductPricing, counts: FamilyCounts, stage: Stage) -> list[Component]:
    lines: list[Component] = []
    if product.general_assembly_lump_sum:
        lines.append(
            Component("general-assembly", product.general_assembly_lump_sum, "general assembly lump sum")
        )
    else:
        lines += _per_head(
            "general-assembly", counts.total, product.general_assembly_fee, "general assembly fee"
        )
    if stage is Stage.NEW:
        if product.registration_lump_sum:
            lines.append(
                Component("registration", product.registration_lump_sum, "registration lump sum (new policy)")
            )
        else:
            lines += _per_head(
                "registration", counts.total, product.registration_fee, "registration fee (new policy)"
            )
    return lines


def _discount(product: ProductPricing, terms: PolicyTerms) -> tuple[Decimal, str] | None:
    """The discount percentage that applies and why, or None (§5.3, ``discount_new`` / ``discount_renew``)."""
    if terms.stage is Stage.NEW:
        if not (product.has_enrolment_discount and product.has_cycles):
            return None
        latest = add_months(terms.start_date, -product.enrolment_discount_period)
        if terms.enroll_date <= latest:
            return product.enrolment_discount_perc, (
                f"enrolment discount {product.enrolment_discount_perc}%: enrolled on {terms.enroll_date}, "
                f"on or before {latest} (start {terms.start_date} − "
                f"{product.enrolment_discount_period} month(s))"
            )
        return None
    if not product.has_renewal_discount:
        return None
    if terms.previous_expiry_date is None:
        raise ValueError("a renewal discount needs the previous policy's expiry date")
    latest = add_months(terms.previous_expiry_date + timedelta(days=1), -product.renewal_discount_period)
    if terms.enroll_date <= latest:
        return product.renewal_discount_perc, (
            f"renewal discount {product.renewal_discount_perc}%: renewed on {terms.enroll_date}, "
            "on or before "
            f"{latest} (previous expiry {terms.previous_expiry_date} + 1 day − "
            f"{product.renewal_discount_period} month(s))"
        )
    return None


def policy_value(product: ProductPricing, members: Iterable[Member], terms: PolicyTerms) -> PolicyValue:
    """The value of a policy of ``product`` for ``members`` (DOMAIN.md §5.3), with its breakdown.

    ``members`` are the family's current members (or those explicitly selected), each
    with its age category at the reference date (see :func:`age_category`).
    """
    counts = family_counts(product, members)
    components = _contributions(product, counts) + _fees(product, counts, terms.stage)
    exact = sum((line.amount for line in components), ZERO)
    discount = _discount(product, terms)
    if discount is not None:
        perc, reason = discount
        reduction = exact * perc / HUNDRED
        components.append(Component("discount", -reduction, reason))
        exact -= reduction
    value = exact.quantize(CENT, rounding=ROUND_HALF_EVEN)
    if value != exact:
        components.append(Component("rounding", value - exact, "value quantised to 0.01, half to even"))
    warnings: tuple[str, ...] = ()
    if counts.excluded:
        warnings = (
            f"members_count_above_max: {counts.total + counts.excluded} members, the product allows "
            f"{product.max_members}; {counts.excluded} left out of the value",
        )
    return PolicyValue(value=value, components=tuple(components), counts=counts, warnings=warnings)
