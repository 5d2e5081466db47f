"""``$renew``: renew a policy (DOMAIN.md §5.5): ``POST [base]/Coverage/[id]/$renew``.

Creates the next policy of the family: stage R, ``policy-previous`` = this policy, the
product's conversion product when it has one (following the chain), else the same
product; the policy service then dates it (§5.2 with the renewal grace, starting after
the previous expiry) and values it (§5.3: no registration fee, the renewal discount when
renewed early enough). Optional ``Parameters``: ``enrolDate`` (default today), ``product``
(Reference(InsurancePlan), instead of the conversion), ``officer`` (Reference). Refused
(422 ``already-renewed``) when the family already has a policy of the same (or the
conversion) product starting after this one's expiry. Answer: 201 with ``Parameters``
``policy`` (the new Coverage) and ``outcome``.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

from .. import clock, fhirjson
from ..errors import BusinessRuleError, InvalidError, Issue
from ..interactions.bundles import outcome
from ..interactions.create import create_in
from ..interactions.resources import prepare
from ..interactions.retry import with_retries
from ..scheme import fhir, policy
from ..server import Server
from ..storage.protocol import Transaction
from .parameters import OperationParameters
from .registry import OperationAnswer, OperationCall

Json = dict[str, Any]
NAME = "$renew"


async def conversion_of(tx: Transaction, plan_id: str) -> str:
    """The end of the product's conversion chain (§5.5 "new product = conversion-product chain end")."""
    seen = {plan_id}
    current = plan_id
    while True:
        found = await fhir.read_json(tx, "InsurancePlan", current)
        nxt = fhir.ref_id(fhir.value(found[1], "product-conversion"), "InsurancePlan") if found else None
        if nxt is None or nxt in seen:
            return current
        seen.add(nxt)
        current = nxt


def renewal(current: Json, policy_id: str, plan_id: str, enrol: date, officer: Any) -> Json:
    ext: list[Json] = [
        {"url": fhir.url("policy-product"), "valueReference": {"reference": f"InsurancePlan/{plan_id}"}},
        {"url": fhir.url("policy-enrol-date"), "valueDate": enrol.isoformat()},
        {
            "url": fhir.url("policy-stage"),
            "valueCodeableConcept": fhir.concept("policy-stage", "R", "Renewed"),
        },
        {"url": fhir.url("policy-previous"), "valueReference": {"reference": f"Coverage/{policy_id}"}},
    ]
    family = fhir.value(current, "policy-family")
    if family is not None:
        ext.append({"url": fhir.url("policy-family"), "valueReference": family})
    officer = officer if officer is not None else fhir.value(current, "policy-officer")
    if officer is not None:
        ext.append({"url": fhir.url("policy-officer"), "valueReference": officer})
    beneficiary = current.get("beneficiary") or {}
    return {
        "resourceType": "Coverage",
        "meta": {"profile": [fhir.url("policy")]},
        "extension": ext,
        "status": "draft",
        "beneficiary": beneficiary,
        "payor": current.get("payor") or [beneficiary],
    }


async def _check_not_renewed(server: Server, tx: Transaction, current: Json, plan_ids: set[str]) -> None:
    family = fhir.ref_id(fhir.value(current, "policy-family"), "Group")
    end = policy.period_of(current)[1]
    if family is None or end is None:
        return
    for other in await policy.family_policies(server, tx, family):
        start = policy.period_of(other)[0]
        product = fhir.ref_id(fhir.value(other, "policy-product"), "InsurancePlan")
        if start is not None and start >= end + timedelta(days=1) and product in plan_ids:
            raise BusinessRuleError(
                f"The family already has the following policy Coverage/{other['id']} (from {start})",
                "Coverage",
                reason="already-renewed",
                status=422,
            )


async def renew(server: Server, call: OperationCall) -> OperationAnswer:
    policy_id = str(call.id)
    current = await policy.policy_or_404(server, policy_id)
    params = OperationParameters.from_body(NAME, call.body) if call.body is not None else None
    text = params.string("enrolDate") if params is not None else None
    try:
        enrol = date.fromisoformat(text) if text else clock.today()
    except ValueError:
        raise InvalidError(f"{NAME}: enrolDate '{text}' is not a date", "enrolDate") from None
    chosen = params.complex("product", "Reference") if params is not None else None
    officer = params.complex("officer", "Reference") if params is not None else None
    old_plan = fhir.ref_id(fhir.value(current, "policy-product"), "InsurancePlan")
    if old_plan is None:
        raise BusinessRuleError("The policy has no product", "Coverage.extension", reason="unknown-product")
    new_id = str(uuid.uuid4())

    async def unit(tx: Transaction) -> Any:
        converted = await conversion_of(tx, old_plan)
        plan_id = fhir.ref_id(chosen, "InsurancePlan") if chosen is not None else converted
        if plan_id is None:
            raise InvalidError(f"{NAME}: product must reference an InsurancePlan", "product")
        await _check_not_renewed(server, tx, current, {old_plan, converted, plan_id})
        resource = renewal(current, policy_id, plan_id, enrol, officer)
        return await create_in(server, tx, prepare(server, resource, "Coverage"), new_id)

    result = await with_retries(server, unit, if_match=None, what=f"the renewal of Coverage/{policy_id}")
    assert result.stored is not None
    issues = result.issues or [Issue("information", "informational", f"Coverage/{policy_id} was renewed")]
    body: Json = {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "policy", "resource": fhirjson.loads(result.stored.body)},
            {"name": "outcome", "resource": outcome(issues)},
        ],
    }
    return OperationAnswer(body, 201, {"Location": f"{server.base_url}/Coverage/{new_id}/_history/1"})


def register(server: Server) -> None:
    server.operations.add("Coverage", NAME, renew, levels=("instance",))
