"""The consumption ledger of one policy (DOMAIN.md §3.2–3.4, §9 note 5): pure.

What the insurees of one policy consumed during its period, the state openIMIS keeps
in ``ClaimDedRem`` rows and recomputes from claim details (``uspServiceItemEnquiry``):

- per insuree, per item/service code: the quantity consumed (§4.1 "Σ coalesce(qty_approved,
  qty_provided) of the insuree's passed details");
- per insuree, per service category (consultation, surgery, delivery, hospitalization,
  antenatal, visit): the number of claims and the remunerated amount (§3.4 step 5, §4.1
  category counters);
- per insuree: the deducted and the remunerated amounts, general / in-patient /
  out-patient (``ded_g``, ``ded_ip``, ``ded_op``, ``rem_g``, ``rem_ip``, ``rem_op``);
  the per-policy totals are their sums (:meth:`Ledger.policy_total`);
- the ids of the claims applied: applying a claim twice changes nothing.

Claim valuation (issue 6) builds one :class:`ClaimConsumption` per claim × policy and
calls :func:`apply`; when a claim is valued again it calls :func:`withdraw` with the
consumption it applied before (it keeps it on its ClaimResponse), then :func:`apply`
with the new one. Eligibility (``eligibility.py``) only reads: :meth:`Ledger.insuree`
and :meth:`Ledger.policy_total`. ``scheme/ledger.py`` stores a ledger as one FHIR
``Account`` per policy.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from types import MappingProxyType

from .product import CATEGORIES

ZERO = Decimal(0)
#: The kinds of care an amount is booked to (DOMAIN.md §3.3): general, in-patient, out-patient.
CARE = ("g", "ip", "op")


@dataclass(frozen=True)
class Amounts:
    """An amount booked as general (``g``), in-patient (``ip``) and out-patient (``op``)."""

    g: Decimal = ZERO
    ip: Decimal = ZERO
    op: Decimal = ZERO

    def __add__(self, other: Amounts) -> Amounts:
        return Amounts(self.g + other.g, self.ip + other.ip, self.op + other.op)

    def __sub__(self, other: Amounts) -> Amounts:
        return Amounts(self.g - other.g, self.ip - other.ip, self.op - other.op)

    def get(self, care: str) -> Decimal:
        value: Decimal = getattr(self, care)
        return value

    def is_zero(self) -> bool:
        return not (self.g or self.ip or self.op)


NO_AMOUNTS = Amounts()


@dataclass(frozen=True)
class ClaimConsumption:
    """What one claim consumed under one policy (one ``ClaimDedRem`` row and its details).

    ``quantities``: ("item" | "service", code) → quantity of the passed details;
    ``categories``: category (``product.CATEGORIES``) → amount remunerated for it; a
    category present counts the claim once (zero amount included, e.g. a visit);
    ``deducted`` / ``remunerated``: general / in-patient / out-patient amounts.
    """

    claim_id: str
    insuree_id: str
    quantities: Mapping[tuple[str, str], Decimal] = field(default_factory=dict)
    categories: Mapping[str, Decimal] = field(default_factory=dict)
    deducted: Amounts = NO_AMOUNTS
    remunerated: Amounts = NO_AMOUNTS

    def __post_init__(self) -> None:
        for category in self.categories:
            if category not in CATEGORIES:
                raise ValueError(f"Unknown service category '{category}' (one of {', '.join(CATEGORIES)})")
        for kind, _ in self.quantities:
            if kind not in ("item", "service"):
                raise ValueError(f"A consumed quantity is of an 'item' or a 'service', not '{kind}'")


@dataclass(frozen=True)
class InsureeConsumption:
    """One insuree's totals under the policy."""

    quantities: Mapping[tuple[str, str], Decimal] = field(default_factory=dict)
    category_counts: Mapping[str, int] = field(default_factory=dict)
    category_amounts: Mapping[str, Decimal] = field(default_factory=dict)
    deducted: Amounts = NO_AMOUNTS
    remunerated: Amounts = NO_AMOUNTS

    def quantity(self, kind: str, code: str) -> Decimal:
        return self.quantities.get((kind, code), ZERO)

    def count(self, category: str) -> int:
        return self.category_counts.get(category, 0)

    def amount(self, category: str) -> Decimal:
        return self.category_amounts.get(category, ZERO)

    def is_empty(self) -> bool:
        return (
            not any(self.quantities.values())
            and not any(self.category_counts.values())
            and not any(self.category_amounts.values())
            and self.deducted.is_zero()
            and self.remunerated.is_zero()
        )


