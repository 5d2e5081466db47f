"""An insurance product (openIMIS Product, DOMAIN.md §3.6b) read from our InsurancePlan profile.

``profiles/StructureDefinition-product.json`` carries every product field as core
elements or our extensions; this module turns one InsurancePlan into a frozen
:class:`Product` the pure rules use (policy value §5.3, dates §5.2, eligibility §4.1,
valuation §3). It is pure: JSON in, dataclasses out; a malformed product raises
:class:`ProductError` naming the FHIRPath of the bad element.

Mapping (InsurancePlan → openIMIS field):

- ``identifier`` (type ``Code``) → code; ``name``; ``period`` → date_from/date_to;
  ``coverageArea[0]`` → location; ``plan[0].generalCost`` typed by ``product-cost-type``
  (``lumpsum`` with ``groupSize`` = threshold, ``premiumAdult``, ``premiumChild``,
  ``registrationLumpsum``, ``registrationFee``, ``generalAssemblyLumpSum``,
  ``generalAssemblyFee``);
- ``coverage[0].benefit[0].limit`` coded ``period`` (months) → insurance_period and
  ``memberCount`` → max_members;
- extensions ``product-start-cycle`` (dd-mm, ≤ 4), ``product-period`` (kind
  administration / grace-enrolment / grace-renewal / grace-payment, months),
  ``product-discount`` (kind enrolment / renewal, percentage, months),
  ``product-max-installments``, ``product-conversion``,
  ``product-ceiling-interpretation`` (I / H), ``product-deductible-ceiling`` (kind
  ``ded|max``-``g|ip|op``-``insuree|treatment|policy``, amount, extraMember, maximum),
  ``product-category-limit`` (``count-*`` numbers, ``amount-*`` money);
- ``coverage[0].extension`` ``product-covered-item``: one per medical item or service
  (code by system ``…/medical-item-code`` or ``…/medical-service-code``) with its price
  origin, limitation per visit type, waiting periods, quantity limits and ceiling
  exclusions (DOMAIN.md §3.2).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from .policy_dates import ProductPeriods, StartCycle, fhir_date
from .policy_value import ProductPricing

Json = dict[str, Any]

SD = "https://openimis.org/fhir/StructureDefinition/"
ITEM_SYSTEM = "https://openimis.org/fhir/medical-item-code"
SERVICE_SYSTEM = "https://openimis.org/fhir/medical-service-code"

#: Service categories with a count and an amount limit (DOMAIN.md §3.3, §4.1); V visits count only.
CATEGORIES = ("consultation", "surgery", "delivery", "hospitalization", "antenatal", "visit")
#: service-category code (``CodeSystem/service-category``) → the category name of the limits.
CATEGORY_OF_SERVICE = {
    "C": "consultation",
    "S": "surgery",
    "D": "delivery",
    "H": "hospitalization",
    "A": "antenatal",
    "V": "visit",
}


class ProductError(ValueError):
    """The InsurancePlan cannot be read as a product; ``expression`` points at the element."""

    def __init__(self, message: str, expression: str) -> None:
        super().__init__(message)
        self.expression = expression


@dataclass(frozen=True)
class Limitation:
    """How the insurer pays one item or service for one visit type (DOMAIN.md §3.2).

    ``kind`` C co-insurance (``adult``/``child`` are the percentage the insurer pays) or
    F fixed amount (the maximum the insurer pays per unit).
    """

    kind: str
    adult: Decimal | None = None
    child: Decimal | None = None

    def limit(self, adult: bool) -> Decimal | None:
        return self.adult if adult else self.child


@dataclass(frozen=True)
class CoveredItem:
    """One ``product-covered-item``: an item (``kind`` "item") or service ("service") the product covers."""

    kind: str
    code: str
    reference: str | None = None
    price_origin: str = "P"
    normal: Limitation | None = None
    emergency: Limitation | None = None
    referral: Limitation | None = None
    waiting_period_adult: int = 0
    waiting_period_child: int = 0
    quantity_limit_adult: Decimal | None = None
    quantity_limit_child: Decimal | None = None
    ceiling_exclusion_adult: str | None = None
    ceiling_exclusion_child: str | None = None

    def waiting_period(self, adult: bool) -> int:
        return self.waiting_period_adult if adult else self.waiting_period_child

    def quantity_limit(self, adult: bool) -> Decimal | None:
        return self.quantity_limit_adult if adult else self.quantity_limit_child

    def ceiling_exclusion(self, adult: bool) -> str | None:
        return self.ceiling_exclusion_adult if adult else self.ceiling_exclusion_child

    def limitation(self, visit_type: str | None) -> Limitation | None:
        """The limitation for a claim's visit type: E emergency, R referral, otherwise normal."""
        if visit_type == "E":
            return self.emergency or self.normal
        if visit_type == "R":
            return self.referral or self.normal
        return self.normal


