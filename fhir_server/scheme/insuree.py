"""Insurees (Patient claiming our ``insuree`` profile, or carrying an insurance number).

DOMAIN.md §6 and §1.6 "Patient ↔ Insuree". On every create and update of an insuree:

* **Insurance number** (``Patient.identifier`` with system
  ``https://openimis.org/fhir/insurance-number``): the format rules of
  ``insurance/insurance_number.py`` with the scheme's settings (length, modulo root);
  refused with 422, the rule's reason and the openIMIS error number.
* **Unique among current insurees** (openIMIS error 1): each number is held by a marker
  ``Basic/insurance-number-<number>`` (``code`` scheme-tag ``insurance-number``,
  ``subject`` the insuree), written in the same unit of work with the version the unit
  read (0 when none). Two units that both claim a free number both write version 1 of the
  same marker: the store's optimistic concurrency (``VersionConflict``, on SQLite and
  MongoDB alike) lets one commit; the other is redone (``interactions/retry.py``), finds
  the marker held and is refused with ``insurance-number-taken`` (issue ``duplicate``).
  The marker is released (deleted) when the number changes or the insuree is deleted.
  A search-then-write would not do: two MongoDB transactions both see nothing. See
  docs/decisions/0015-members-and-families.md.
* **Family** (computed unless tagged ``scheme-tag#imported``): the Group decides
  membership (``family.py``); ``insuree-family``/``insuree-is-head`` are kept as the
  family says. A Patient naming an existing family that does not list it *joins* it (it is
  appended to the family, and removed from its previous family; the head of a family
  cannot leave it, and a joining Patient cannot claim to be the head). A Patient may name
  a family that does not exist yet **only when that Group id has never been written and
  the Patient belongs to no other family**: it is the Patient → Group loading order (the
  family is written next and lists it); a warning says it is not a member until then. A
  Patient that omits ``insuree-family`` while its family lists it keeps it (leaving a
  family is done on the Group).
* **Status** (``insuree-status`` AC active, IN inactive, DE dead; absent = AC): a change
  re-derives the family's policies (``policy.sync_family_policies``) from the status
  date: ``deceasedDateTime`` for DE when given, otherwise the day of the write. (No
  status-date extension: openIMIS's ``status_date`` is the change's date in practice.)
* **Photo**: ``photo[i].data`` moves to a content-addressed Binary (``photos.py``).

Deleting an insuree releases its numbers and takes it out of its family (the head
cannot be deleted while it heads a family).
"""

from __future__ import annotations

import copy
import hashlib
import re
from urllib.parse import quote

from ..errors import BusinessRuleError
from ..insurance.insurance_number import InsuranceNumberRules, validate_insurance_number
from ..server import Server
from .family import add_member, remove_member, resync
from .hooks import WriteEvent
from .photos import externalize
from .records import (
    EXT_INSUREE_FAMILY,
    EXT_INSUREE_IS_HEAD,
    EXT_INSUREE_STATUS,
    INSURANCE_NUMBER_SYSTEM,
    SCHEME_TAG_SYSTEM,
    Json,
    body,
    current_family,
    delete_nested,
    extension,
    head_id,
    insurance_numbers,
    is_family,
    is_imported,
    is_insuree,
    member_ids,
    put_nested,
    read,
    ref_id,
    set_membership,
    to_date,
    today,
)

MARKER_PREFIX = "insurance-number-"
_ID_SAFE = re.compile(r"^[A-Za-z0-9\-.]{1,47}$")


def marker_id(number: str) -> str:
    """The id of the marker holding ``number``: the number itself when it fits a FHIR id,
    otherwise a hash of it."""
    if _ID_SAFE.match(number):
        return MARKER_PREFIX + number
    return MARKER_PREFIX + "h" + hashlib.sha256(number.encode()).hexdigest()[:40]


