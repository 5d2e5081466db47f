"""The consumption ledger (insurance/ledger.py): apply, idempotence, withdraw, totals."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from fhir_server.insurance.ledger import Amounts, ClaimConsumption, apply, empty, withdraw


def claim(cid: str, insuree: str = "p1", **kw: object) -> ClaimConsumption:
    return ClaimConsumption(cid, insuree, **kw)  # type: ignore[arg-type]


def test_apply_adds_quantities_categories_and_amounts() -> None:
    ledger = apply(
        empty("cov1"),
        claim(
            "c1",
            quantities={("service", "A1"): D(1), ("item", "0182"): D(12)},
            categories={"consultation": D(1500)},
            deducted=Amounts(g=D(500)),
            remunerated=Amounts(g=D(1500), op=D(1500)),
        ),
    )
    ledger = apply(
        ledger,
        claim(
            "c2",
            quantities={("item", "0182"): D("6.5")},
            categories={"consultation": D(800)},
            remunerated=Amounts(g=D(800)),
        ),
    )
    mine = ledger.insuree("p1")
    assert mine.quantity("item", "0182") == D("18.5")
    assert mine.quantity("service", "A1") == 1
    assert mine.count("consultation") == 2 and mine.amount("consultation") == 2300
    assert mine.deducted == Amounts(g=D(500))
    assert mine.remunerated == Amounts(g=D(2300), op=D(1500))
    assert ledger.claims == {"c1", "c2"}


def test_the_same_claim_twice_is_a_no_op() -> None:
    c = claim("c1", quantities={("service", "A1"): D(1)}, categories={"visit": D(0)})
    once = apply(empty("cov1"), c)
    assert apply(once, c) is once
    assert once.insuree("p1").count("visit") == 1


def test_withdraw_reverses_a_claim_and_drops_an_empty_insuree() -> None:
    c1 = claim("c1", quantities={("service", "A1"): D(2)}, remunerated=Amounts(g=D(100)))
    c2 = claim("c2", "p2", categories={"surgery": D(5000)}, remunerated=Amounts(ip=D(5000)))
    ledger = apply(apply(empty("cov1"), c1), c2)
    back = withdraw(ledger, c1)
    assert back.claims == {"c2"}
    assert "p1" not in back.insurees
    assert withdraw(back, c1) is back  # not in it: unchanged
    revalued = apply(back, claim("c1", quantities={("service", "A1"): D(1)}))
    assert revalued.insuree("p1").quantity("service", "A1") == 1


def test_policy_total_sums_the_insurees() -> None:
    ledger = apply(
        apply(empty("cov1"), claim("c1", "p1", deducted=Amounts(g=D(300)), remunerated=Amounts(g=D(1000)))),
        claim(
            "c2",
            "p2",
            deducted=Amounts(g=D(200)),
            remunerated=Amounts(g=D(4000)),
            categories={"hospitalization": D(4000)},
        ),
    )
    total = ledger.policy_total()
    assert total.deducted.g == 500 and total.remunerated.g == 5000
    assert total.count("hospitalization") == 1
    assert ledger.insuree("nobody").is_empty()


def test_unknown_category_or_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="category"):
        claim("c1", categories={"dentistry": D(1)})
    with pytest.raises(ValueError, match="item"):
        claim("c1", quantities={("drug", "x"): D(1)})
