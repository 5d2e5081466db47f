"""The consumption ledger of a policy stored as one FHIR ``Account`` (docs/decisions/0016).

``Account/ledger-<Coverage id>`` claims ``…/StructureDefinition/ledger``: ``coverage``
names the policy, and four extensions carry :class:`~fhir_server.insurance.ledger.Ledger`:
``ledger-claim`` (one per claim applied), ``ledger-quantity`` (insuree, item/service
coding, quantity), ``ledger-category`` (insuree, service-category coding, count, amount)
and ``ledger-amount`` (insuree, ``ledger-amount-kind`` coding ded-g … rem-op, amount).

Account is FHIR's ledger resource ("a financial tool for tracking value accrued for a
particular purpose", account.html); we keep the per-insuree aggregates in it rather than
``ChargeItem``s so that eligibility reads one small resource per policy.

:func:`save_ledger` writes inside the caller's unit of work (the claim being valued, the
bench's seeding) with optimistic concurrency: the version written must follow the version
the ledger was read at (``Ledger.version``), otherwise the store raises ``VersionConflict``
and the caller retries its whole unit on fresh data (``interactions/retry.py``).
"""

from __future__ import annotations

from decimal import Decimal
from types import MappingProxyType
from typing import Any

from .. import fhirjson
from ..insurance.ledger import Amounts, InsureeConsumption, Ledger
from ..insurance.product import CATEGORY_OF_SERVICE, ITEM_SYSTEM, SERVICE_SYSTEM
from ..interactions.profile_enforcement import enforce
from ..interactions.resources import prepare, write
from ..server import Server
from ..storage.protocol import StoredVersion, Transaction

Json = dict[str, Any]

SD = "https://openimis.org/fhir/StructureDefinition/"
PROFILE = SD + "ledger"
CLAIM, QUANTITY, CATEGORY, AMOUNT = (
    SD + n for n in ("ledger-claim", "ledger-quantity", "ledger-category", "ledger-amount")
)
SERVICE_CATEGORY_SYSTEM = "https://openimis.org/fhir/CodeSystem/service-category"
AMOUNT_KIND_SYSTEM = "https://openimis.org/fhir/CodeSystem/ledger-amount-kind"
_CODE_OF_CATEGORY = {name: code for code, name in CATEGORY_OF_SERVICE.items()}
_SYSTEM_OF_KIND = {"item": ITEM_SYSTEM, "service": SERVICE_SYSTEM}
_KIND_OF_SYSTEM = {ITEM_SYSTEM: "item", SERVICE_SYSTEM: "service"}


def ledger_id(coverage_id: str) -> str:
    return f"ledger-{coverage_id}"


def _money(value: Decimal, currency: str | None) -> Json:
    return {"value": value, "currency": currency} if currency else {"value": value}


def _part(url: str, parts: list[tuple[str, str, Any]]) -> Json:
    return {"url": url, "extension": [{"url": name, key: value} for name, key, value in parts]}


def to_account(ledger: Ledger) -> Json:
    """The ``Account`` resource carrying ``ledger`` (without id/meta version)."""
    currency = ledger.currency
    extensions: list[Json] = [{"url": CLAIM, "valueString": c} for c in sorted(ledger.claims)]
    for insuree_id in sorted(ledger.insurees):
        used = ledger.insurees[insuree_id]
        who = ("insuree", "valueReference", {"reference": f"Patient/{insuree_id}"})
        for (kind, code), qty in sorted(used.quantities.items()):
            coding = {"system": _SYSTEM_OF_KIND[kind], "code": code}
            extensions.append(
                _part(QUANTITY, [who, ("code", "valueCoding", coding), ("quantity", "valueDecimal", qty)])
            )
        for category in sorted(set(used.category_counts) | set(used.category_amounts)):
            coding = {"system": SERVICE_CATEGORY_SYSTEM, "code": _CODE_OF_CATEGORY[category]}
            extensions.append(
                _part(
                    CATEGORY,
                    [
                        who,
                        ("category", "valueCodeableConcept", {"coding": [coding]}),
                        ("count", "valueUnsignedInt", max(0, used.count(category))),
                        ("amount", "valueMoney", _money(used.amount(category), currency)),
                    ],
                )
            )
        for prefix, amounts in (("ded", used.deducted), ("rem", used.remunerated)):
            for care in ("g", "ip", "op"):
                value = amounts.get(care)
                if value:
                    coding = {"system": AMOUNT_KIND_SYSTEM, "code": f"{prefix}-{care}"}
                    extensions.append(
                        _part(
                            AMOUNT,
                            [
                                who,
                                ("kind", "valueCodeableConcept", {"coding": [coding]}),
                                ("amount", "valueMoney", _money(value, currency)),
                            ],
                        )
                    )
    account: Json = {
        "resourceType": "Account",
        "id": ledger_id(ledger.coverage_id),
        "meta": {"profile": [PROFILE]},
    }
    if extensions:  # no empty arrays in FHIR JSON
        account["extension"] = extensions
    account["status"] = "active"
    account["name"] = f"Consumption under Coverage/{ledger.coverage_id}"
    account["coverage"] = [{"coverage": {"reference": f"Coverage/{ledger.coverage_id}"}}]
    return account