def rules_of(server: Server) -> InsuranceNumberRules:
    s = server.settings
    return InsuranceNumberRules(
        length=s.insuree_number_length or None, modulo_root=s.insuree_number_modulo or None
    )


async def hook(event: WriteEvent) -> Json | None:
    old = body(event.current)
    new = event.resource
    old_is = old is not None and is_insuree(old)
    if new is None:
        if old is not None and old_is:
            await _on_delete(event, old)
        return None
    if not is_insuree(new):
        if old is not None and old_is:
            await _release(event, {n for _, n in insurance_numbers(old)})
        return new
    new = copy.deepcopy(new)  # a unit redone after a conflict starts again from the client's resource
    await externalize(event.server, event.tx, new, "Patient")
    numbers = insurance_numbers(new)
    rules = rules_of(event.server)
    for i, number in numbers:
        decision = validate_insurance_number(number, rules)
        if not decision.ok:
            code = decision.details.get("openimis_code")
            raise BusinessRuleError(
                f"{decision.message} (openIMIS error {code})",
                f"Patient.identifier[{i}].value",
                reason=decision.reason,
            )
    await _claim(event, numbers)
    if old is not None and old_is:
        await _release(event, {n for _, n in insurance_numbers(old)} - {n for _, n in numbers})
    if not is_imported(new):
        await _family(event, new, old)
        await _status(event, new, old)
    return new


# ------------------------------------------------------------------ insurance numbers


async def _claim(event: WriteEvent, numbers: list[tuple[int, str]]) -> None:
    server, tx = event.server, event.tx
    seen: set[str] = set()
    for i, number in numbers:
        if number in seen:
            continue
        seen.add(number)
        if not server.store.supports_transactions:
            await _search_check(event, i, number)
            continue
        stored, marker = await read(tx, "Basic", marker_id(number))
        if marker is not None:
            owner = ref_id(marker.get("subject"), "Patient")
            if owner == event.id:
                continue
            if owner is not None and await _holds(event, owner, number):
                raise _taken(number, i)
        await put_nested(server, tx, _marker(number, event.id), stored)


async def _holds(event: WriteEvent, owner: str, number: str) -> bool:
    """Whether Patient ``owner`` is a current insuree with ``number`` (a stale marker,
    e.g. of data written before the markers existed, is taken over)."""
    _, patient = await read(event.tx, "Patient", owner)
    return (
        patient is not None
        and is_insuree(patient)
        and any(n == number for _, n in insurance_numbers(patient))
    )


async def _search_check(event: WriteEvent, i: int, number: str) -> None:
    """Uniqueness on a store without transactions (MongoDB standalone), where the marker
    cannot be written with the insuree: a search for another current insuree with the
    number. Not safe against two concurrent writers (documented in ADR 0015)."""
    from ..interactions.conditional import matches

    value = "".join("\\" + c if c in "\\,$|" else c for c in number)
    criteria = "identifier=" + quote(f"{INSURANCE_NUMBER_SYSTEM}|{value}", safe="")
    for _, pid in await matches(event.server, event.tx, "Patient", criteria, limit=5):
        if pid != event.id:
            raise _taken(number, i)


def _taken(number: str, i: int) -> BusinessRuleError:
    return BusinessRuleError(
        f"The insurance number {number!r} is already used by another insuree (openIMIS error 1)",
        f"Patient.identifier[{i}].value",
        reason="insurance-number-taken",
        issue_code="duplicate",
    )


def _marker(number: str, patient_id: str) -> Json:
    return {
        "resourceType": "Basic",
        "id": marker_id(number),
        "code": {"coding": [{"system": SCHEME_TAG_SYSTEM, "code": "insurance-number"}]},
        "identifier": [{"system": INSURANCE_NUMBER_SYSTEM, "value": number}],
        "subject": {"reference": f"Patient/{patient_id}"},
    }


