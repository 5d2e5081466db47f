"""``$record-premium``: record a contribution on a policy (``POST [base]/Coverage/[id]/$record-premium``).

OperationDefinition: ``profiles/OperationDefinition-record-premium.json``. The premium is
stored as a PaymentNotice (our ``premium`` profile) through the normal create path, so
the premium service (``scheme/premium.py``) decides and moves the policy in the same
unit of work; a retry with the same receipt returns the recorded payment unchanged.
Answer: ``Parameters`` with ``payment``, ``policy`` and ``outcome``.
"""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from .. import clock, fhirjson
from ..errors import InvalidError, Issue
from ..interactions.bundles import outcome
from ..interactions.create import create_in
from ..interactions.profile_enforcement import enforce
from ..interactions.resources import prepare
from ..interactions.retry import with_retries
from ..scheme import fhir, policy
from ..scheme.premium import RECEIPT
from ..server import Server
from .parameters import OperationParameters
from .registry import OperationAnswer, OperationCall

Json = dict[str, Any]
NAME = "$record-premium"
PAY_TYPES = {"C": "Cash", "B": "Bank transfer", "M": "Mobile phone", "F": "Funding"}
CATEGORIES = {"C": "Contribution and others", "P": "Photo fee"}


def _amount(params: OperationParameters) -> Json:
    money = params.complex("amount", "Money")
    if money is None:
        raise InvalidError(f"{NAME} needs the amount paid (valueMoney)", "amount", issue_code="required")
    try:
        value = Decimal(str(money.get("value")))
    except (InvalidOperation, ValueError):
        value = Decimal(0)
    if not value.is_finite() or value <= 0:
        raise InvalidError(f"{NAME}: the amount must be a positive number", "amount", issue_code="value")
    out: Json = {"value": value}
    if isinstance(money.get("currency"), str):
        out["currency"] = money["currency"]
    return out


def _code(params: OperationParameters, name: str, allowed: dict[str, str], default: str | None) -> str:
    given = params.values.get(name) or []
    if len(given) == 1 and isinstance(given[0], str):  # valueCode
        c: str | None = given[0]
    else:
        coding = params.coding(name)
        c = coding.code if coding is not None else default
    if c is None:
        raise InvalidError(f"{NAME} needs {name}", name, issue_code="required")
    if c not in allowed:
        raise InvalidError(
            f"{NAME}: {name} '{c}' is not one of {', '.join(f'{k} ({v})' for k, v in allowed.items())}",
            name,
            issue_code="code-invalid",
        )
    return c


def _pay_date(params: OperationParameters) -> str:
    text = params.string("payDate")
    if text is None:
        raise InvalidError(f"{NAME} needs payDate", "payDate", issue_code="required")
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise InvalidError(f"{NAME}: payDate '{text}' is not a date (YYYY-MM-DD)", "payDate") from None
    if day > clock.today():
        raise InvalidError(f"{NAME}: payDate {text} is in the future", "payDate", issue_code="value")
    return day.isoformat()


def premium_notice(policy_id: str, plan: Json | None, params: OperationParameters) -> Json:
    amount = _amount(params)
    pay_date = _pay_date(params)
    pay_type = _code(params, "payType", PAY_TYPES, None)
    category = _code(params, "category", CATEGORIES, "C")
    receipt = params.string("receipt")
    if receipt is None:
        raise InvalidError(f"{NAME} needs the receipt number", "receipt", issue_code="required")
    payer = params.complex("payer", "Reference")
    ext: list[Json] = [
        {
            "url": fhir.url("contribution-pay-type"),
            "valueCodeableConcept": fhir.concept("contribution-pay-type", pay_type, PAY_TYPES[pay_type]),
        },
        {
            "url": fhir.url("contribution-category"),
            "valueCodeableConcept": fhir.concept("contribution-category", category, CATEGORIES[category]),
        },
    ]
    if payer is not None:
        ext.append({"url": fhir.url("contribution-payer"), "valueReference": payer})
    recipient = (plan or {}).get("ownedBy") or (plan or {}).get("administeredBy") or {"display": "The scheme"}
    return {
        "resourceType": "PaymentNotice",
        "meta": {"profile": [fhir.url("premium")]},
        "extension": ext,
        "identifier": [{"system": RECEIPT, "value": receipt}],
        "status": "active",
        "request": {"reference": f"Coverage/{policy_id}"},
        "created": clock.instant(clock.now_us()),
        "payment": {"identifier": {"system": RECEIPT, "value": receipt}},
        "paymentDate": pay_date,
        "recipient": recipient,
        "amount": amount,
    }


async def record_premium(server: Server, call: OperationCall) -> OperationAnswer:
    policy_id = str(call.id)
    current = await policy.policy_or_404(server, policy_id)
    params = OperationParameters.from_body(NAME, call.body)
    plan_id = fhir.ref_id(fhir.value(current, "policy-product"), "InsurancePlan")
    plan_stored = await server.store.read("InsurancePlan", plan_id) if plan_id else None
    plan = fhirjson.loads(plan_stored.body) if plan_stored is not None and not plan_stored.deleted else None
    notice = premium_notice(policy_id, plan, params)
    prepared = prepare(server, notice, "PaymentNotice")
    await enforce(server, notice)
    new_id = str(uuid.uuid4())
    result = await with_retries(
        server,
        lambda tx: create_in(server, tx, prepared, new_id),
        if_match=None,
        what=f"Coverage/{policy_id}",
    )
    assert result.stored is not None
    after = await server.store.read("Coverage", policy_id)
    assert after is not None
    issues = result.issues or [Issue("information", "informational", "The premium was recorded")]
    body: Json = {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "payment", "resource": fhirjson.loads(result.stored.body)},
            {"name": "policy", "resource": fhirjson.loads(after.body)},
            {"name": "outcome", "resource": outcome(issues)},
        ],
    }
    return OperationAnswer(body, 200)


def register(server: Server) -> None:
    server.operations.add("Coverage", NAME, record_premium, levels=("instance",))
