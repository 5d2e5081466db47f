"""Premiums (contributions): a ``PaymentNotice`` claiming our ``premium`` profile (DOMAIN.md §5.4).

A premium references its policy (``request`` = ``Coverage/<id>``) and carries its
receipt (identifier system ``https://openimis.org/fhir/premium-receipt``), amount, pay
date, pay type and payer. Recording one (``POST PaymentNotice`` or ``$record-premium``)
runs, in the unit of work of the write:

1. the policy must exist (else 422 ``unknown-policy``; ``$record-premium`` on an unknown
   Coverage answers 404);
2. the receipt is unique among the premiums of the same product (openIMIS's rule); the
   same receipt again for the same policy, amount and pay date is a retry: nothing is
   stored and the existing premium is returned (200) — an offline app that retries does
   not pay twice; the same receipt for a different payment is refused (422
   ``duplicate-receipt``, openIMIS's upload error -4);
3. ``insurance/contributions.py::record_contribution`` decides the policy's new status
   and effective date from its value, the previous premiums and the activation option
   (``FHIR_POLICY_ACTIVATION``); the members' coverage dates follow (§5.4); the policy is
   written in the same unit of work.

A recorded premium's amount, policy, receipt and pay date cannot change (422
``premium-immutable``: cancel it, ``status`` cancelled, and record another); a cancelled
premium no longer counts towards later decisions.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from .. import fhirjson
from ..errors import BusinessRuleError
from ..insurance.contributions import (
    ActivationOption,
    ContributionDecision,
    Payment,
    PolicyState,
    member_effective_date,
    record_contribution,
)
from ..server import Server
from ..storage.protocol import Transaction
from . import fhir, policy
from .hooks import Existing, WriteEvent, warn

Json = dict[str, Any]

PROFILE = "premium"
RECEIPT = "https://openimis.org/fhir/premium-receipt"


def is_premium(resource: Json) -> bool:
    if fhir.claims(resource, PROFILE):
        return True
    return any(isinstance(i, dict) and i.get("system") == RECEIPT for i in resource.get("identifier") or [])


def receipt_of(resource: Json) -> str | None:
    for i in resource.get("identifier") or []:
        if isinstance(i, dict) and i.get("system") == RECEIPT and isinstance(i.get("value"), str):
            return str(i["value"])
    return None


def amount_of(resource: Json) -> Decimal | None:
    amount = (resource.get("amount") or {}).get("value")
    if amount is None or isinstance(amount, bool):
        return None
    try:
        return Decimal(str(amount))
    except ArithmeticError:
        return None


def payment_of(resource: Json) -> Payment | None:
    amount, day = amount_of(resource), fhir.as_date(resource.get("paymentDate"))
    if amount is None or day is None:
        return None
    category = fhir.code(fhir.value(resource, "contribution-category"))
    return Payment(amount, day, is_photo_fee=category == "P")


def counts(resource: Json) -> bool:
    """Whether a stored premium counts: not cancelled, not entered in error."""
    return resource.get("status") not in ("cancelled", "entered-in-error")


async def premiums_of(server: Server, tx: Transaction, policy_id: str) -> list[Json]:
    found = await fhir.search(server, tx, "PaymentNotice", [("request", f"Coverage/{policy_id}")])
    return [p for p in found if is_premium(p) and counts(p)]


async def refresh_members(
    server: Server, tx: Transaction, updated: Json, recording: Payment | None = None
) -> None:
    """Align the members' coverage dates of ``updated`` (a policy) and write it (§5.4).

    Founding members are covered from the policy's effective date to its expiry; a member
    who joined a paid policy from the pay date of the premium that covers the value
    recomputed with them (``member_effective_date``); nobody is covered while the policy
    has no effective date. ``recording``: the premium being written (not searchable yet)."""
    policy_id = str(updated["id"])
    effective = fhir.as_date(fhir.value(updated, "policy-effective-date"))
    end = policy.period_of(updated)[1]
    value = amount_of({"amount": fhir.value(updated, "policy-value") or {}}) or Decimal(0)
    payments = [p for p in (payment_of(x) for x in await premiums_of(server, tx, policy_id)) if p is not None]
    if recording is not None:
        payments.append(recording)
    entries = policy.members_of(updated)
    for entry in entries:
        left = entry.expiry is not None and (end is None or entry.expiry < end)
        if effective is None:
            entry.effective = None
        elif entry.joined is None:
            entry.effective = effective
        else:
            entry.effective = member_effective_date(effective, value, payments, entry.joined).effective_date
        if not left:
            entry.expiry = end if entry.effective is not None else None
    policy.set_members(updated, entries)
    await write_policy(server, tx, updated)


async def write_policy(server: Server, tx: Transaction, updated: Json) -> None:
    from ..interactions.resources import prepare, write

    policy_id = str(updated["id"])
    current = await tx.read("Coverage", policy_id)
    prepared = prepare(server, updated, "Coverage")
    await write(server, tx, prepared, "Coverage", policy_id, current, "PUT", hooks=False)


def _decide(
    server: Server, policy_json: Json, previous: list[Payment], payment: Payment
) -> ContributionDecision:
    value = amount_of({"amount": fhir.value(policy_json, "policy-value") or {}}) or Decimal(0)
    start = policy.period_of(policy_json)[0] or payment.pay_date
    state = PolicyState(
        value=value,
        start_date=start,
        status=policy.status_of(policy_json),
        effective_date=fhir.as_date(fhir.value(policy_json, "policy-effective-date")),
    )
    try:
        option = ActivationOption(server.settings.policy_activation)
    except ValueError:
        option = ActivationOption.CONTRIBUTION
    return record_contribution(state, previous, payment, option)


MESSAGES = {
    "paid-exact": "The contributions now equal the policy value: the policy is paid",
    "paid-over": "The contributions exceed the policy value: the policy is paid (over-payment)",
    "partial-payment": "A partial payment: the policy stays as it was until the value is covered",
    "already-paid": "The policy was already paid: this premium changes nothing",
    "policy-expired": "The policy has expired: a premium does not re-activate it",
    "photo-fee": "A photo fee does not count towards the policy value",
}


async def on_write(event: WriteEvent) -> Json | None:
    """The PaymentNotice write hook."""
    resource = event.resource
    if resource is None:
        _check_delete(event)
        return None
    if not is_premium(resource):
        return resource
    tx, server = event.tx, event.server
    policy_id = fhir.ref_id(resource.get("request"), "Coverage")
    found = await fhir.read_json(tx, "Coverage", policy_id) if policy_id else None
    if policy_id is None or found is None or not policy.is_policy(found[1]):
        raise BusinessRuleError(
            f"The premium's policy {resource.get('request')!r} is not a known policy (Coverage)",
            "PaymentNotice.request",
            reason="unknown-policy",
        )
    policy_json = found[1]
    receipt = receipt_of(resource)
    if not receipt:
        raise BusinessRuleError(
            f"A premium needs its receipt number (identifier with system {RECEIPT})",
            "PaymentNotice.identifier",
            reason="receipt-required",
        )
    payment = payment_of(resource)
    if payment is None or payment.amount <= 0:
        raise BusinessRuleError(
            "A premium needs a positive amount and its payment date",
            "PaymentNotice.amount" if payment is None or payment.amount <= 0 else "PaymentNotice.paymentDate",
            reason="premium-amount",
        )
    if event.current is not None and not event.current.deleted:
        return _update(fhirjson.loads(event.current.body), resource)
    await _check_receipt(server, tx, event.id, resource, receipt, policy_id, policy_json, payment)
    previous_json = [p for p in await premiums_of(server, tx, policy_id) if p.get("id") != event.id]
    previous = [p for p in (payment_of(x) for x in previous_json) if p is not None]
    product_ref = fhir.value(policy_json, "policy-product")
    _, _, product = await policy.load_product(tx, product_ref, "PaymentNotice.request")
    if product.max_installments and len(previous) + 1 > product.max_installments:
        warn(
            f"This is premium {len(previous) + 1} of the policy; "
            f"the product allows {product.max_installments}",
            "PaymentNotice",
            reason="max-installments",
        )
    decision = _decide(server, policy_json, previous, payment)
    warn(MESSAGES.get(decision.reason, decision.reason), "PaymentNotice.amount", reason=decision.reason)
    for w in decision.warnings:
        warn(f"{w}: paid {decision.paid_total}, value {decision.paid_total - decision.overpaid}", None, w)
    updated = dict(policy_json)
    policy.set_status(updated, decision.status)
    effective = decision.effective_date.isoformat() if decision.effective_date else None
    fhir.set_value(updated, "policy-effective-date", "Date", effective)
    await refresh_members(server, tx, updated, payment)
    return resource


def _check_delete(event: WriteEvent) -> None:
    if event.current is None or event.current.deleted:
        return
    current = fhirjson.loads(event.current.body)
    if is_premium(current) and counts(current):
        raise BusinessRuleError(
            f"PaymentNotice/{event.id} is a recorded premium: cancel it (status cancelled) instead of "
            "deleting it, so the policy's history stays whole",
            "PaymentNotice",
            reason="premium-delete",
            status=409,
            issue_code="conflict",
        )


def _same_payment(other: Json, policy_id: str, payment: Payment) -> bool:
    return (
        fhir.ref_id(other.get("request"), "Coverage") == policy_id
        and payment_of(other) == payment
    )


async def _check_receipt(
    server: Server,
    tx: Transaction,
    own_id: str,
    resource: Json,
    receipt: str,
    policy_id: str,
    policy_json: Json,
    payment: Payment,
) -> None:
    product = fhir.ref_id(fhir.value(policy_json, "policy-product"), "InsurancePlan")
    for other in await fhir.search(server, tx, "PaymentNotice", [("receipt", f"{RECEIPT}|{receipt}")]):
        if other.get("id") == own_id or not counts(other):
            continue
        other_policy = fhir.ref_id(other.get("request"), "Coverage")
        if other_policy == policy_id and _same_payment(other, policy_id, payment):
            raise Existing(
                "PaymentNotice",
                str(other["id"]),
                f"Receipt {receipt} is already recorded for this policy (PaymentNotice/{other['id']}): "
                "nothing was recorded again",
            )
        found = await fhir.read_json(tx, "Coverage", other_policy) if other_policy else None
        other_product = (
            fhir.ref_id(fhir.value(found[1], "policy-product"), "InsurancePlan") if found else None
        )
        if other_policy == policy_id or other_product == product:
            raise BusinessRuleError(
                f"Receipt {receipt} is already used by PaymentNotice/{other['id']} for the same product "
                "with a different payment",
                "PaymentNotice.identifier",
                reason="duplicate-receipt",
                issue_code="duplicate",
            )


def _update(current: Json, resource: Json) -> Json:
    fixed = ("request", "amount", "paymentDate")
    changed = any(_plain(current.get(k)) != _plain(resource.get(k)) for k in fixed)
    if changed or receipt_of(current) != receipt_of(resource):
        raise BusinessRuleError(
            "A recorded premium's policy, amount, pay date and receipt cannot change: cancel it "
            "(status cancelled) and record another",
            "PaymentNotice",
            reason="premium-immutable",
        )
    return resource


def _plain(v: Any) -> Any:
    if isinstance(v, dict):
        if "value" in v:
            return str(Decimal(str(v["value"]))), v.get("currency")
        return v.get("reference")
    return v


def register(server: Server) -> None:
    server.write_hooks.register("PaymentNotice", on_write)