async def _release(event: WriteEvent, numbers: set[str]) -> None:
    if not event.server.store.supports_transactions:
        return  # no markers there
    for number in numbers:
        stored, marker = await read(event.tx, "Basic", marker_id(number))
        if stored is not None and marker is not None and ref_id(marker.get("subject"), "Patient") == event.id:
            await delete_nested(event.server, event.tx, stored)


# ------------------------------------------------------------------ family


async def _family(event: WriteEvent, new: Json, old: Json | None) -> None:
    server, tx, base = event.server, event.tx, event.server.base_url
    found = extension(new, EXT_INSUREE_FAMILY)
    expr = f"Patient.extension[{found[0]}].valueReference" if found else "Patient.extension"
    family_id = ref_id(found[1].get("valueReference"), "Group", base) if found else None
    if found is not None and family_id is None:
        raise BusinessRuleError(
            "insuree-family must reference a Group (the family)", expr, reason="family-reference"
        )
    mine = await current_family(tx, old, event.id, base)
    if family_id is None:
        if mine is not None:  # membership is left on the Group: keep it
            set_membership(new, mine[0], head_id(mine[2], base) == event.id)
        return
    stored, group = await read(tx, "Group", family_id)
    if group is None:
        if stored is not None:
            raise BusinessRuleError(f"Group/{family_id} is deleted", expr, reason="family-unknown")
        if mine is not None:
            raise BusinessRuleError(
                f"Patient/{event.id} is a member of Group/{mine[0]}; Group/{family_id} does not exist: "
                "write the new family first (listing this Patient) to move it",
                expr,
                reason="family-unknown",
            )
        event.warn(
            f"Group/{family_id} does not exist yet: this insuree becomes its member when the family lists it",
            expr,
            "family-pending",
        )
        return
    if not is_family(group):
        raise BusinessRuleError(f"Group/{family_id} is not a family", expr, reason="family-unknown")
    assert stored is not None
    if event.id in member_ids(group, base):
        set_membership(new, family_id, head_id(group, base) == event.id)
        return
    # joining an existing family
    flag = extension(new, EXT_INSUREE_IS_HEAD)
    if flag is not None and flag[1].get("valueBoolean") is True:
        raise BusinessRuleError(
            f"A Patient joining Group/{family_id} cannot be its head: name the new head on the Group",
            f"Patient.extension[{flag[0]}].valueBoolean",
            reason="family-head-join",
        )
    day = today()
    if mine is not None:
        await remove_member(server, tx, mine, event.id, expr)
    await add_member(server, tx, stored, group, event.id)
    set_membership(new, family_id, False)
    resync(event, [mine[0], family_id] if mine is not None else [family_id], day)


async def _on_delete(event: WriteEvent, old: Json) -> None:
    await _release(event, {n for _, n in insurance_numbers(old)})
    mine = await current_family(event.tx, old, event.id, event.server.base_url)
    if mine is None:
        return
    await remove_member(event.server, event.tx, mine, event.id, "Patient")
    resync(event, [mine[0]], today())


# ------------------------------------------------------------------ status


def status_of(patient: Json | None) -> str:
    """AC, IN or DE (absent: AC)."""
    if patient is None:
        return "AC"
    found = extension(patient, EXT_INSUREE_STATUS)
    if found is None:
        return "AC"
    for coding in (found[1].get("valueCodeableConcept") or {}).get("coding") or ():
        if isinstance(coding, dict) and isinstance(coding.get("code"), str):
            return str(coding["code"])
    return "AC"


async def _status(event: WriteEvent, new: Json, old: Json | None) -> None:
    before, after = status_of(old), status_of(new)
    if before == after and (old is None or old.get("deceasedDateTime") == new.get("deceasedDateTime")):
        return
    if old is None and after == "AC":
        return
    mine = await current_family(event.tx, new, event.id, event.server.base_url)
    if mine is None:
        return
    day = (to_date(new.get("deceasedDateTime")) if after == "DE" else None) or today()
    resync(event, [mine[0]], day)
