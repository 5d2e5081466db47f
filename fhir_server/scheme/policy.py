"""Policies: a ``Coverage`` claiming our ``policy`` profile (DOMAIN.md §5).

The client sends the terms: the product (``policy-product``), the family
(``policy-family``), the enrolment date (``policy-enrol-date``, default today), the stage
(``policy-stage``, N by default; R with ``policy-previous`` for a renewal) and the officer.
The server computes, in the unit of work of the write (a write hook that *completes* the
resource, so it is validated on what is stored):

- the dates (§5.2: ``insurance/policy_dates.py``): ``Coverage.period`` start..expiry;
- the value (§5.3: ``insurance/policy_value.py``) in ``policy-value``, members' ages
  taken at the enrolment date, with a warning when the family has more members than
  the product allows;
- the members it covers (``policy-member``, openIMIS InsureePolicy): the family's active
  members up to the product's maximum;
- the status: ``policy-status`` (1 idle on creation; then the premium service moves it)
  and ``Coverage.status`` mapped from it (1, 16 → draft; 2 → active; 4, 8 → cancelled:
  openIMIS's expired → active is a defect, DOMAIN.md §9), beneficiary and policy holder
  (the head), ``class`` (the product's code and name), the policy number, and ``payor``
  (the head, as openIMIS does for informal families) when not given.

A client-sent value, period or status that differs from the computed one is replaced,
with a warning. Once a policy is paid (any status but idle) its terms (product, family,
enrolment date, stage) are locked; a client may suspend an active policy (status 4) or
reinstate a suspended one (back to 2). Resources tagged ``scheme-tag|imported`` (legacy
migration) are checked (product and family exist) but kept as given.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from .. import clock, fhirjson
from ..errors import BusinessRuleError, NotFoundError
from ..insurance.contributions import PolicyStatus
from ..insurance.policy_dates import PolicyPeriod, Stage, check_enroll_date, policy_period
from ..insurance.policy_value import (
    AgeCategory,
    Member,
    PolicyTerms,
    PolicyValue,
    age_category,
    covered_members,
    policy_value,
)
from ..insurance.product import Product, ProductError, product_from_plan
from ..server import Server
from ..storage.protocol import Transaction
from . import fhir
from .hooks import WriteEvent, warn

Json = dict[str, Any]

PROFILE = "policy"
POLICY_NUMBER = "https://openimis.org/fhir/policy-number"
INSURANCE_NUMBER = "https://openimis.org/fhir/insurance-number"
STATUS_NAMES = {1: "Idle", 2: "Active", 4: "Suspended", 8: "Expired", 16: "Ready"}
#: policy status → Coverage.status (terminology/ConceptMap-policy-status-to-coverage-status.json)
COVERAGE_STATUS = {1: "draft", 2: "active", 4: "cancelled", 8: "cancelled", 16: "draft"}
INSUREE_STATUS_LEFT = ("IN", "DE")


def is_policy(resource: Json) -> bool:
    return fhir.claims(resource, PROFILE) or bool(fhir.extensions(resource, "policy-product"))


def status_of(resource: Json) -> PolicyStatus:
    c = fhir.code(fhir.value(resource, "policy-status"))
    try:
        return PolicyStatus(int(c)) if c is not None else PolicyStatus.IDLE
    except ValueError:
        return PolicyStatus.IDLE


def set_status(resource: Json, status: PolicyStatus) -> None:
    fhir.set_value(
        resource,
        "policy-status",
        "CodeableConcept",
        fhir.concept("policy-status", str(int(status)), STATUS_NAMES[int(status)]),
    )
    resource["status"] = COVERAGE_STATUS[int(status)]


def period_of(resource: Json) -> tuple[date | None, date | None]:
    period = resource.get("period") or {}
    return fhir.as_date(period.get("start")), fhir.as_date(period.get("end"))


@dataclass
class MemberEntry:
    """One ``policy-member`` extension (openIMIS InsureePolicy)."""

    patient: str
    joined: date | None = None
    effective: date | None = None
    expiry: date | None = None

    def to_fhir(self) -> Json:
        parts: list[Json] = [{"url": "member", "valueReference": {"reference": f"Patient/{self.patient}"}}]
        for name, d in (
            ("joined", self.joined),
            ("effectiveDate", self.effective),
            ("expiryDate", self.expiry),
        ):
            if d is not None:
                parts.append({"url": name, "valueDate": d.isoformat()})
        return {"url": fhir.url("policy-member"), "extension": parts}

    def covers(self, day: date) -> bool:
        return (
            self.effective is not None
            and self.effective <= day
            and (self.expiry is None or day <= self.expiry)
        )


def members_of(resource: Json) -> list[MemberEntry]:
    out: list[MemberEntry] = []
    for ext in fhir.extensions(resource, "policy-member"):
        patient = fhir.ref_id(fhir.sub(ext, "member"), "Patient")
        if patient is None:
            continue
        out.append(
            MemberEntry(
                patient,
                fhir.as_date(fhir.sub(ext, "joined")),
                fhir.as_date(fhir.sub(ext, "effectiveDate")),
                fhir.as_date(fhir.sub(ext, "expiryDate")),
            )
        )
    return out


def set_members(resource: Json, members: list[MemberEntry]) -> None:
    u = fhir.url("policy-member")
    kept = [e for e in resource.get("extension") or [] if not (isinstance(e, dict) and e.get("url") == u)]
    resource["extension"] = kept + [m.to_fhir() for m in members]


@dataclass
class FamilyMember:
    patient_id: str
    resource: Json
    birth_date: date | None
    relationship: int | None
    status: str

    @classmethod
    def of(cls, patient_id: str, patient: Json) -> FamilyMember:
        return cls(
            patient_id,
            patient,
            fhir.as_date(patient.get("birthDate")),
            _relationship(patient),
            fhir.code(fhir.value(patient, "insuree-status")) or "AC",
        )

    def as_member(self, on: date, age_of_majority: int) -> Member:
        category = (
            age_category(self.birth_date, on, age_of_majority) if self.birth_date else AgeCategory.ADULT
        )
        return Member(category, self.relationship)


@dataclass
class Family:
    id: str | None  # None: a beneficiary who belongs to no family (a family of one)
    resource: Json
    head: str | None
    members: list[FamilyMember]

    def active(self) -> list[FamilyMember]:
        return [m for m in self.members if m.status not in INSUREE_STATUS_LEFT]


async def load_product(tx: Transaction, reference: Any, expression: str) -> tuple[str, Json, Product]:
    plan_id = fhir.ref_id(reference, "InsurancePlan")
    found = await fhir.read_json(tx, "InsurancePlan", plan_id) if plan_id else None
    if plan_id is None or found is None:
        raise BusinessRuleError(
            f"The policy's product {_show(reference)} is not a known InsurancePlan",
            expression,
            reason="unknown-product",
        )
    try:
        return plan_id, found[1], product_from_plan(found[1])
    except ProductError as e:
        raise BusinessRuleError(
            f"InsurancePlan/{plan_id} cannot price a policy: {e} ({e.expression})",
            expression,
            reason="product-incomplete",
        ) from None


def _relationship(patient: Json) -> int | None:
    c = fhir.code(fhir.value(patient, "insuree-relationship"))
    return int(c) if c is not None and c.isdigit() else None


async def load_family(tx: Transaction, reference: Any, expression: str) -> Family:
    family_id = fhir.ref_id(reference, "Group")
    found = await fhir.read_json(tx, "Group", family_id) if family_id else None
    if family_id is None or found is None:
        raise BusinessRuleError(
            f"The policy's family {_show(reference)} is not a known Group",
            expression,
            reason="unknown-family",
        )
    group = found[1]
    head = fhir.ref_id(fhir.value(group, "family-head"), "Patient")
    members: list[FamilyMember] = []
    ids = [
        fhir.ref_id((m or {}).get("entity"), "Patient")
        for m in group.get("member") or []
        if not (m or {}).get("inactive")
    ]
    ordered = ([head] if head in ids else []) + [i for i in ids if i and i != head]
    for pid in ordered:
        if pid is None:
            continue
        got = await fhir.read_json(tx, "Patient", pid)
        if got is None:
            continue
        members.append(FamilyMember.of(pid, got[1]))
    return Family(family_id, group, head, members)


async def family_of_policy(tx: Transaction, resource: Json) -> Family:
    """The policy's family: ``policy-family``; without it the beneficiary's family, or the
    beneficiary alone (a family of one) when they belong to none."""
    reference = fhir.value(resource, "policy-family")
    if reference is not None:
        return await load_family(tx, reference, _ext_expression(resource, "policy-family"))
    patient_id = fhir.ref_id(resource.get("beneficiary"), "Patient")
    found = await fhir.read_json(tx, "Patient", patient_id) if patient_id else None
    if patient_id is None or found is None:
        raise BusinessRuleError(
            "A policy names its family (policy-family) or an existing beneficiary Patient",
            "Coverage.beneficiary",
            reason="unknown-family",
        )
    patient = found[1]
    group = fhir.value(patient, "insuree-family")
    if fhir.ref_id(group, "Group") and await fhir.read_json(tx, "Group", fhir.ref_id(group, "Group") or ""):
        return await load_family(tx, group, "Coverage.beneficiary")
    return Family(None, patient, patient_id, [FamilyMember.of(patient_id, patient)])


def _show(reference: Any) -> str:
    if isinstance(reference, dict):
        return repr(reference.get("reference") or reference.get("display") or reference)
    return repr(reference)


def _ext_expression(resource: Json, name: str) -> str:
    i = fhir.ext_index(resource, name)
    return f"Coverage.extension[{i}]" if i is not None else "Coverage.extension"


def _stage(resource: Json) -> Stage:
    c = fhir.code(fhir.value(resource, "policy-stage"))
    if c not in (None, "N", "R"):
        raise BusinessRuleError(
            f"Unknown policy stage '{c}' (N new, R renewed)",
            _ext_expression(resource, "policy-stage"),
            "stage",
        )
    return Stage.RENEWED if c == "R" else Stage.NEW


@dataclass
class Terms:
    """What a policy is priced and dated from."""

    product_id: str
    plan: Json
    product: Product
    family: Family
    stage: Stage
    enroll_date: date
    previous_expiry: date | None


async def load_terms(server: Server, tx: Transaction, resource: Json) -> Terms:
    plan_id, plan, product = await load_product(
        tx, fhir.value(resource, "policy-product"), _ext_expression(resource, "policy-product")
    )
    family = await family_of_policy(tx, resource)
    stage = _stage(resource)
    enrol_raw = fhir.value(resource, "policy-enrol-date")
    enroll = fhir.as_date(enrol_raw) if enrol_raw is not None else clock.today()
    if enroll is None:
        raise BusinessRuleError(
            "policy-enrol-date must be a date", _ext_expression(resource, "policy-enrol-date"), "enroll-date"
        )
    previous_expiry = None
    if stage is Stage.RENEWED:
        prev_ref = fhir.value(resource, "policy-previous")
        prev_id = fhir.ref_id(prev_ref, "Coverage")
        prev = await fhir.read_json(tx, "Coverage", prev_id) if prev_id else None
        if prev is None:
            raise BusinessRuleError(
                "A renewed policy (stage R) names the policy it renews (policy-previous)",
                _ext_expression(resource, "policy-previous"),
                reason="renewal-without-previous",
            )
        previous_expiry = period_of(prev[1])[1]
    return Terms(plan_id, plan, product, family, stage, enroll, previous_expiry)


def dates_of(terms: Terms) -> PolicyPeriod:
    period = policy_period(terms.enroll_date, terms.stage, terms.product.periods, terms.previous_expiry)
    if terms.stage is Stage.RENEWED and terms.previous_expiry is not None:
        # a renewal starts after the policy it renews, never overlapping it (our rule)
        day_after = date.fromordinal(terms.previous_expiry.toordinal() + 1)
        if period.start_date < day_after:
            return policy_period(day_after, terms.stage, terms.product.periods, terms.previous_expiry)
    return period


def value_of(server: Server, terms: Terms, start: date, covered: list[FamilyMember]) -> PolicyValue:
    members = [m.as_member(terms.enroll_date, server.settings.age_of_majority) for m in covered]
    return policy_value(
        terms.product.pricing,
        members,
        PolicyTerms(terms.stage, terms.enroll_date, start, terms.previous_expiry),
    )


def covered_of(server: Server, terms: Terms) -> tuple[list[FamilyMember], list[FamilyMember]]:
    active = terms.family.active()
    keyed = [(m.patient_id, m.as_member(terms.enroll_date, server.settings.age_of_majority)) for m in active]
    kept, left_out = covered_members(terms.product.pricing, keyed)
    by_id = {m.patient_id: m for m in active}
    return [by_id[k] for k in kept], [by_id[k] for k in left_out]


def _set_money(resource: Json, name: str, amount: Decimal, currency: str) -> None:
    fhir.set_value(resource, name, "Money", fhir.money(amount, currency))


def _same_terms(sent: Json, stored: Json) -> bool:
    """Whether ``sent`` keeps the terms of ``stored``: a missing stage is N (as on creation), a
    missing enrolment date keeps the stored one."""
    for key in ("policy-product", "policy-family", "policy-enrol-date", "policy-stage", "policy-previous"):
        mine, theirs = _norm(fhir.value(sent, key)), _norm(fhir.value(stored, key))
        if key == "policy-stage":
            mine, theirs = mine or "N", theirs or "N"
        if key == "policy-enrol-date" and mine is None:
            continue
        if mine != theirs:
            return False
    return True


def _norm(v: Any) -> Any:
    if isinstance(v, dict):
        return v.get("reference") or fhir.code(v) or str(v)
    return v


def complete(server: Server, resource: Json, terms: Terms, current: Json | None) -> Json:
    """Fill in everything the server computes for a new or still idle policy."""
    out = dict(resource)
    dates = dates_of(terms)
    covered, left_out = covered_of(server, terms)
    priced = value_of(server, terms, dates.start_date, covered)
    product = terms.product
    sent_value = fhir.value(resource, "policy-value")
    sent = sent_value.get("value") if isinstance(sent_value, dict) else None
    if sent is not None and Decimal(str(sent)) != priced.value:
        warn(
            f"The policy value {sent} was replaced by the computed value {priced.value}",
            _ext_expression(resource, "policy-value"),
            reason="value-computed",
        )
    for w in priced.warnings:
        warn(w, "Coverage.extension", reason="members-above-max")
    for m in left_out:
        warn(
            f"Patient/{m.patient_id} is not covered: the product allows "
            f"{product.pricing.max_members} members",
            "Coverage.extension",
            reason="member-above-max",
        )
    _set_money(out, "policy-value", priced.value, product.currency)
    fhir.set_value(out, "policy-enrol-date", "Date", terms.enroll_date.isoformat())
    fhir.set_value(
        out,
        "policy-stage",
        "CodeableConcept",
        fhir.concept("policy-stage", terms.stage.value, "New" if terms.stage is Stage.NEW else "Renewed"),
    )
    sent_period = period_of(resource)
    if sent_period != (None, None) and sent_period != (dates.start_date, dates.expiry_date):
        warn(
            f"The period was replaced by the computed one {dates.start_date}..{dates.expiry_date} "
            f"({dates.start.branch})",
            "Coverage.period",
            reason="period-computed",
        )
    out["period"] = {"start": dates.start_date.isoformat(), "end": dates.expiry_date.isoformat()}
    status = status_of(current) if current is not None else PolicyStatus.IDLE
    if (
        current is None
        and fhir.value(resource, "policy-status") is not None
        and status_of(resource) != status
    ):
        warn(
            "A new policy is idle until its contributions are recorded "
            f"(status {int(status_of(resource))} ignored)",
            _ext_expression(resource, "policy-status"),
            reason="status-computed",
        )
    set_status(out, status)
    effective = None if current is None else fhir.value(current, "policy-effective-date")
    fhir.set_value(out, "policy-effective-date", "Date", effective)
    set_members(out, [MemberEntry(m.patient_id) for m in covered])
    _identity(out, terms)
    return out


def _insurance_number(family: Family, patient_id: str) -> str | None:
    for m in family.members:
        if m.patient_id == patient_id:
            for ident in m.resource.get("identifier") or []:
                if isinstance(ident, dict) and ident.get("system") == INSURANCE_NUMBER:
                    value = ident.get("value")
                    return value if isinstance(value, str) else None
    return None


def _identity(out: Json, terms: Terms) -> None:
    head = terms.family.head
    if head is not None:
        ref: Json = {"reference": f"Patient/{head}"}
        number = _insurance_number(terms.family, head)
        if number is not None:  # searchable by insurance number (SearchParameter Coverage-insurance-number)
            ref["identifier"] = {"system": INSURANCE_NUMBER, "value": number}
        out["beneficiary"] = ref
        out["policyHolder"] = {"reference": ref["reference"]}
        out.setdefault("subscriber", {"reference": ref["reference"]})
        if not out.get("payor"):
            out["payor"] = [{"reference": ref["reference"]}]
    out["class"] = [
        {
            "type": {
                "coding": [{"system": "http://terminology.hl7.org/CodeSystem/coverage-class", "code": "plan"}]
            },
            "value": terms.product.code,
            "name": terms.product.name,
        }
    ]
    if not any(isinstance(i, dict) and i.get("system") == POLICY_NUMBER for i in out.get("identifier") or []):
        ids = list(out.get("identifier") or [])
        ids.append(
            {
                "type": {"coding": [{"system": fhir.CS + "identifier-type", "code": "UUID"}]},
                "system": POLICY_NUMBER,
                "value": str(uuid.uuid4()),
            }
        )
        out["identifier"] = ids


async def on_write(event: WriteEvent) -> Json | None:
    """The Coverage write hook."""
    resource = event.resource
    if resource is None:  # delete
        await _check_delete(event)
        return None
    if not is_policy(resource):
        return resource
    current = None
    if event.current is not None and not event.current.deleted:
        current = fhirjson.loads(event.current.body)
    server, tx = event.server, event.tx
    if fhir.imported(resource):
        await load_product(
            tx, fhir.value(resource, "policy-product"), _ext_expression(resource, "policy-product")
        )
        await family_of_policy(tx, resource)
        return resource
    terms = await load_terms(server, tx, resource)
    if current is None or (status_of(current) is PolicyStatus.IDLE and not _paid(current)):
        if current is None or not _same_terms(resource, current):
            decision = check_enroll_date(terms.enroll_date, clock.today())
            if not decision.ok:
                raise BusinessRuleError(
                    decision.message, _ext_expression(resource, "policy-enrol-date"), reason=decision.reason
                )
        if current is None and not terms.product.sold_on(terms.enroll_date):
            raise BusinessRuleError(
                f"The product {terms.product.code} is not sold on {terms.enroll_date} "
                f"(valid {terms.product.date_from}..{terms.product.date_to})",
                _ext_expression(resource, "policy-product"),
                reason="product-not-sold",
            )
        return complete(server, resource, terms, current)
    return _update_paid(resource, current)


async def _check_delete(event: WriteEvent) -> None:
    """A policy with recorded premiums is not deleted: suspend it (openIMIS refuses to delete a
    policy used in claims; its premiums would be left pointing at nothing)."""
    from .ledger import load_ledger
    from .premium import premiums_of

    if event.current is None or event.current.deleted:
        return
    ledger = await load_ledger(event.tx, event.id)
    if ledger.claims:
        raise BusinessRuleError(
            f"Coverage/{event.id} was used by {len(ledger.claims)} claim(s) (its consumption ledger): "
            "it cannot be deleted; suspend it instead",
            "Coverage",
            reason="policy-used-in-claims",
            status=409,
            issue_code="conflict",
        )
    if await premiums_of(event.server, event.tx, event.id):
        raise BusinessRuleError(
            f"Coverage/{event.id} has recorded premiums: suspend it (policy-status 4) instead of deleting it",
            "Coverage",
            reason="policy-has-premiums",
            status=409,
            issue_code="conflict",
        )


def _paid(current: Json) -> bool:
    return fhir.value(current, "policy-effective-date") is not None


def _update_paid(resource: Json, current: Json) -> Json:
    """A paid policy: its terms and computed parts are the server's; only suspension moves."""
    if not _same_terms(resource, current):
        raise BusinessRuleError(
            "The policy is paid: its product, family, enrolment date and stage can no longer change "
            "(renew it, or suspend it and enrol a new one)",
            "Coverage.extension",
            reason="policy-terms-locked",
        )
    was, asked = status_of(current), status_of(resource)
    out = dict(resource)
    for name in ("policy-value", "policy-effective-date", "policy-enrol-date", "policy-stage"):
        v = fhir.extensions(current, name)
        fhir.set_value(out, name, None, None)
        if v:
            out["extension"] = list(out.get("extension") or []) + v
    set_members(out, members_of(current))
    out["period"] = current.get("period")
    for key in ("beneficiary", "policyHolder", "class", "identifier"):
        if key in current:
            out[key] = current[key]
    allowed = {(PolicyStatus.ACTIVE, PolicyStatus.SUSPENDED), (PolicyStatus.SUSPENDED, PolicyStatus.ACTIVE)}
    if asked != was and (was, asked) not in allowed:
        warn(
            f"The policy status moves with its contributions and expiry: {int(was)} kept "
            f"({int(asked)} asked; a client may only suspend an active policy or reinstate a suspended one)",
            _ext_expression(resource, "policy-status"),
            reason="status-computed",
        )
        asked = was
    set_status(out, asked)
    return out