@dataclass(frozen=True)
class AmountLimit:
    """A deductible or ceiling (DOMAIN.md §3.3); ceilings may grow per extra member up to a maximum."""

    amount: Decimal
    extra_member: Decimal | None = None
    maximum: Decimal | None = None


@dataclass(frozen=True)
class Product:
    id: str | None
    code: str
    name: str
    currency: str
    date_from: date | None
    date_to: date | None
    location: str | None
    pricing: ProductPricing
    periods: ProductPeriods
    max_installments: int | None = None
    conversion: str | None = None
    ceiling_interpretation: str = "I"
    #: ``deductible-ceiling-kind`` code (e.g. ``ded-g-policy``, ``max-ip-insuree``) → amount
    amounts: Mapping[str, AmountLimit] = field(default_factory=dict)
    #: category (``CATEGORIES``) → maximum number of claims per policy period
    max_counts: Mapping[str, int] = field(default_factory=dict)
    #: category → maximum remunerated amount per policy period
    max_amounts: Mapping[str, Decimal] = field(default_factory=dict)
    #: ("item" | "service", code) → what the product covers of it
    covered: Mapping[tuple[str, str], CoveredItem] = field(default_factory=dict)

    def covers(self, kind: str, code: str) -> CoveredItem | None:
        return self.covered.get((kind, code))

    def amount(self, kind: str) -> AmountLimit | None:
        return self.amounts.get(kind)

    def sold_on(self, day: date) -> bool:
        """Whether the product can be sold on ``day`` (its validity period)."""
        return (self.date_from is None or self.date_from <= day) and (
            self.date_to is None or day <= self.date_to
        )


def _ext(element: Json, name: str) -> list[tuple[int, Json]]:
    url = SD + name
    return [
        (i, e)
        for i, e in enumerate(element.get("extension") or [])
        if isinstance(e, dict) and e.get("url") == url
    ]


def _sub(ext: Json, url: str) -> Any:
    for part in ext.get("extension") or []:
        if isinstance(part, dict) and part.get("url") == url:
            for key, value in part.items():
                if key.startswith("value"):
                    return value
    return None


def _code(concept: Any) -> str | None:
    if isinstance(concept, dict):
        for coding in concept.get("coding") or []:
            if isinstance(coding, dict) and isinstance(coding.get("code"), str):
                return str(coding["code"])
    return None


def _decimal(value: Any, expression: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, Decimal, float, str)):
        raise ProductError(f"{expression} must be a number", expression)
    try:
        out = Decimal(str(value))
    except ArithmeticError:
        raise ProductError(f"{expression} must be a number", expression) from None
    if not out.is_finite() or out < 0:
        raise ProductError(f"{expression} must be a finite number, not negative", expression)
    return out


def _money(value: Any, expression: str) -> Decimal:
    if not isinstance(value, dict):
        raise ProductError(f"{expression} must be a Money", expression)
    return _decimal(value.get("value"), f"{expression}.value")