NOTHING = InsureeConsumption()


@dataclass(frozen=True)
class Ledger:
    """The consumption under one policy (``coverage_id``).

    ``version`` is the stored version it was read at (0: never stored); saving writes
    the next version only if the stored one is still ``version`` (optimistic concurrency).
    """

    coverage_id: str
    insurees: Mapping[str, InsureeConsumption] = field(default_factory=dict)
    claims: frozenset[str] = frozenset()
    currency: str | None = None
    version: int = 0

    def insuree(self, insuree_id: str) -> InsureeConsumption:
        return self.insurees.get(insuree_id, NOTHING)

    def policy_total(self) -> InsureeConsumption:
        """The sums over every insuree of the policy (per-policy deductibles and ceilings)."""
        return _sum(self.insurees.values())

    def has(self, claim_id: str) -> bool:
        return claim_id in self.claims


def empty(coverage_id: str, currency: str | None = None) -> Ledger:
    return Ledger(coverage_id, currency=currency)


def _add_maps(
    a: Mapping[tuple[str, str], Decimal], b: Mapping[tuple[str, str], Decimal], sign: int
) -> dict[tuple[str, str], Decimal]:
    out = dict(a)
    for key, value in b.items():
        total = out.get(key, ZERO) + sign * value
        if total:
            out[key] = total
        else:
            out.pop(key, None)
    return out


def _combine(base: InsureeConsumption, claim: ClaimConsumption, sign: int) -> InsureeConsumption:
    counts = dict(base.category_counts)
    amounts = dict(base.category_amounts)
    for category, amount in claim.categories.items():
        count = counts.get(category, 0) + sign
        if count:
            counts[category] = count
        else:
            counts.pop(category, None)
        total = amounts.get(category, ZERO) + sign * amount
        if total:
            amounts[category] = total
        else:
            amounts.pop(category, None)
    quantities: dict[tuple[str, str], Decimal] = _add_maps(base.quantities, claim.quantities, sign)
    return InsureeConsumption(
        quantities=MappingProxyType(quantities),
        category_counts=MappingProxyType(counts),
        category_amounts=MappingProxyType(amounts),
        deducted=(base.deducted + claim.deducted) if sign > 0 else (base.deducted - claim.deducted),
        remunerated=(base.remunerated + claim.remunerated)
        if sign > 0
        else (base.remunerated - claim.remunerated),
    )


def apply(ledger: Ledger, claim: ClaimConsumption) -> Ledger:
    """``ledger`` with ``claim``'s consumption added; unchanged when the claim was applied already."""
    if claim.claim_id in ledger.claims:
        return ledger
    insurees = dict(ledger.insurees)
    insurees[claim.insuree_id] = _combine(ledger.insuree(claim.insuree_id), claim, +1)
    return replace(ledger, insurees=MappingProxyType(insurees), claims=ledger.claims | {claim.claim_id})


def withdraw(ledger: Ledger, claim: ClaimConsumption) -> Ledger:
    """``ledger`` without ``claim`` (the consumption that was applied for it); unchanged
    when the claim is not in it. For a claim valued again, rejected or cancelled."""
    if claim.claim_id not in ledger.claims:
        return ledger
    insurees = dict(ledger.insurees)
    left = _combine(ledger.insuree(claim.insuree_id), claim, -1)
    if left.is_empty():
        insurees.pop(claim.insuree_id, None)
    else:
        insurees[claim.insuree_id] = left
    return replace(ledger, insurees=MappingProxyType(insurees), claims=ledger.claims - {claim.claim_id})


def _sum(parts: Iterable[InsureeConsumption]) -> InsureeConsumption:
    quantities: dict[tuple[str, str], Decimal] = {}
    counts: dict[str, int] = {}
    amounts: dict[str, Decimal] = {}
    deducted, remunerated = NO_AMOUNTS, NO_AMOUNTS
    for part in parts:
        for key, qty in part.quantities.items():
            quantities[key] = quantities.get(key, ZERO) + qty
        for category, n in part.category_counts.items():
            counts[category] = counts.get(category, 0) + n
        for category, amount in part.category_amounts.items():
            amounts[category] = amounts.get(category, ZERO) + amount
        deducted = deducted + part.deducted
        remunerated = remunerated + part.remunerated
    return InsureeConsumption(quantities, counts, amounts, deducted, remunerated)