async def family_policies(server: Server, tx: Transaction, family_id: str) -> list[Json]:
    return await fhir.search(server, tx, "Coverage", [("family", f"Group/{family_id}")])


async def policy_or_404(server: Server, policy_id: str) -> Json:
    """The current policy ``policy_id`` (operations on ``Coverage/[id]``), or 404."""
    stored = await server.store.read("Coverage", policy_id)
    current: Json | None = None if stored is None or stored.deleted else fhirjson.loads(stored.body)
    if current is None or not is_policy(current):
        raise NotFoundError(f"Coverage/{policy_id} is not a known policy")
    return current


async def sync_family_policies(server: Server, tx: Transaction, family_id: str, day: date) -> None:
    """Re-derive the ``policy-member`` lists of ``family_id``'s current policies on ``day``.

    Called by the family and insuree services after a membership or status change:
    - a member who left the family, or became inactive or died, stops being covered on
      ``day`` (``expiryDate``);
    - a new active member of an idle policy joins as a founding member and the value is
      recomputed; of a paid policy, joins on ``day`` and is covered from the payment that
      covers the recomputed value (§5.4, ``member_effective_date``);
    - the value of a paid policy never shrinks: a member leaving does not refund anything;
    - expired and suspended policies are left alone.
    """
    from .premium import refresh_members  # the premium service owns activation dates

    for policy in await family_policies(server, tx, family_id):
        if fhir.imported(policy) or status_of(policy) in (PolicyStatus.EXPIRED, PolicyStatus.SUSPENDED):
            continue
        end = period_of(policy)[1]
        if end is not None and end < day:
            continue
        terms = await load_terms(server, tx, policy)
        covered, _ = covered_of(server, terms)
        wanted = {m.patient_id for m in covered}
        entries = members_of(policy)
        changed = False
        for entry in entries:
            if entry.patient not in wanted and (entry.expiry is None or entry.expiry > day):
                entry.expiry = day
                changed = True
        present = {e.patient for e in entries if e.expiry is None or e.expiry > day}
        idle = status_of(policy) is PolicyStatus.IDLE and not _paid(policy)
        joined = False
        for m in covered:
            if m.patient_id not in present:
                entries.append(MemberEntry(m.patient_id, None if idle else day))
                changed = joined = True
        if not changed:
            continue
        updated = dict(policy)
        if idle or joined:  # the price follows the family until paid, and grows with a new member
            start = period_of(policy)[0] or terms.enroll_date
            priced = value_of(server, terms, start, covered)
            _set_money(updated, "policy-value", priced.value, terms.product.currency)
        set_members(updated, entries)
        await refresh_members(server, tx, updated)


def register(server: Server) -> None:
    server.write_hooks.register("Coverage", on_write, completes=True)
