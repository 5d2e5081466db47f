"""Policy dates: enrolment, start, expiry, last payment and renewal (DOMAIN.md §5.2).

DOMAIN.md §5.2 ([POLICY] ``values.py`` ``set_start_date``, ``set_expiry_date``;
[DB] ``uspGetPolicyPeriod``):

    Reference date = enroll date; for new policies (stage N) add
    ``administration_period`` months.
    Product without cycles: start date = reference date.
    Product with cycles (``start_cycle_1..4``, strings ``dd-mm``): grace =
    ``grace_period_enrolment`` months (stage N) or ``grace_period_renewal``
    (stage R); the start date is the first cycle date (in the reference year)
    such that reference date - grace <= cycle date; if none, cycle 1 of the
    next year.
    Expiry date = start date + ``insurance_period`` months - 1 day (periods
    that are multiples of 12 are added as years).
    Last date for payment: with cycles: start date + grace months (N:
    enrolment grace, R: renewal grace) - 1 day; without cycles: N -> enroll
    date + ``grace_period_payment`` months - 1 day; R -> previous expiry +
    1 day + ``grace_period_payment`` months - 1 day.

and §5.5: a renewal's date is the previous expiry + 1 day; §5.1: "Enroll date
may not be in the future".

Precise semantics, following openIMIS's code where §5.2 is terse:

* "reference date - grace": openIMIS subtracts ``grace`` months from the
  reference date (month arithmetic, clamped at month end) and takes the cycle
  dates *in the year of that shifted date*; the condition is
  ``shifted <= cycle`` (a cycle exactly on the boundary is still reachable).
* Fixed defect: openIMIS walks ``start_cycle_1..4`` in field order and takes the
  first that qualifies, so unsorted cycles (e.g. 01-07 then 01-01) could skip
  an earlier one; we take the *earliest* qualifying cycle date, and for the
  next year the earliest cycle (identical to openIMIS when cycles are sorted).
* Fixed defect: a cycle ``29-02`` crashes openIMIS's ``strptime`` in a
  non-leap year; we clamp it to 28-02 of that year.
* Multiples of 12 months "added as years" are the same as months under
  end-of-month clamping (29-02-2024 + 12 months = 28-02-2025), so one
  :func:`add_months` serves both.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from fhir_server.insurance.decisions import Decision

_CYCLE = re.compile(r"^(\d{2})-(\d{2})$")


class Stage(StrEnum):
    """Policy stage (DOMAIN.md §5.1): ``N`` new, ``R`` renewed."""

    NEW = "N"
    RENEWED = "R"


def fhir_date(value: object) -> date | None:
    """The day of a FHIR ``date`` or ``dateTime`` string; None when absent, partial (a year or a
    month only) or not a date."""
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def add_months(d: date, months: int) -> date:
    """``d`` moved by ``months`` calendar months (may be negative).

    The day is kept when the target month has it, otherwise clamped to the
    target month's last day (31-01 + 1 month = 28-02 or 29-02), the rule of
    ``dateutil.relativedelta`` that openIMIS's ``datetimedelta`` uses.
    """
    index = d.year * 12 + (d.month - 1) + months
    year, month0 = divmod(index, 12)
    month = month0 + 1
    day = min(d.day, calendar.monthrange(year, month)[1])
    return date(year, month, day)


@dataclass(frozen=True)
class StartCycle:
    """One ``start_cycle_N`` of a product: a day and month, ``dd-mm``."""

    day: int
    month: int

    @classmethod
    def parse(cls, text: str) -> StartCycle:
        """Parse ``dd-mm``; ``ValueError`` when it is not a real day of some year."""
        m = _CYCLE.match(text)
        if m is None:
            raise ValueError(f"start cycle {text!r} is not in the form dd-mm")
        day, month = int(m.group(1)), int(m.group(2))
        if not 1 <= month <= 12 or not 1 <= day <= calendar.monthrange(2000, month)[1]:
            raise ValueError(f"start cycle {text!r} is not a valid day and month")
        return cls(day, month)

    def in_year(self, year: int) -> date:
        """This cycle's date in ``year`` (29-02 clamps to 28-02 in common years)."""
        return date(year, self.month, min(self.day, calendar.monthrange(year, self.month)[1]))

    def __str__(self) -> str:
        return f"{self.day:02d}-{self.month:02d}"


@dataclass(frozen=True)
class ProductPeriods:
    """The product fields the date rules need (DOMAIN.md §3.6b), periods in months."""

    insurance_period: int
    administration_period: int = 0
    start_cycles: tuple[StartCycle, ...] = ()
    grace_period_enrolment: int = 0
    grace_period_renewal: int = 0
    grace_period_payment: int = 0

    def __post_init__(self) -> None:
        if self.insurance_period < 1:
            raise ValueError("insurance_period must be at least 1 month")
        periods = (
            "administration_period",
            "grace_period_enrolment",
            "grace_period_renewal",
            "grace_period_payment",
        )
        for name in periods:
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        if len(self.start_cycles) > 4:
            raise ValueError("a product has at most 4 start cycles")

    @property
    def has_cycles(self) -> bool:
        return bool(self.start_cycles)

    def grace(self, stage: Stage) -> int:
        """Cycle grace in months: enrolment grace for new, renewal grace for renewed policies."""
        return self.grace_period_enrolment if stage is Stage.NEW else self.grace_period_renewal


