"""``POST [base]/CoverageEligibilityRequest/$submit``: eligibility (DOMAIN.md §4), stored.

R4 defines ``$submit`` for Claim only (operation-claim-submit.html: "The only input
parameter is the single Claim or Bundle resource and the only output is a single
ClaimResponse ... or an OperationOutcome resource"); CoverageEligibilityRequest says it is
"used ... to request information about a coverage" and its response "provides eligibility
and plan details" (coverageeligibilityrequest.html, coverageeligibilityresponse.html). We
follow Claim/$submit: the request in (the body, or a ``Parameters`` part ``resource``), the
``CoverageEligibilityResponse`` out with 200 (operations.html: the response of an operation
with a single resource out parameter is that resource). Definition:
``profiles/OperationDefinition-eligibility-submit.json``.

Steps: read and check the request (400 for malformed input with the FHIRPath of the
element, 422 when it breaks the ``eligibility-request`` profile); fill what mobile apps
leave out (``status`` active, ``purpose`` benefits, ``created`` now, ``insurer``,
``servicedDate`` today); load insuree → family → policies → products → ledgers
(``scheme/eligibility.py``); decide (``insurance/eligibility.py``, pure); build the response
(``eligibility-response`` profile; built by this module, it is not validated again on each
request: the API tests validate every shape); store the request and the response in one
unit of work.

The response fixes openIMIS's defects (§9 note 3): item and service answers are not swapped
(``item_left``/``min_date_item`` for items, ``service_left``/``min_date_service`` for
services, ``excluded`` from the item's own decision) and category amounts are reduced by
what was remunerated. Benefits carry ``allowed`` (the limit; absent: unlimited) and ``used``
(consumed so far); left = allowed − used, never below 0.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from .. import clock
from ..context import RequestContext
from ..errors import InvalidError
from ..insurance.eligibility import (
    REASONS,
    CategoryDecision,
    Eligibility,
    ItemDecision,
    Limit,
    PolicyDecision,
    Requested,
    eligibility,
)
from ..insurance.product import CATEGORY_OF_SERVICE, ITEM_SYSTEM, SERVICE_SYSTEM
from ..interactions.profile_enforcement import enforce
from ..interactions.resources import Prepared, prepare, write
from ..scheme import eligibility as loading
from ..server import Server
from .registry import OperationAnswer, OperationCall

Json = dict[str, Any]

SD = "https://openimis.org/fhir/StructureDefinition/"
REQUEST_PROFILE = SD + "eligibility-request"
RESPONSE_PROFILE = SD + "eligibility-response"
REASON_URL = SD + "eligibility-reason"
CATEGORY_SYSTEM = "https://openimis.org/fhir/CodeSystem/coverage-item-category"
BENEFIT_SYSTEM = "https://openimis.org/fhir/CodeSystem/coverage-item-benefit-type"
REASON_SYSTEM = "https://openimis.org/fhir/CodeSystem/eligibility-reason"
SERVICE_CATEGORY_SYSTEM = "https://openimis.org/fhir/CodeSystem/service-category"
DEFAULT_INSURER = {"display": "openIMIS"}
_SYSTEM_KIND = {ITEM_SYSTEM: "item", SERVICE_SYSTEM: "service"}
_CODE_OF_CATEGORY = {name: code for code, name in CATEGORY_OF_SERVICE.items()}
#: category → (count benefit, amount benefit)
_CATEGORY_BENEFITS = {
    "consultation": ("consultations_left", "consultation_amount"),
    "surgery": ("surgeries_left", "surgery_amount"),
    "delivery": ("deliveries_left", "delivery_amount"),
    "hospitalization": ("admissions_left", "hospitalization_amount"),
    "antenatal": ("antenatal_left", "antenatal_amount"),
    "visit": ("visits_left", None),
}
_AMOUNT_BENEFITS = {
    ("ded", "g"): "total_deduction",
    ("ded", "ip"): "hospital_deduction",
    ("ded", "op"): "non_hospital_deduction",
    ("max", "g"): "total_ceiling",
    ("max", "ip"): "hospital_ceiling",
    ("max", "op"): "non_hospital_ceiling",
}
WHERE = "CoverageEligibilityRequest"


# -- the request ----------------------------------------------------------------------------


def _request_of(body: Any) -> Json:
    if isinstance(body, dict) and body.get("resourceType") == "Parameters":
        found = [
            p.get("resource")
            for p in body.get("parameter") or ()
            if isinstance(p, dict) and p.get("name") == "resource"
        ]
        if len(found) != 1:
            raise InvalidError(
                "$submit takes one parameter 'resource': the CoverageEligibilityRequest",
                "Parameters.parameter",
                issue_code="required",
            )
        body = found[0]
    if not isinstance(body, dict) or body.get("resourceType") != "CoverageEligibilityRequest":
        raise InvalidError(
            "$submit expects a CoverageEligibilityRequest (the body, or a Parameters part 'resource')",
            "resourceType",
        )
    return dict(body)


def _with_defaults(request: Json, now: str) -> Json:
    request.pop("id", None)
    meta = dict(request.get("meta") or {})
    meta.pop("versionId", None)
    meta.pop("lastUpdated", None)
    profiles = list(meta.get("profile") or [])
    if REQUEST_PROFILE not in profiles:
        profiles.append(REQUEST_PROFILE)
    meta["profile"] = profiles
    request["meta"] = meta
    request.setdefault("status", "active")
    request.setdefault("purpose", ["benefits"])
    request.setdefault("created", now)
    request.setdefault("insurer", DEFAULT_INSURER)
    if "servicedDate" not in request and "servicedPeriod" not in request:
        request["servicedDate"] = now[:10]
    return request


def _service_date(request: Json) -> date:
    raw = request.get("servicedDate") or (request.get("servicedPeriod") or {}).get("start")
    where = f"{WHERE}.servicedDate" if "servicedDate" in request else f"{WHERE}.servicedPeriod.start"
    if not isinstance(raw, str) or len(raw) < 10:
        raise InvalidError("The service date must be a full date (YYYY-MM-DD)", where)
    try:
        return date.fromisoformat(raw[:10])
    except ValueError:
        raise InvalidError("The service date must be a full date (YYYY-MM-DD)", where) from None


def _patient(request: Json) -> tuple[str | None, Json | None]:
    patient = request.get("patient")
    where = f"{WHERE}.patient"
    if not isinstance(patient, dict):
        raise InvalidError("The request names no patient", where, issue_code="required")
    reference, identifier = patient.get("reference"), patient.get("identifier")
    if isinstance(reference, str):
        head = reference.rpartition("/")[0].rpartition("/")[2]
        if head != "Patient" or not reference.rpartition("/")[2]:
            raise InvalidError(
                f"The patient reference must be Patient/<id>, not '{reference}'", f"{where}.reference"
            )
        return reference, identifier if isinstance(identifier, dict) else None
    if isinstance(identifier, dict) and isinstance(identifier.get("value"), str):
        system = identifier.get("system")
        if system not in (None, loading.INSURANCE_NUMBER):
            raise InvalidError(
                f"A patient identifier must be an insurance number ({loading.INSURANCE_NUMBER})",
                f"{where}.identifier.system",
            )
        return None, identifier
    raise InvalidError(
        "The patient needs a reference (Patient/<id>) or an insurance number identifier",
        where,
        issue_code="required",
    )


def _code_of(concept: Any) -> tuple[str | None, str | None]:
    """(system, code) of a CodeableConcept: its first coding with a code, else its text."""
    if not isinstance(concept, dict):
        return None, None
    for coding in concept.get("coding") or ():
        if isinstance(coding, dict) and isinstance(coding.get("code"), str):
            return coding.get("system"), coding["code"]
    text = concept.get("text")
    return (None, text.strip()) if isinstance(text, str) and text.strip() else (None, None)


def _requested(request: Json) -> tuple[Requested, ...]:
    out: list[Requested] = []
    for i, item in enumerate(request.get("item") or ()):
        where = f"{WHERE}.item[{i}]"
        if not isinstance(item, dict):
            continue
        system, code = _code_of(item.get("productOrService"))
        if code is None:
            raise InvalidError(
                "An item needs its productOrService: a coding with a code, or the code as text",
                f"{where}.productOrService",
                issue_code="required",
            )
        _, kind = _code_of(item.get("category"))
        if kind is None:
            kind = _SYSTEM_KIND.get(system or "")
            if system == SERVICE_CATEGORY_SYSTEM:
                kind = "benefit"
        if kind is None:
            raise InvalidError(
                "An item needs its category (item, service or benefit: CodeSystem coverage-item-category)",
                f"{where}.category",
                issue_code="required",
            )
        if kind == "benefit":
            category = CATEGORY_OF_SERVICE.get(code)
            if category is None:
                raise InvalidError(
                    f"A benefit item names a service category with limits ({', '.join(CATEGORY_OF_SERVICE)}),"
                    f" not '{code}'",
                    f"{where}.productOrService",
                    issue_code="code-invalid",
                )
            out.append(Requested("category", category))
        elif kind in ("item", "service"):
            out.append(Requested(kind, code))
        else:
            raise InvalidError(
                f"Unknown item category '{kind}' (item, service or benefit)",
                f"{where}.category",
                issue_code="code-invalid",
            )
    return tuple(out)


# -- the response ---------------------------------------------------------------------------


def _concept(system: str, code: str) -> Json:
    return {"coding": [{"system": system, "code": code}]}


def _reason(code: str) -> Json:
    return {
        "url": REASON_URL,
        "valueCodeableConcept": {
            "coding": [{"system": REASON_SYSTEM, "code": code, "display": REASONS.get(code, code)}]
        },
    }


def _number(prefix: str, value: Decimal) -> tuple[str, Any]:
    if value == value.to_integral_value() and value >= 0:
        return f"{prefix}UnsignedInt", int(value)
    return f"{prefix}String", str(value)


def _money(value: Decimal, currency: str) -> Json:
    return {"value": value, "currency": currency} if currency else {"value": value}


def _benefit(code: str, limit: Limit, currency: str | None = None) -> Json:
    """``allowed`` the limit (absent: unlimited), ``used`` what was consumed."""
    out: Json = {"type": _concept(BENEFIT_SYSTEM, code)}
    if currency is not None:
        if limit.allowed is not None:
            out["allowedMoney"] = _money(limit.allowed, currency)
        out["usedMoney"] = _money(limit.used, currency)
        return out
    if limit.allowed is not None:
        key, value = _number("allowed", limit.allowed)
        out[key] = value
    key, value = _number("used", limit.used)
    out[key] = value
    return out


def _category_benefits(cat: CategoryDecision, currency: str) -> list[Json]:
    count_code, amount_code = _CATEGORY_BENEFITS[cat.category]
    out = []
    if cat.count.allowed is not None:
        out.append(_benefit(count_code, cat.count))
    if amount_code is not None and cat.amount.allowed is not None:
        out.append(_benefit(amount_code, cat.amount, currency))
    return out


def _requested_item(decision: ItemDecision, policy: PolicyDecision) -> Json:
    req = decision.requested
    currency = policy.policy.product.currency
    out: Json = {}
    if decision.reason is not None:
        out["extension"] = [_reason(decision.reason)]
    # ces-1: an item has a category or a productOrService, not both; our profile requires the
    # category, so the code asked goes in ``name``
    if req.kind == "category":
        out["category"] = _concept(CATEGORY_SYSTEM, "benefit")
        out["excluded"] = decision.excluded
        out["name"] = _CODE_OF_CATEGORY[req.code]
        benefits = [
            b for c in policy.categories if c.category == req.code for b in _category_benefits(c, currency)
        ]
    else:
        out["category"] = _concept(CATEGORY_SYSTEM, req.kind)
        out["excluded"] = decision.excluded
        out["name"] = req.code
        benefits = []
        if decision.quantity is not None:
            benefits.append(_benefit(f"{req.kind}_left", decision.quantity))
        if decision.min_date is not None:
            benefits.append(
                {
                    "type": _concept(BENEFIT_SYSTEM, f"min_date_{req.kind}"),
                    "allowedString": decision.min_date.isoformat(),
                }
            )
    if decision.reason is not None:
        out["description"] = REASONS.get(decision.reason, decision.reason)
    elif req.kind == "category":
        out["description"] = req.code
    if benefits:
        out["benefit"] = benefits
    return out


def _benefit_item(policy: PolicyDecision) -> Json | None:
    product = policy.policy.product
    currency = product.currency
    benefits = [b for c in policy.categories for b in _category_benefits(c, currency)]
    for amount in policy.amounts:
        benefits.append(_benefit(_AMOUNT_BENEFITS[(amount.kind, amount.care)], amount.limit, currency))
    if not benefits:
        return None
    return {
        "category": _concept(CATEGORY_SYSTEM, "benefit"),
        "name": product.name,
        "description": product.code,
        "benefit": benefits,
    }


def _insurance(policy: PolicyDecision) -> Json:
    out: Json = {
        "extension": [_reason(policy.reason)],
        "coverage": {"reference": f"Coverage/{policy.policy.id}"},
        "inforce": policy.inforce,
    }
    period: Json = {}
    if policy.policy.start is not None:
        period["start"] = policy.policy.start.isoformat()
    if policy.policy.expiry is not None:
        period["end"] = policy.policy.expiry.isoformat()
    if period:
        out["benefitPeriod"] = period
    items = [_requested_item(d, policy) for d in policy.items]
    general = _benefit_item(policy)
    if general is not None:
        items.append(general)
    if items:
        out["item"] = items
    return out


def _disposition(decided: Eligibility | None) -> str:
    if decided is None:
        return REASONS["unknown-insuree"]
    text = REASONS[decided.reason]
    for s in decided.summary:
        what = f"{s.requested.kind} {s.requested.code}"
        if s.ok:
            left = "unlimited" if s.left is None else f"{s.left} left"
            text += f"; {what}: covered ({left})"
        else:
            text += f"; {what}: not covered now ({REASONS.get(s.reason or '', s.reason)})"
            if s.min_date is not None and s.min_date > decided.day:
                text += f", from {s.min_date.isoformat()}"
    return text


def build_response(
    request: Json, request_id: str, patient_ref: Json, now: str, decided: Eligibility | None
) -> Json:
    response: Json = {
        "resourceType": "CoverageEligibilityResponse",
        "meta": {"profile": [RESPONSE_PROFILE]},
    }
    if decided is None:
        response["extension"] = [_reason("unknown-insuree")]
    elif not decided.policies:
        response["extension"] = [_reason("no-policy")]
    response.update(
        {
            "status": "active",
            "purpose": request.get("purpose") or ["benefits"],
            "patient": patient_ref,
        }
    )
    if "servicedDate" in request:
        response["servicedDate"] = request["servicedDate"]
    elif "servicedPeriod" in request:
        response["servicedPeriod"] = request["servicedPeriod"]
    response["created"] = now
    if isinstance(request.get("provider"), dict):
        response["requestor"] = request["provider"]
    response["request"] = {"reference": f"CoverageEligibilityRequest/{request_id}"}
    response["outcome"] = "error" if decided is None else "complete"
    response["disposition"] = _disposition(decided)
    response["insurer"] = request.get("insurer") or DEFAULT_INSURER
    if decided is not None and decided.policies:
        response["insurance"] = [_insurance(p) for p in decided.policies]
    if decided is None:
        response["error"] = [{"code": _concept(REASON_SYSTEM, "unknown-insuree")}]
    return response


# -- the operation --------------------------------------------------------------------------


async def submit(server: Server, call: OperationCall) -> OperationAnswer:
    now = clock.instant(clock.now_us())
    request = _with_defaults(_request_of(call.body), now)
    day = _service_date(request)
    reference, identifier = _patient(request)
    requested = _requested(request)
    prepared_request = prepare(server, request, "CoverageEligibilityRequest")
    await enforce(server, prepared_request.resource)

    services = tuple(r.code for r in requested if r.kind == "service")
    loaded = await loading.load(server, reference, identifier, day, services)
    if loaded.service_categories:
        requested = tuple(
            Requested(r.kind, r.code, loaded.service_categories.get(r.code)) if r.kind == "service" else r
            for r in requested
        )
    decided = None
    if loaded.insuree is not None:
        decided = eligibility(
            loaded.insuree, loaded.policies, day, requested, server.settings.age_of_majority
        )
        patient_ref: Json = {"reference": f"Patient/{loaded.patient_id}"}
    else:
        patient_ref = dict(request["patient"])

    request_id = RequestContext.new_id()
    response_id = RequestContext.new_id()
    response = build_response(request, request_id, patient_ref, now, decided)
    # built here, not sent by a client: not validated again on every request (it costs as much
    # as the rest of the request); tests/api/test_eligibility_submit.py validates every shape
    # against the R4 definitions and our profiles
    prepared_response = Prepared("CoverageEligibilityResponse", response, server.extractor.extract(response))
    async with server.store.transaction() as tx:
        await write(server, tx, prepared_request, "CoverageEligibilityRequest", request_id, None, "POST")
        op = await write(
            server, tx, prepared_response, "CoverageEligibilityResponse", response_id, None, "POST"
        )
    stored: Json = {"resourceType": "CoverageEligibilityResponse", "id": response_id}
    stored.update(prepared_response.resource)
    stored["meta"] = {**response["meta"], "versionId": str(op.version), "lastUpdated": op.last_updated}
    return OperationAnswer(stored, 200)


def register(server: Server) -> None:
    server.operations.add(
        "CoverageEligibilityRequest", "$submit", submit, levels=("type",), definition="eligibility-submit"
    )
