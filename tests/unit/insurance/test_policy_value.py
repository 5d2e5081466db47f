"""Policy value (fhir_server/insurance/policy_value.py) against DOMAIN.md §5.3, with worked numbers."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fhir_server.insurance.policy_value import (
    AgeCategory,
    Member,
    PolicyTerms,
    PolicyValue,
    ProductPricing,
    Stage,
    add_months,
    age_category,
    family_counts,
    policy_value,
)

D = Decimal
ADULT = Member(AgeCategory.ADULT, 1)
CHILD = Member(AgeCategory.CHILD, 2)
OTHER_ADULT = Member(AgeCategory.ADULT, 7)
OTHER_CHILD = Member(AgeCategory.CHILD, 7)
HEAD = Member(AgeCategory.ADULT, None)

# The running example: lump sum 10,000 for up to 4 related members; 3,000 per extra adult,
# 2,000 per extra child; 500 assembly and 1,000 registration fee per member.
PRODUCT = ProductPricing(
    lump_sum=D("10000"),
    threshold=4,
    premium_adult=D("3000"),
    premium_child=D("2000"),
    general_assembly_fee=D("500"),
    registration_fee=D("1000"),
)
NEW = PolicyTerms(Stage.NEW, enroll_date=date(2026, 6, 1), start_date=date(2026, 7, 1))
RENEWAL = PolicyTerms(
    Stage.RENEWED,
    enroll_date=date(2026, 12, 1),
    start_date=date(2027, 1, 1),
    previous_expiry_date=date(2026, 12, 31),
)
FAMILY_OF_FIVE = [HEAD, ADULT, CHILD, CHILD, OTHER_ADULT]  # head, spouse, two children, one "other"


def codes(result: PolicyValue) -> dict[str, Decimal]:
    return {c.code: c.amount for c in result.components}


@pytest.mark.parametrize(
    ("members", "terms", "expected", "lines"),
    [
        # family of five, new: 2 adults + 2 children fill the threshold of 4 → lump sum 10,000;
        # the "other" adult always pays 3,000; 5 × 500 assembly; 5 × 1,000 registration.
        # 10,000 + 3,000 + 2,500 + 5,000 = 20,500
        (
            FAMILY_OF_FIVE,
            NEW,
            "20500.00",
            {
                "lump-sum": D(10000),
                "other-adults": D(3000),
                "general-assembly": D(2500),
                "registration": D(5000),
            },
        ),
        # the same family renewing: no registration → 20,500 − 5,000 = 15,500
        (
            FAMILY_OF_FIVE,
            RENEWAL,
            "15500.00",
            {"lump-sum": D(10000), "other-adults": D(3000), "general-assembly": D(2500)},
        ),
        # threshold exactly met (2 adults + 2 children = 4): lump sum only + 4 × (500 + 1,000) = 16,000
        (
            [HEAD, ADULT, CHILD, CHILD],
            NEW,
            "16000.00",
            {"lump-sum": D(10000), "general-assembly": D(2000), "registration": D(4000)},
        ),
        # 3 adults + 3 children, threshold 4: adults take 3 places, 1 child in the lump sum,
        # 2 extra children × 2,000 = 4,000; fees 6 × 1,500 = 9,000 → 10,000 + 4,000 + 9,000 = 23,000
        (
            [HEAD, ADULT, ADULT, CHILD, CHILD, CHILD],
            NEW,
            "23000.00",
            {
                "lump-sum": D(10000),
                "extra-children": D(4000),
                "general-assembly": D(3000),
                "registration": D(6000),
            },
        ),
        # 5 adults + 1 child: 4 adults in the lump sum, 1 extra adult 3,000, the child is extra 2,000;
        # fees 6 × 1,500 = 9,000 → 10,000 + 3,000 + 2,000 + 9,000 = 24,000
        (
            [HEAD, ADULT, ADULT, ADULT, ADULT, CHILD],
            NEW,
            "24000.00",
            {
                "lump-sum": D(10000),
                "extra-adults": D(3000),
                "extra-children": D(2000),
                "general-assembly": D(3000),
                "registration": D(6000),
            },
        ),
        # an "other" child pays the child premium even under the threshold: 10,000 + 2,000 + 2 × 1,500
        (
            [HEAD, OTHER_CHILD],
            NEW,
            "15000.00",
            {
                "lump-sum": D(10000),
                "other-children": D(2000),
                "general-assembly": D(1000),
                "registration": D(2000),
            },
        ),
    ],
)
def test_worked_examples(
    members: list[Member], terms: PolicyTerms, expected: str, lines: dict[str, Decimal]
) -> None:
    result = policy_value(PRODUCT, members, terms)
    assert result.value == D(expected)
    assert str(result.value) == expected  # two places, as tblPolicy.PolicyValue decimal(18,2)
    assert codes(result) == lines
    assert sum(c.amount for c in result.components) == result.value
    assert all(c.reason for c in result.components)
    assert result.warnings == ()


def test_no_lump_sum_charges_every_member_even_beyond_the_threshold() -> None:
    # lump sum 0, threshold 4 (ignored): 5 adults × 3,000 + 1 child × 2,000 = 17,000;
    # the Python port would charge only the 4 "within threshold" members (§9: fixed).
    product = ProductPricing(threshold=4, premium_adult=D(3000), premium_child=D(2000))
    result = policy_value(product, [HEAD, ADULT, ADULT, ADULT, ADULT, CHILD], NEW)
    assert result.value == D("17000.00")
    assert codes(result) == {"adults": D(15000), "children": D(2000)}


def test_zero_lump_sum_and_no_premiums_is_zero() -> None:
    result = policy_value(ProductPricing(), FAMILY_OF_FIVE, NEW)
    assert result.value == D("0.00") and result.components == ()


def test_lump_sum_without_threshold_covers_every_related_member() -> None:
    # threshold 0 = not set: the lump sum covers all related members; "others" still pay
    product = ProductPricing(lump_sum=D(10000), premium_adult=D(3000), premium_child=D(2000))
    result = policy_value(product, [HEAD, ADULT, ADULT, CHILD, CHILD, CHILD, OTHER_ADULT], NEW)
    assert result.value == D("13000.00")


def test_assembly_and_registration_lump_sums_replace_the_per_member_fees() -> None:
    product = ProductPricing(
        lump_sum=D(10000),
        threshold=4,
        general_assembly_lump_sum=D(700),
        registration_lump_sum=D(1500),
        general_assembly_fee=D(500),
        registration_fee=D(1000),
    )
    assert policy_value(product, FAMILY_OF_FIVE, NEW).value == D("12200.00")  # 10,000 + 700 + 1,500
    assert policy_value(product, FAMILY_OF_FIVE, RENEWAL).value == D("10700.00")  # no registration


def test_max_members_keeps_adults_then_children_then_other_children_then_other_adults() -> None:
    # 2 adults, 2 children, 1 other child, 1 other adult; max 5 → the other adult is left out
    product = ProductPricing(
        max_members=5, lump_sum=D(10000), threshold=4, premium_adult=D(3000), premium_child=D(2000)
    )
    members = [OTHER_ADULT, OTHER_CHILD, HEAD, ADULT, CHILD, CHILD]
    result = policy_value(product, members, NEW)
    assert (
        result.counts.other_adults == 0 and result.counts.other_children == 1 and result.counts.excluded == 1
    )
    assert result.value == D("12000.00")  # 10,000 + other child 2,000
    assert len(result.warnings) == 1 and "members_count_above_max" in result.warnings[0]
    # max 4 → both "others" are out; max 3 → a child too (adults are kept first)
    four = family_counts(ProductPricing(max_members=4), members)
    assert (four.adults, four.children, four.other_children, four.other_adults, four.excluded) == (
        2,
        2,
        0,
        0,
        2,
    )
    three = family_counts(ProductPricing(max_members=3), members)
    assert (three.adults, three.children, three.total, three.excluded) == (2, 1, 3, 3)
    one = family_counts(ProductPricing(max_members=1), [CHILD, HEAD, ADULT])
    assert (one.adults, one.children) == (1, 0)


def test_max_members_exactly_reached_has_no_warning() -> None:
    product = ProductPricing(max_members=5, premium_adult=D(10))
    result = policy_value(product, FAMILY_OF_FIVE, NEW)
    assert result.warnings == () and result.counts.excluded == 0 and result.counts.total == 5


def test_max_members_fees_count_only_the_members_kept() -> None:
    product = ProductPricing(max_members=2, general_assembly_fee=D(500), registration_fee=D(1000))
    assert policy_value(product, FAMILY_OF_FIVE, NEW).value == D("3000.00")  # 2 × 1,500


DISCOUNTED = ProductPricing(
    lump_sum=D(10000),
    threshold=4,
    premium_adult=D(3000),
    premium_child=D(2000),
    general_assembly_fee=D(500),
    registration_fee=D(1000),
    has_cycles=True,
    enrolment_discount_perc=D(10),
    enrolment_discount_period=1,
    renewal_discount_perc=D(5),
    renewal_discount_period=2,
)


def test_enrolment_discount_boundary() -> None:
    # start 1 July, period 1 month → enrolled on or before 1 June gets 10%: 20,500 − 2,050 = 18,450
    on_time = policy_value(DISCOUNTED, FAMILY_OF_FIVE, NEW)
    assert on_time.value == D("18450.00")
    assert codes(on_time)["discount"] == D(-2050)
    late = PolicyTerms(Stage.NEW, enroll_date=date(2026, 6, 2), start_date=date(2026, 7, 1))
    assert policy_value(DISCOUNTED, FAMILY_OF_FIVE, late).value == D("20500.00")


def test_enrolment_discount_needs_cycles_and_a_configured_discount() -> None:
    no_cycles = ProductPricing(
        premium_adult=D(100), enrolment_discount_perc=D(10), enrolment_discount_period=1
    )
    assert policy_value(no_cycles, [HEAD], NEW).value == D("100.00")
    no_period = ProductPricing(premium_adult=D(100), enrolment_discount_perc=D(10), has_cycles=True)
    assert policy_value(no_period, [HEAD], NEW).value == D("100.00")


def test_enrolment_discount_month_end() -> None:
    # start 31 March, 1 month earlier is 28 February (2026 is not a leap year)
    product = ProductPricing(
        premium_adult=D(100), enrolment_discount_perc=D(10), enrolment_discount_period=1, has_cycles=True
    )
    on = PolicyTerms(Stage.NEW, enroll_date=date(2026, 2, 28), start_date=date(2026, 3, 31))
    off = PolicyTerms(Stage.NEW, enroll_date=date(2026, 3, 1), start_date=date(2026, 3, 31))
    assert policy_value(product, [HEAD], on).value == D("90.00")
    assert policy_value(product, [HEAD], off).value == D("100.00")


def test_renewal_discount_boundary() -> None:
    # previous expiry 31 Dec → renewal date 1 Jan; period 2 months → on or before 1 Nov gets 5%:
    # 15,500 × 0.95 = 14,725
    on = PolicyTerms(
        Stage.RENEWED, date(2026, 11, 1), date(2027, 1, 1), previous_expiry_date=date(2026, 12, 31)
    )
    off = PolicyTerms(
        Stage.RENEWED, date(2026, 11, 2), date(2027, 1, 1), previous_expiry_date=date(2026, 12, 31)
    )
    assert policy_value(DISCOUNTED, FAMILY_OF_FIVE, on).value == D("14725.00")
    assert policy_value(DISCOUNTED, FAMILY_OF_FIVE, off).value == D("15500.00")
    # a new policy never gets the renewal discount, a renewal never the enrolment one
    assert "discount" not in codes(policy_value(DISCOUNTED, FAMILY_OF_FIVE, RENEWAL))


def test_renewal_discount_without_previous_expiry_is_an_input_error() -> None:
    terms = PolicyTerms(Stage.RENEWED, date(2026, 11, 1), date(2027, 1, 1))
    with pytest.raises(ValueError, match="previous policy's expiry"):
        policy_value(DISCOUNTED, FAMILY_OF_FIVE, terms)


def test_quantised_once_half_to_even() -> None:
    # 100.05 − 10% = 90.045 → 90.04 (half to even; half up would give 90.05)
    product = ProductPricing(
        premium_adult=D("100.05"), enrolment_discount_perc=D(10), enrolment_discount_period=1, has_cycles=True
    )
    result = policy_value(product, [HEAD], NEW)
    assert result.value == D("90.04")
    assert codes(result) == {"adults": D("100.05"), "discount": D("-10.005"), "rounding": D("-0.005")}
    assert sum(c.amount for c in result.components) == result.value
    # 100.15 − 10% = 90.135 → 90.14
    product = ProductPricing(
        premium_adult=D("100.15"), enrolment_discount_perc=D(10), enrolment_discount_period=1, has_cycles=True
    )
    assert policy_value(product, [HEAD], NEW).value == D("90.14")


def test_full_discount_is_zero_not_negative() -> None:
    product = ProductPricing(
        premium_adult=D(100), enrolment_discount_perc=D(100), enrolment_discount_period=1, has_cycles=True
    )
    assert policy_value(product, [HEAD], NEW).value == D("0.00")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"premium_adult": D(-1)},
        {"lump_sum": D("NaN")},
        {"threshold": -1},
        {"enrolment_discount_perc": D(101)},
        {"registration_fee": 5},
    ],
)
def test_invalid_product_pricing_is_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        ProductPricing(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("born", "on", "category"),
    [
        (
            date(2008, 11, 23),
            date(2026, 11, 23),
            AgeCategory.CHILD,
        ),  # 18th birthday: still a child (dob >= date)
        (date(2008, 11, 22), date(2026, 11, 23), AgeCategory.ADULT),
        (date(2008, 2, 29), date(2026, 2, 28), AgeCategory.CHILD),  # 28 Feb 2026 − 18 y = 28 Feb 2008
        (date(2008, 2, 27), date(2026, 2, 28), AgeCategory.ADULT),
        (date(2006, 2, 27), date(2024, 2, 29), AgeCategory.ADULT),  # 29 Feb 2024 − 18 y = 28 Feb 2006
        (date(2006, 2, 28), date(2024, 2, 29), AgeCategory.CHILD),
    ],
)
def test_age_category_at_the_reference_date(born: date, on: date, category: AgeCategory) -> None:
    assert age_category(born, on) is category


def test_add_months() -> None:
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2026, 1, 15), -1) == date(2025, 12, 15)
    assert add_months(date(2026, 12, 31), 14) == date(2028, 2, 29)


money = st.decimals(min_value=0, max_value=100_000, places=2, allow_nan=False, allow_infinity=False)
members_st = st.lists(
    st.builds(Member, st.sampled_from(list(AgeCategory)), st.sampled_from([None, 1, 2, 3, 7, 8])), max_size=12
)
products = st.builds(
    ProductPricing,
    lump_sum=money,
    threshold=st.integers(0, 8),
    max_members=st.integers(0, 10),
    premium_adult=money,
    premium_child=money,
    registration_lump_sum=money,
    registration_fee=money,
    general_assembly_lump_sum=money,
    general_assembly_fee=money,
    enrolment_discount_perc=st.decimals(min_value=0, max_value=100, places=2),
    enrolment_discount_period=st.integers(0, 12),
    renewal_discount_perc=st.decimals(min_value=0, max_value=100, places=2),
    renewal_discount_period=st.integers(0, 12),
    has_cycles=st.booleans(),
)
terms_st = st.sampled_from([NEW, RENEWAL])


@given(products, members_st, terms_st)
def test_value_is_never_negative_and_is_the_sum_of_its_components(
    product: ProductPricing, members: list[Member], terms: PolicyTerms
) -> None:
    result = policy_value(product, members, terms)
    assert result.value >= 0
    assert result.value == result.value.quantize(D("0.01"))
    assert sum((c.amount for c in result.components), D(0)) == result.value
    assert result.counts.total + result.counts.excluded == len(members)
    if product.max_members:
        assert result.counts.total <= product.max_members


@given(
    products,
    members_st,
    st.builds(Member, st.sampled_from(list(AgeCategory)), st.sampled_from([None, 1, 7])),
    terms_st,
)
def test_value_is_monotone_in_members(
    product: ProductPricing, members: list[Member], extra: Member, terms: PolicyTerms
) -> None:
    # without a maximum, one more member never lowers the value (with a maximum a new related
    # member may push out an "other" one who paid a full premium, so it is not monotone there)
    unlimited = ProductPricing(**{**product.__dict__, "max_members": 0})
    assert (
        policy_value(unlimited, [*members, extra], terms).value
        >= policy_value(unlimited, members, terms).value
    )
