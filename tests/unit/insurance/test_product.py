"""The product read from our InsurancePlan profile (insurance/product.py) and who a policy covers."""

from __future__ import annotations

import copy
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from fhir_server import fhirjson
from fhir_server.insurance.policy_value import AgeCategory, Member, ProductPricing, covered_members
from fhir_server.insurance.product import ProductError, product_from_plan

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def plan() -> dict[str, Any]:
    loaded: dict[str, Any] = fhirjson.loads((EXAMPLES / "InsurancePlan-bhs-basic.json").read_bytes())
    return loaded


def test_the_example_product_reads_every_field() -> None:
    p = product_from_plan(plan())
    assert (p.code, p.currency, p.location) == ("BHS01", "TZS", "Location/region-kilimanjaro")
    assert p.pricing.lump_sum == Decimal("10000.00") and p.pricing.threshold == 6
    assert (p.pricing.premium_adult, p.pricing.premium_child) == (Decimal("2500.00"), Decimal("1250.00"))
    assert p.pricing.registration_fee == Decimal("500.00") and p.pricing.max_members == 6
    assert p.pricing.renewal_discount_perc == Decimal(10) and p.pricing.renewal_discount_period == 1
    assert p.pricing.has_cycles and [str(c) for c in p.periods.start_cycles] == ["15-01", "01-07"]
    assert (p.periods.insurance_period, p.periods.grace_period_enrolment, p.periods.grace_period_payment) == (
        12,
        1,
        2,
    )
    assert p.max_installments == 3 and p.ceiling_interpretation == "I"
    assert p.amounts["ded-g-policy"].amount == Decimal("2000.00")
    ceiling = p.amounts["max-g-policy"]
    assert (ceiling.amount, ceiling.extra_member, ceiling.maximum) == (
        Decimal("500000.00"),
        Decimal("50000.00"),
        Decimal("800000.00"),
    )
    assert p.max_counts == {"visit": 12, "hospitalization": 2}
    assert p.max_amounts == {"surgery": Decimal("150000.00")}
    drug = p.covers("item", "0182")
    assert drug is not None and drug.quantity_limit(adult=True) == Decimal(72)
    assert drug.quantity_limit(adult=False) == Decimal(48) and drug.ceiling_exclusion(adult=False) == "B"
    normal = drug.limitation("O")
    assert normal is not None and normal.kind == "F" and normal.limit(adult=True) == Decimal("150.00")
    consult = p.covers("service", "A1")
    assert consult is not None
    referral = consult.limitation("R")
    assert referral is not None and referral.limit(adult=True) == Decimal(80)
    assert p.covers("service", "0182") is None  # an item code is not a service


def test_a_product_without_its_period_or_code_is_refused_with_the_element() -> None:
    broken = plan()
    broken["coverage"][0]["benefit"][0]["limit"] = []
    with pytest.raises(ProductError) as e:
        product_from_plan(broken)
    assert e.value.expression == "InsurancePlan.coverage.benefit.limit"
    nameless = plan()
    nameless["identifier"] = []
    with pytest.raises(ProductError):
        product_from_plan(nameless)


def test_a_bad_cost_points_at_it() -> None:
    broken = copy.deepcopy(plan())
    broken["plan"][0]["generalCost"][1]["cost"]["value"] = -1
    with pytest.raises(ProductError) as e:
        product_from_plan(broken)
    assert e.value.expression == "InsurancePlan.plan[0].generalCost[1].cost.value"


ADULT, CHILD = AgeCategory.ADULT, AgeCategory.CHILD


def test_covered_members_keep_who_the_value_counts() -> None:
    # max 3: related adults first, then related children, then other children, then other adults
    family = [
        ("head", Member(ADULT)),
        ("grandma", Member(ADULT, 7)),
        ("kid1", Member(CHILD, 4)),
        ("spouse", Member(ADULT, 8)),
        ("nephew", Member(CHILD, 7)),
        ("kid2", Member(CHILD, 4)),
    ]
    kept, out = covered_members(ProductPricing(max_members=3), family)
    assert kept == ["head", "kid1", "spouse"] and out == ["grandma", "nephew", "kid2"]
    kept, out = covered_members(ProductPricing(max_members=5), family)
    assert kept == ["head", "kid1", "spouse", "nephew", "kid2"] and out == ["grandma"]
    assert covered_members(ProductPricing(), family) == ([k for k, _ in family], [])
