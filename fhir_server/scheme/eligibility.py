"""Loading what eligibility decides on: insuree → policies → products → ledgers.

Reads committed state straight from the store (an enquiry answers about what is stored;
nothing here is written), in two or three round trips: the Patient (by id, or by insurance
number) and the search of their policies (``Coverage?member=``, the policy-member
extensions: every member of the family is listed, covered or not) at the same time when
the Patient's id is given, then one ``read_many`` of the products and ledgers.
Products are parsed once per stored version (``product_from_plan`` is not free).

Which policies concern a date: those whose period contains it; when none does, the one
that started last (so that an expired or not yet effective policy is explained rather
than missing).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from weakref import WeakKeyDictionary

from .. import fhirjson
from ..insurance.eligibility import Insuree, Policy, PolicyMember
from ..insurance.ledger import Ledger
from ..insurance.policy_dates import fhir_date
from ..insurance.product import CATEGORY_OF_SERVICE, Product, ProductError, product_from_plan
from ..search.parser import parse_search
from ..server import Server
from ..storage.protocol import Page, StoredVersion
from .ledger import from_stored, ledger_id

Json = dict[str, Any]

SD = "https://openimis.org/fhir/StructureDefinition/"
INSURANCE_NUMBER = "https://openimis.org/fhir/insurance-number"
MAX_POLICIES = 100

#: per store (a Server is not hashable): product id → (version, product)
_PRODUCTS: WeakKeyDictionary[object, dict[str, tuple[int, Product | None]]] = WeakKeyDictionary()


@dataclass(frozen=True)
class Loaded:
    patient: Json | None  # None: unknown insuree
    patient_id: str | None
    insuree: Insuree | None
    policies: list[tuple[Policy, Ledger]]
    #: policies whose product could not be read (id → message)
    broken: dict[str, str]
    #: requested service code → its category (consultation, surgery ...) when known
    service_categories: dict[str, str] = field(default_factory=dict)


def _ext(element: Json, name: str) -> list[Json]:
    url = SD + name
    return [e for e in element.get("extension") or () if isinstance(e, dict) and e.get("url") == url]


def _ref_id(ref: Any, rtype: str) -> str | None:
    if not isinstance(ref, dict):
        return None
    reference = ref.get("reference")
    if not isinstance(reference, str):
        return None
    head, _, rid = reference.rpartition("/")
    if head.rpartition("/")[2] != rtype or not rid:
        return None
    return rid


def _status(coverage: Json) -> int:
    for ext in _ext(coverage, "policy-status"):
        for coding in (ext.get("valueCodeableConcept") or {}).get("coding") or ():
            code = coding.get("code")
            if isinstance(code, str) and code.isdigit():
                return int(code)
    return 1


def _members(coverage: Json) -> tuple[PolicyMember, ...]:
    out: list[PolicyMember] = []
    for ext in _ext(coverage, "policy-member"):
        parts: dict[str, Any] = {}
        for part in ext.get("extension") or ():
            for key, value in part.items():
                if key.startswith("value"):
                    parts[str(part.get("url"))] = value
        who = _ref_id(parts.get("member"), "Patient")
        if who is not None:
            effective, expiry = fhir_date(parts.get("effectiveDate")), fhir_date(parts.get("expiryDate"))
            out.append(PolicyMember(who, effective, expiry))
    return tuple(out)


def product_id(coverage: Json) -> str | None:
    for ext in _ext(coverage, "policy-product"):
        return _ref_id(ext.get("valueReference"), "InsurancePlan")
    return None


def _product(server: Server, stored: StoredVersion) -> Product | None:
    cache = _PRODUCTS.setdefault(server.store, {})
    hit = cache.get(stored.id)
    if hit is not None and hit[0] == stored.version:
        return hit[1]
    try:
        product: Product | None = product_from_plan(fhirjson.loads(stored.body))
    except ProductError:
        product = None
    cache[stored.id] = (stored.version, product)
    return product


def _query(server: Server, resource_type: str, params: list[tuple[str, str]]) -> Any:
    return parse_search((resource_type,), params, server.registry, strict=True, base_url=server.base_url)


def _policies_of(server: Server, patient_id: str) -> Awaitable[Page]:
    return server.store.search(
        _query(server, "Coverage", [("member", f"Patient/{patient_id}"), ("_count", str(MAX_POLICIES))])
    )


async def find_patient(
    server: Server, reference: str | None, identifier: Json | None
) -> tuple[StoredVersion | None, Page | None]:
    """The insuree by ``Patient/<id>``, else by insurance number (the identifier, or the id
    of the reference read as a CHFID as the openIMIS module does); with ``Patient/<id>`` the
    policies of that id are searched at the same time (the page, else None)."""
    store = server.store
    number: str | None = None
    if reference:
        rid = reference.rpartition("/")[2]
        found, policies = await asyncio.gather(store.read("Patient", rid), _policies_of(server, rid))
        if found is not None and not found.deleted:
            return found, policies
        number = rid
    if identifier is not None:
        system = identifier.get("system")
        if system not in (None, INSURANCE_NUMBER):
            return None, None
        number = identifier.get("value")
    if not number:
        return None, None
    query = _query(server, "Patient", [("identifier", f"{INSURANCE_NUMBER}|{number}"), ("_count", "2")])
    page = await store.search(query)
    return (page.items[0] if len(page.items) == 1 else None), None


def concerning(policies: list[tuple[Json, Policy]], day: date) -> list[tuple[Json, Policy]]:
    """The policies whose period contains ``day``; else the one that started last."""
    current = [
        (c, p)
        for c, p in policies
        if (p.start is None or p.start <= day) and (p.expiry is None or day <= p.expiry)
    ]
    if current or not policies:
        return current
    return [max(policies, key=lambda cp: cp[1].start or date.min)]


async def load(
    server: Server, reference: str | None, identifier: Json | None, day: date, services: tuple[str, ...] = ()
) -> Loaded:
    store = server.store
    stored, page = await find_patient(server, reference, identifier)
    if stored is None:
        return Loaded(None, None, None, [], {})
    patient = fhirjson.loads(stored.body)
    insuree = Insuree(stored.id, fhir_date(patient.get("birthDate")))
    if page is None:
        page = await _policies_of(server, stored.id)
    coverages = [fhirjson.loads(v.body) for v in page.items]
    # one round trip for the products and the ledgers of every policy found (a ledger of a
    # policy that turns out not to concern the date is read for nothing: cheaper than a trip)
    products = sorted({pid for c in coverages if (pid := product_id(c))})
    keys = [("InsurancePlan", pid) for pid in products]
    keys += [("Account", ledger_id(str(c.get("id")))) for c in coverages]
    found = await store.read_many(keys)
    plans = {v.id: v for v in found if v.resource_type == "InsurancePlan"}
    ledgers = {v.id: v for v in found if v.resource_type == "Account"}
    broken: dict[str, str] = {}
    candidates: list[tuple[Json, Policy]] = []
    for coverage in coverages:
        cid = str(coverage.get("id"))
        pid = product_id(coverage)
        plan = plans.get(pid or "")
        product = _product(server, plan) if plan is not None else None
        if product is None:
            broken[cid] = f"The product of Coverage/{cid} ({pid}) is missing or cannot be read"
            continue
        period = coverage.get("period") or {}
        policy = Policy(
            cid,
            _status(coverage),
            fhir_date(period.get("start")),
            fhir_date(period.get("end")),
            product,
            _members(coverage),
        )
        candidates.append((coverage, policy))
    chosen = concerning(candidates, day)
    policies = [(p, from_stored(ledgers.get(ledger_id(p.id)), p.id)) for _, p in chosen]
    categories = await _service_categories(server, [p.product for p, _ in policies], services)
    return Loaded(patient, stored.id, insuree, policies, broken, categories)


async def _service_categories(
    server: Server, products: list[Product], services: tuple[str, ...]
) -> dict[str, str]:
    """The category (``product.CATEGORIES`` name) of each requested service, from the
    ActivityDefinition its product entry references (extension ``medical-service-category``);
    one round trip, only when services are asked."""
    refs: dict[str, str] = {}
    for code in services:
        for product in products:
            covered = product.covers("service", code)
            rid = _ref_id({"reference": covered.reference}, "ActivityDefinition") if covered else None
            if rid is not None:
                refs[code] = rid
                break
    if not refs:
        return {}
    found = {
        v.id: v for v in await server.store.read_many([("ActivityDefinition", r) for r in set(refs.values())])
    }
    out: dict[str, str] = {}
    for code, rid in refs.items():
        stored = found.get(rid)
        if stored is None:
            continue
        for ext in _ext(fhirjson.loads(stored.body), "medical-service-category"):
            for coding in (ext.get("valueCodeableConcept") or {}).get("coding") or ():
                category = CATEGORY_OF_SERVICE.get(str(coding.get("code")))
                if category is not None:
                    out[code] = category
    return out