def _parts(ext: Json) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for part in ext.get("extension") or ():
        for key, value in part.items():
            if key.startswith("value"):
                out[part.get("url")] = value
    return out


def _code(concept: Any) -> str:
    for coding in (concept or {}).get("coding") or ():
        return str(coding.get("code"))
    return ""


def _insuree(ref: Any) -> str:
    reference = str((ref or {}).get("reference") or "")
    return reference.rpartition("/")[2]


def from_account(account: Json, coverage_id: str, version: int) -> Ledger:
    """Read the ``Account`` of a ledger back (``version``: the stored version it came from)."""
    claims: set[str] = set()
    quantities: dict[str, dict[tuple[str, str], Decimal]] = {}
    counts: dict[str, dict[str, int]] = {}
    amounts: dict[str, dict[str, Decimal]] = {}
    booked: dict[str, dict[str, Decimal]] = {}
    currency: str | None = None
    for ext in account.get("extension") or ():
        url = ext.get("url")
        if url == CLAIM:
            claims.add(str(ext.get("valueString")))
            continue
        if url not in (QUANTITY, CATEGORY, AMOUNT):
            continue
        parts = _parts(ext)
        who = _insuree(parts.get("insuree"))
        if url == QUANTITY:
            coding = parts.get("code") or {}
            key = (_KIND_OF_SYSTEM.get(str(coding.get("system")), "item"), str(coding.get("code")))
            quantities.setdefault(who, {})[key] = Decimal(str(parts.get("quantity", 0)))
        elif url == CATEGORY:
            category = CATEGORY_OF_SERVICE.get(_code(parts.get("category")))
            if category is None:
                continue
            money = parts.get("amount") or {}
            currency = currency or money.get("currency")
            counts.setdefault(who, {})[category] = int(parts.get("count", 0))
            amounts.setdefault(who, {})[category] = Decimal(str(money.get("value", 0)))
        else:
            money = parts.get("amount") or {}
            currency = currency or money.get("currency")
            kind = _code(parts.get("kind"))
            booked.setdefault(who, {})[kind] = Decimal(str(money.get("value", 0)))
    insurees: dict[str, InsureeConsumption] = {}
    for who in set(quantities) | set(counts) | set(booked):
        b = booked.get(who, {})
        zero = Decimal(0)
        insurees[who] = InsureeConsumption(
            quantities=MappingProxyType(quantities.get(who, {})),
            category_counts=MappingProxyType(counts.get(who, {})),
            category_amounts=MappingProxyType(amounts.get(who, {})),
            deducted=Amounts(b.get("ded-g", zero), b.get("ded-ip", zero), b.get("ded-op", zero)),
            remunerated=Amounts(b.get("rem-g", zero), b.get("rem-ip", zero), b.get("rem-op", zero)),
        )
    return Ledger(coverage_id, MappingProxyType(insurees), frozenset(claims), currency, version)


def from_stored(stored: StoredVersion | None, coverage_id: str) -> Ledger:
    """The ledger in ``stored`` (its Account version), or an empty one at that version."""
    if stored is None:
        return Ledger(coverage_id)
    if stored.deleted or not stored.body:
        return Ledger(coverage_id, version=stored.version)
    return from_account(fhirjson.loads(stored.body), coverage_id, stored.version)


async def load_ledger(tx: Transaction, coverage_id: str) -> Ledger:
    """The ledger of ``coverage_id`` as this unit of work sees it (empty when never written)."""
    return from_stored(await tx.read("Account", ledger_id(coverage_id)), coverage_id)


async def save_ledger(server: Server, tx: Transaction, ledger: Ledger) -> Ledger:
    """Write ``ledger`` in ``tx``, as the version after ``ledger.version`` (``VersionConflict``
    from the store when another writer got there first). Returns it at its new version."""
    account = to_account(ledger)
    prepared = prepare(server, account, "Account")
    await enforce(server, prepared.resource)
    rid = ledger_id(ledger.coverage_id)
    current = (
        None if ledger.version == 0 else StoredVersion("Account", rid, ledger.version, "", 0, False, b"")
    )
    op = await write(server, tx, prepared, "Account", rid, current, "PUT" if current else "POST")
    return Ledger(ledger.coverage_id, ledger.insurees, ledger.claims, ledger.currency, op.version)