def _int(value: Any, expression: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ProductError(f"{expression} must be a whole number, not negative", expression)
    return value


def product_code(plan: Json) -> str | None:
    for ident in plan.get("identifier") or []:
        if (
            isinstance(ident, dict)
            and _code(ident.get("type")) == "Code"
            and isinstance(ident.get("value"), str)
        ):
            return str(ident["value"])
    for ident in plan.get("identifier") or []:
        if isinstance(ident, dict) and isinstance(ident.get("value"), str):
            return str(ident["value"])
    return None


_COSTS = {
    "lumpsum": "lump_sum",
    "premiumAdult": "premium_adult",
    "premiumChild": "premium_child",
    "registrationLumpsum": "registration_lump_sum",
    "registrationFee": "registration_fee",
    "generalAssemblyLumpSum": "general_assembly_lump_sum",
    "generalAssemblyFee": "general_assembly_fee",
}
_PERIODS = {
    "administration": "administration_period",
    "grace-enrolment": "grace_period_enrolment",
    "grace-renewal": "grace_period_renewal",
    "grace-payment": "grace_period_payment",
}


def _pricing(plan: Json, max_members: int, has_cycles: bool) -> tuple[ProductPricing, str]:
    values: dict[str, Any] = {"max_members": max_members, "has_cycles": has_cycles}
    currency = ""
    for p, planned in enumerate(plan.get("plan") or []):
        if not isinstance(planned, dict):
            continue
        for c, cost in enumerate(planned.get("generalCost") or []):
            where = f"InsurancePlan.plan[{p}].generalCost[{c}]"
            kind = _code(cost.get("type")) if isinstance(cost, dict) else None
            if kind not in _COSTS:
                continue
            values[_COSTS[kind]] = _money(cost.get("cost"), f"{where}.cost")
            currency = currency or str((cost.get("cost") or {}).get("currency") or "")
            if kind == "lumpsum" and cost.get("groupSize") is not None:
                values["threshold"] = _int(cost.get("groupSize"), f"{where}.groupSize")
    for i, ext in _ext(plan, "product-discount"):
        where = f"InsurancePlan.extension[{i}]"
        kind = _code(_sub(ext, "kind"))
        if kind not in ("enrolment", "renewal"):
            raise ProductError("product-discount kind must be enrolment or renewal", where)
        values[f"{kind}_discount_perc"] = _decimal(_sub(ext, "percentage"), f"{where}.percentage")
        values[f"{kind}_discount_period"] = _int(_sub(ext, "months") or 0, f"{where}.months")
    try:
        return ProductPricing(**values), currency
    except ValueError as e:
        raise ProductError(str(e), "InsurancePlan.plan") from None


def _limits(plan: Json) -> tuple[int | None, int]:
    period: int | None = None
    members = 0
    for c, coverage in enumerate(plan.get("coverage") or []):
        for b, benefit in enumerate((coverage or {}).get("benefit") or []):
            for n, limit in enumerate((benefit or {}).get("limit") or []):
                where = f"InsurancePlan.coverage[{c}].benefit[{b}].limit[{n}].value.value"
                value = ((limit or {}).get("value") or {}).get("value")
                kind = _code((limit or {}).get("code"))
                if kind == "period":
                    period = _int(value, where)
                elif kind == "memberCount":
                    members = _int(value, where)
    return period, members


def _periods(plan: Json, insurance_period: int | None) -> ProductPeriods:
    if not insurance_period:
        raise ProductError(
            "The product needs its insurance period: a coverage.benefit.limit coded 'period' (months)",
            "InsurancePlan.coverage.benefit.limit",
        )
    cycles: list[StartCycle] = []
    for i, ext in _ext(plan, "product-start-cycle"):
        try:
            cycles.append(StartCycle.parse(str(ext.get("valueString"))))
        except ValueError as e:
            raise ProductError(str(e), f"InsurancePlan.extension[{i}].value") from None
    values: dict[str, int] = {}
    for i, ext in _ext(plan, "product-period"):
        kind = _code(_sub(ext, "kind"))
        if kind in _PERIODS:
            values[_PERIODS[kind]] = _int(_sub(ext, "months") or 0, f"InsurancePlan.extension[{i}].months")
    try:
        return ProductPeriods(insurance_period=insurance_period, start_cycles=tuple(cycles), **values)
    except ValueError as e:
        raise ProductError(str(e), "InsurancePlan.extension") from None


def _limitation(ext: Json, suffix: str, where: str) -> Limitation | None:
    kind = _code(_sub(ext, f"limitationType{suffix}"))
    if kind is None:
        return None
    adult, child = _sub(ext, f"limitAdult{suffix}"), _sub(ext, f"limitChild{suffix}")
    return Limitation(
        kind,
        None if adult is None else _decimal(adult, f"{where}.limitAdult{suffix}"),
        None if child is None else _decimal(child, f"{where}.limitChild{suffix}"),
    )


def _covered(plan: Json) -> dict[tuple[str, str], CoveredItem]:
    out: dict[tuple[str, str], CoveredItem] = {}
    for c, coverage in enumerate(plan.get("coverage") or []):
        if not isinstance(coverage, dict):
            continue
        for i, ext in _ext(coverage, "product-covered-item"):
            where = f"InsurancePlan.coverage[{c}].extension[{i}]"
            coding = _sub(ext, "code")
            if not isinstance(coding, dict) or not isinstance(coding.get("code"), str):
                raise ProductError("A covered item needs its code (valueCoding)", f"{where}.code")
            system = coding.get("system")
            kind = "item" if system == ITEM_SYSTEM else "service" if system == SERVICE_SYSTEM else None
            if kind is None:
                raise ProductError(
                    f"A covered item's code system must be {ITEM_SYSTEM} or {SERVICE_SYSTEM}",
                    f"{where}.code",
                )
            ref = _sub(ext, "reference")
            qa, qc = _sub(ext, "quantityLimitAdult"), _sub(ext, "quantityLimitChild")
            out[(kind, coding["code"])] = CoveredItem(
                kind=kind,
                code=coding["code"],
                reference=ref.get("reference") if isinstance(ref, dict) else None,
                price_origin=_code(_sub(ext, "priceOrigin")) or "P",
                normal=_limitation(ext, "", where),
                emergency=_limitation(ext, "Emergency", where),
                referral=_limitation(ext, "Referral", where),
                waiting_period_adult=_int(
                    _sub(ext, "waitingPeriodAdult") or 0, f"{where}.waitingPeriodAdult"
                ),
                waiting_period_child=_int(
                    _sub(ext, "waitingPeriodChild") or 0, f"{where}.waitingPeriodChild"
                ),
                quantity_limit_adult=None if qa is None else _decimal(qa, f"{where}.quantityLimitAdult"),
                quantity_limit_child=None if qc is None else _decimal(qc, f"{where}.quantityLimitChild"),
                ceiling_exclusion_adult=_code(_sub(ext, "ceilingExclusionAdult")),
                ceiling_exclusion_child=_code(_sub(ext, "ceilingExclusionChild")),
            )
    return out


def product_from_plan(plan: Json) -> Product:
    """Read ``plan`` (an InsurancePlan claiming our product profile) as a :class:`Product`."""
    code = product_code(plan)
    if code is None:
        raise ProductError("The product has no code identifier", "InsurancePlan.identifier")
    insurance_period, max_members = _limits(plan)
    periods = _periods(plan, insurance_period)
    pricing, currency = _pricing(plan, max_members, periods.has_cycles)
    amounts: dict[str, AmountLimit] = {}
    for i, ext in _ext(plan, "product-deductible-ceiling"):
        where = f"InsurancePlan.extension[{i}]"
        kind = _code(_sub(ext, "kind"))
        if kind is None:
            raise ProductError("product-deductible-ceiling needs its kind", f"{where}.kind")
        extra, maximum = _sub(ext, "extraMember"), _sub(ext, "maximum")
        amounts[kind] = AmountLimit(
            _money(_sub(ext, "amount"), f"{where}.amount"),
            None if extra is None else _money(extra, f"{where}.extraMember"),
            None if maximum is None else _money(maximum, f"{where}.maximum"),
        )
        currency = currency or str((_sub(ext, "amount") or {}).get("currency") or "")
    counts: dict[str, int] = {}
    money: dict[str, Decimal] = {}
    for i, ext in _ext(plan, "product-category-limit"):
        where = f"InsurancePlan.extension[{i}].value"
        kind = _code(_sub(ext, "kind")) or ""
        measure, _, category = kind.partition("-")
        if category not in CATEGORIES:
            raise ProductError(f"Unknown category limit kind '{kind}'", f"InsurancePlan.extension[{i}].kind")
        if measure == "count":
            counts[category] = _int(_sub(ext, "value"), where)
        else:
            money[category] = _money(_sub(ext, "value"), where)
    installments = _ext(plan, "product-max-installments")
    conversion = _ext(plan, "product-conversion")
    interpretation = _ext(plan, "product-ceiling-interpretation")
    period = plan.get("period") or {}
    area = [a for a in plan.get("coverageArea") or [] if isinstance(a, dict)]
    return Product(
        id=plan.get("id") if isinstance(plan.get("id"), str) else None,
        code=code,
        name=str(plan.get("name") or code),
        currency=currency,
        date_from=fhir_date(period.get("start")),
        date_to=fhir_date(period.get("end")),
        location=area[0].get("reference") if area else None,
        pricing=pricing,
        periods=periods,
        max_installments=installments[0][1].get("valueUnsignedInt") if installments else None,
        conversion=((conversion[0][1].get("valueReference") or {}).get("reference") if conversion else None),
        ceiling_interpretation=(_code(interpretation[0][1].get("valueCodeableConcept")) or "I")
        if interpretation
        else "I",
        amounts=amounts,
        max_counts=counts,
        max_amounts=money,
        covered=_covered(plan),
    )
