"""Policy dates (DOMAIN.md §5.2, §5.5): start with administration period and cycles with grace, expiry,
last payment date and renewals, with worked numbers."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fhir_server.insurance.policy_dates import (
    ProductPeriods,
    Stage,
    StartCycle,
    add_months,
    check_enroll_date,
    expiry_date,
    last_payment_date,
    policy_period,
    reference_date,
    renewal_date,
    renewal_period,
    start_date,
)

D = date.fromisoformat
QUARTERS = tuple(StartCycle.parse(c) for c in ("01-01", "01-04", "01-07", "01-10"))


def cycles(*texts: str) -> tuple[StartCycle, ...]:
    return tuple(StartCycle.parse(t) for t in texts)


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        ("2024-01-15", 1, "2024-02-15"),
        ("2024-01-31", 1, "2024-02-29"),  # clamp, leap year
        ("2023-01-31", 1, "2023-02-28"),  # clamp, common year
        ("2024-03-31", -1, "2024-02-29"),
        ("2024-02-29", 12, "2025-02-28"),  # a year from a leap day
        ("2024-02-29", 48, "2028-02-29"),
        ("2024-11-30", 3, "2025-02-28"),  # wraps the year
        ("2024-01-10", -1, "2023-12-10"),
        ("2024-05-31", 0, "2024-05-31"),
        ("2024-08-31", -6, "2024-02-29"),
    ],
)
def test_add_months_clamps_to_month_end(start: str, months: int, expected: str) -> None:
    assert add_months(D(start), months) == D(expected)


@pytest.mark.parametrize(
    ("enroll", "stage", "product", "start", "branch"),
    [
        # no cycles: start = enrol date (+ administration period for new policies only)
        ("2024-03-10", Stage.NEW, ProductPeriods(12), "2024-03-10", "no-cycles"),
        ("2024-03-10", Stage.NEW, ProductPeriods(12, administration_period=1), "2024-04-10", "no-cycles"),
        ("2024-01-31", Stage.NEW, ProductPeriods(12, administration_period=1), "2024-02-29", "no-cycles"),
        ("2024-03-10", Stage.RENEWED, ProductPeriods(12, administration_period=1), "2024-03-10", "no-cycles"),
        # quarterly cycles, no grace: the next cycle on or after the reference date
        ("2024-01-01", Stage.NEW, ProductPeriods(12, start_cycles=QUARTERS), "2024-01-01", "cycle"),
        ("2024-01-02", Stage.NEW, ProductPeriods(12, start_cycles=QUARTERS), "2024-04-01", "cycle"),
        ("2024-09-30", Stage.NEW, ProductPeriods(12, start_cycles=QUARTERS), "2024-10-01", "cycle"),
        # past the last cycle of the year: cycle 1 of the next year
        ("2024-10-02", Stage.NEW, ProductPeriods(12, start_cycles=QUARTERS), "2025-01-01", "next-year-cycle"),
        ("2024-12-31", Stage.NEW, ProductPeriods(12, start_cycles=cycles("01-03")),
         "2025-03-01", "next-year-cycle"),
        # enrolment grace of 1 month: reference - 1 month <= cycle (boundary included)
        ("2024-05-01", Stage.NEW, ProductPeriods(12, start_cycles=QUARTERS, grace_period_enrolment=1),
         "2024-04-01", "cycle"),
        ("2024-05-02", Stage.NEW, ProductPeriods(12, start_cycles=QUARTERS, grace_period_enrolment=1),
         "2024-07-01", "cycle"),
        # grace reaching back over new year: enrolled 15-01 joins the 01-01 cycle of the same year
        ("2024-01-15", Stage.NEW, ProductPeriods(12, start_cycles=QUARTERS, grace_period_enrolment=1),
         "2024-01-01", "next-year-cycle"),
        ("2024-02-01", Stage.NEW, ProductPeriods(12, start_cycles=QUARTERS, grace_period_enrolment=1),
         "2024-01-01", "cycle"),
        ("2024-02-02", Stage.NEW, ProductPeriods(12, start_cycles=QUARTERS, grace_period_enrolment=1),
         "2024-04-01", "cycle"),
        # grace subtraction clamps: 31-03 - 1 month = 29-02 (leap) reaches a 29-02 cycle
        ("2024-03-31", Stage.NEW, ProductPeriods(12, start_cycles=cycles("29-02", "01-09"),
                                                 grace_period_enrolment=1), "2024-02-29", "cycle"),
        # a 29-02 cycle in a common year is 28-02 (openIMIS's strptime would crash)
        ("2025-01-15", Stage.NEW, ProductPeriods(12, start_cycles=cycles("29-02")), "2025-02-28", "cycle"),
        # administration period first, then the cycles
        ("2024-03-10", Stage.NEW, ProductPeriods(12, administration_period=1, start_cycles=QUARTERS),
         "2024-07-01", "cycle"),
        ("2024-11-15", Stage.NEW, ProductPeriods(12, administration_period=2, start_cycles=QUARTERS),
         "2025-04-01", "cycle"),
        # renewals: renewal grace, never the enrolment grace or the administration period
        ("2024-05-20", Stage.RENEWED, ProductPeriods(12, administration_period=3, start_cycles=QUARTERS,
                                                     grace_period_enrolment=0, grace_period_renewal=2),
         "2024-04-01", "cycle"),
        ("2024-05-20", Stage.NEW, ProductPeriods(12, start_cycles=QUARTERS, grace_period_enrolment=0,
                                                 grace_period_renewal=2), "2024-07-01", "cycle"),
        # unsorted cycles: the earliest qualifying date (openIMIS would take 01-07, the first field)
        ("2024-01-01", Stage.NEW, ProductPeriods(12, start_cycles=cycles("01-07", "01-01")),
         "2024-01-01", "cycle"),
        ("2024-08-01", Stage.NEW, ProductPeriods(12, start_cycles=cycles("01-07", "01-01")),
         "2025-01-01", "next-year-cycle"),
    ],
)
def test_start_date_table(
    enroll: str, stage: Stage, product: ProductPeriods, start: str, branch: str
) -> None:
    result = start_date(D(enroll), stage, product)
    assert (result.start, result.branch) == (D(start), branch)
    assert result.reference == reference_date(D(enroll), stage, product)


def test_start_date_reports_the_bound_and_cycle() -> None:
    product = ProductPeriods(12, start_cycles=QUARTERS, grace_period_enrolment=1)
    result = start_date(D("2024-05-01"), Stage.NEW, product)
    assert result.earliest_cycle_date == D("2024-04-01")
    assert result.cycle == StartCycle(1, 4)
    assert str(result.cycle) == "01-04"


@pytest.mark.parametrize(
    ("start", "months", "expiry"),
    [
        ("2024-01-01", 12, "2024-12-31"),
        ("2024-04-01", 12, "2025-03-31"),
        ("2024-03-10", 6, "2024-09-09"),
        ("2024-01-31", 1, "2024-02-28"),  # 31-01 + 1 month = 29-02, minus one day
        ("2024-02-29", 12, "2025-02-27"),  # as openIMIS: + 1 year = 28-02-2025, minus one day
        ("2024-02-29", 24, "2026-02-27"),
        ("2023-03-01", 12, "2024-02-29"),  # last covered day is a leap day
        ("2024-12-01", 3, "2025-02-28"),
    ],
)
def test_expiry_is_start_plus_period_minus_one_day(start: str, months: int, expiry: str) -> None:
    assert expiry_date(D(start), ProductPeriods(months)) == D(expiry)


def test_last_payment_date_with_cycles_uses_the_stage_grace() -> None:
    product = ProductPeriods(12, start_cycles=QUARTERS, grace_period_enrolment=1, grace_period_renewal=2,
                             grace_period_payment=6)
    assert last_payment_date(Stage.NEW, D("2024-03-10"), D("2024-04-01"), product) == D("2024-04-30")
    assert last_payment_date(Stage.RENEWED, D("2024-03-10"), D("2024-04-01"), product) == D("2024-05-31")


def test_last_payment_date_without_cycles_uses_the_payment_grace() -> None:
    product = ProductPeriods(12, grace_period_enrolment=5, grace_period_payment=2)
    assert last_payment_date(Stage.NEW, D("2024-03-10"), D("2024-03-10"), product) == D("2024-05-09")
    assert last_payment_date(Stage.NEW, D("2023-12-31"), D("2023-12-31"), product) == D("2024-02-28")
    # renewal: previous expiry + 1 day + grace - 1 day
    assert last_payment_date(
        Stage.RENEWED, D("2025-01-10"), D("2025-01-10"), product, previous_expiry=D("2024-12-31")
    ) == D("2025-02-28")
    with pytest.raises(ValueError):
        last_payment_date(Stage.RENEWED, D("2025-01-10"), D("2025-01-10"), product)


def test_policy_period_new_worked_example() -> None:
    # enrolled 10-03-2024, 1 month administration, quarterly cycles, 1 month grace, 12 months
    product = ProductPeriods(12, administration_period=1, start_cycles=QUARTERS, grace_period_enrolment=1)
    period = policy_period(D("2024-03-10"), Stage.NEW, product)
    assert period.stage is Stage.NEW
    assert period.enroll_date == D("2024-03-10")
    # reference 10-04, minus grace 10-03 <= 01-04: joins the April cycle
    assert period.start_date == D("2024-04-01")
    assert period.expiry_date == D("2025-03-31")
    assert period.last_payment_date == D("2024-04-30")
    assert period.start.branch == "cycle"


def test_renewal_without_cycles_follows_the_previous_policy() -> None:
    product = ProductPeriods(12, administration_period=2, grace_period_payment=1)
    assert renewal_date(D("2024-12-31")) == D("2025-01-01")
    period = renewal_period(D("2024-12-31"), product)
    assert period.stage is Stage.RENEWED
    assert (period.enroll_date, period.start_date, period.expiry_date) == (
        D("2025-01-01"), D("2025-01-01"), D("2025-12-31"))
    assert period.last_payment_date == D("2025-01-31")


def test_renewal_with_cycles_uses_renewal_grace_and_enrol_date() -> None:
    product = ProductPeriods(12, start_cycles=QUARTERS, grace_period_enrolment=0, grace_period_renewal=1)
    # renewed late, on 20-04-2025, for a policy that expired 31-03-2025: still joins the April cycle
    period = renewal_period(D("2025-03-31"), product, enroll_date=D("2025-04-20"))
    assert period.start_date == D("2025-04-01")
    assert period.expiry_date == D("2026-03-31")
    assert period.last_payment_date == D("2025-04-30")
    # a new policy enrolled the same day waits for July
    assert policy_period(D("2025-04-20"), Stage.NEW, product).start_date == D("2025-07-01")


def test_enroll_date_may_not_be_in_the_future() -> None:
    assert check_enroll_date(D("2024-05-01"), today=D("2024-05-01")).ok
    future = check_enroll_date(D("2024-05-02"), today=D("2024-05-01"))
    assert (future.ok, future.reason) == (False, "enroll-date-future")
    assert "2024-05-02" in future.message


@pytest.mark.parametrize("text", ["1-01", "01/01", "32-01", "30-02", "00-01", "01-13", "", "01-01-2024"])
def test_start_cycle_parse_refuses_bad_text(text: str) -> None:
    with pytest.raises(ValueError):
        StartCycle.parse(text)


def test_start_cycle_leap_day_parses() -> None:
    leap = StartCycle.parse("29-02")
    assert leap.in_year(2024) == D("2024-02-29")
    assert leap.in_year(2100) == D("2100-02-28")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"insurance_period": 0},
        {"insurance_period": 12, "administration_period": -1},
        {"insurance_period": 12, "grace_period_renewal": -1},
        {"insurance_period": 12, "start_cycles": QUARTERS + cycles("15-05")},
    ],
)
def test_product_periods_refuse_nonsense(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        ProductPeriods(**kwargs)  # type: ignore[arg-type]


dates = st.dates(min_value=date(1990, 1, 1), max_value=date(2090, 12, 31))
cycle_sets = st.lists(
    st.builds(StartCycle, day=st.integers(1, 29), month=st.integers(1, 12)), min_size=1, max_size=4
).map(tuple)


@given(dates, st.integers(-600, 600))
def test_add_months_properties(d: date, months: int) -> None:
    moved = add_months(d, months)
    assert (moved.year * 12 + moved.month) - (d.year * 12 + d.month) == months
    assert moved.day <= d.day
    if moved.day < d.day:  # clamped: it is the last day of its month
        assert (moved + timedelta(days=1)).day == 1


@given(dates, cycle_sets, st.integers(0, 12), st.integers(0, 6), st.sampled_from(list(Stage)))
def test_start_is_the_earliest_cycle_reachable_with_grace(
    enroll: date, starts: tuple[StartCycle, ...], grace: int, admin: int, stage: Stage
) -> None:
    product = ProductPeriods(12, administration_period=admin, start_cycles=starts,
                             grace_period_enrolment=grace, grace_period_renewal=grace)
    result = start_date(enroll, stage, product)
    bound = add_months(reference_date(enroll, stage, product), -grace)
    assert result.earliest_cycle_date == bound
    assert bound <= result.start
    candidates = [c.in_year(y) for c in starts for y in (bound.year, bound.year + 1)]
    assert result.start in candidates
    assert all(result.start <= c for c in candidates if c >= bound)


@given(dates, st.integers(1, 120))
def test_expiry_is_the_day_before_the_next_period_starts(start: date, months: int) -> None:
    expiry = expiry_date(start, ProductPeriods(months))
    assert expiry + timedelta(days=1) == add_months(start, months)
    assert expiry >= start