@dataclass(frozen=True)
class StartDate:
    """A computed start date and how it was found.

    ``branch``: ``no-cycles`` (start = reference date), ``cycle`` (a cycle of
    the shifted reference year) or ``next-year-cycle`` (no cycle left in that
    year). ``reference`` is the enrol date plus any administration period;
    ``earliest_cycle_date`` is ``reference - grace`` (the bound a cycle must reach).
    """

    start: date
    branch: str
    reference: date
    earliest_cycle_date: date | None = None
    cycle: StartCycle | None = None


@dataclass(frozen=True)
class PolicyPeriod:
    """The dates of one policy (stage N or R)."""

    stage: Stage
    enroll_date: date
    start_date: date
    expiry_date: date
    last_payment_date: date
    start: StartDate


def reference_date(enroll_date: date, stage: Stage, product: ProductPeriods) -> date:
    """Enrol date, plus the administration period for new policies (§5.2)."""
    if stage is Stage.NEW and product.administration_period:
        return add_months(enroll_date, product.administration_period)
    return enroll_date


def start_date(enroll_date: date, stage: Stage, product: ProductPeriods) -> StartDate:
    """The policy start date (§5.2), with the branch taken."""
    reference = reference_date(enroll_date, stage, product)
    if not product.has_cycles:
        return StartDate(reference, "no-cycles", reference)
    bound = add_months(reference, -product.grace(stage))
    candidates = sorted((c.in_year(bound.year), c) for c in product.start_cycles)
    for cycle_date, cycle in candidates:
        if bound <= cycle_date:
            return StartDate(cycle_date, "cycle", reference, bound, cycle)
    cycle_date, cycle = sorted((c.in_year(bound.year + 1), c) for c in product.start_cycles)[0]
    return StartDate(cycle_date, "next-year-cycle", reference, bound, cycle)


def expiry_date(start: date, product: ProductPeriods) -> date:
    """Start + insurance period months - 1 day (§5.2): the last covered day."""
    return add_months(start, product.insurance_period) - timedelta(days=1)


def last_payment_date(
    stage: Stage,
    enroll_date: date,
    start: date,
    product: ProductPeriods,
    previous_expiry: date | None = None,
) -> date:
    """The last day a contribution may be paid (§5.2, [CONTRIB] ``last_date_for_payment``).

    With cycles: start + grace (N enrolment, R renewal) months - 1 day.
    Without cycles: N -> enrol date + payment grace months - 1 day;
    R -> previous expiry + 1 day + payment grace months - 1 day (the renewal
    needs ``previous_expiry``).
    """
    if product.has_cycles:
        return add_months(start, product.grace(stage)) - timedelta(days=1)
    if stage is Stage.NEW:
        return add_months(enroll_date, product.grace_period_payment) - timedelta(days=1)
    if previous_expiry is None:
        raise ValueError("a renewal's last payment date needs the previous policy's expiry date")
    return add_months(renewal_date(previous_expiry), product.grace_period_payment) - timedelta(days=1)


def policy_period(
    enroll_date: date,
    stage: Stage,
    product: ProductPeriods,
    previous_expiry: date | None = None,
) -> PolicyPeriod:
    """All dates of a new (N) or renewed (R) policy enrolled on ``enroll_date``."""
    start = start_date(enroll_date, stage, product)
    return PolicyPeriod(
        stage=stage,
        enroll_date=enroll_date,
        start_date=start.start,
        expiry_date=expiry_date(start.start, product),
        last_payment_date=last_payment_date(stage, enroll_date, start.start, product, previous_expiry),
        start=start,
    )


def renewal_date(previous_expiry: date) -> date:
    """The day after the previous policy expires (§5.5 "renewal date = expiry + 1")."""
    return previous_expiry + timedelta(days=1)


def renewal_period(
    previous_expiry: date,
    product: ProductPeriods,
    enroll_date: date | None = None,
) -> PolicyPeriod:
    """Dates of the renewal (stage R) of a policy expiring on ``previous_expiry``.

    The renewal is enrolled on ``enroll_date`` (by default its renewal date);
    no administration period applies and cycles use the renewal grace (§5.2).
    """
    enrolled = enroll_date if enroll_date is not None else renewal_date(previous_expiry)
    return policy_period(enrolled, Stage.RENEWED, product, previous_expiry)


def check_enroll_date(enroll_date: date, today: date) -> Decision:
    """§5.1: the enrol date may not be in the future."""
    if enroll_date > today:
        return Decision.refuse(
            "enroll-date-future",
            f"The enrolment date {enroll_date.isoformat()} is after today ({today.isoformat()})",
            enroll_date=enroll_date,
            today=today,
        )
    return Decision.accept(
        "enroll-date-ok", "The enrolment date is not in the future", enroll_date=enroll_date
    )
