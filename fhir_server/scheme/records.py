"""Small helpers the scheme services share: our canonical names, reading a resource inside
the unit of work, nested writes (``hooks=False``), references and extensions."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from .. import clock, fhirjson
from ..insurance.policy_dates import fhir_date

if TYPE_CHECKING:
    from ..server import Server
    from ..storage.protocol import Method, StoredVersion, Transaction

Json = dict[str, Any]

IG = "https://openimis.org/fhir"
SD = f"{IG}/StructureDefinition/"
INSUREE_PROFILE = SD + "insuree"
FAMILY_PROFILE = SD + "family"
INSURANCE_NUMBER_SYSTEM = f"{IG}/insurance-number"
SCHEME_TAG_SYSTEM = f"{IG}/CodeSystem/scheme-tag"
INSUREE_STATUS_SYSTEM = f"{IG}/CodeSystem/insuree-status"

EXT_FAMILY_HEAD = SD + "family-head"
EXT_INSUREE_FAMILY = SD + "insuree-family"
EXT_INSUREE_IS_HEAD = SD + "insuree-is-head"
EXT_INSUREE_STATUS = SD + "insuree-status"


def claims(resource: Json, profile: str) -> bool:
    meta = resource.get("meta")
    profiles = meta.get("profile") if isinstance(meta, dict) else None
    return isinstance(profiles, list) and any(
        isinstance(p, str) and p.split("|", 1)[0] == profile for p in profiles
    )


def is_imported(resource: Json) -> bool:
    """Tagged ``scheme-tag#imported`` (legacy migration): computed changes are skipped."""
    meta = resource.get("meta")
    tags = meta.get("tag") if isinstance(meta, dict) else None
    return isinstance(tags, list) and any(
        isinstance(t, dict) and t.get("system") == SCHEME_TAG_SYSTEM and t.get("code") == "imported"
        for t in tags
    )


def body(stored: StoredVersion | None) -> Json | None:
    """The stored JSON of a current, non-deleted version (None otherwise)."""
    if stored is None or stored.deleted or not stored.body:
        return None
    out = fhirjson.loads(stored.body)
    return out if isinstance(out, dict) else None


async def read(tx: Transaction, resource_type: str, id: str) -> tuple[StoredVersion | None, Json | None]:
    stored = await tx.read(resource_type, id)
    return stored, body(stored)


def ref_id(reference: Any, resource_type: str, base_url: str = "") -> str | None:
    """The id of a ``resource_type`` in a literal reference (relative, or absolute on this
    server; a version is ignored); None for anything else."""
    if not isinstance(reference, dict):
        return None
    ref = reference.get("reference")
    if not isinstance(ref, str):
        return None
    if base_url and ref.startswith(base_url.rstrip("/") + "/"):
        ref = ref[len(base_url.rstrip("/")) + 1 :]
    ref = ref.split("/_history/", 1)[0]
    parts = ref.split("/")
    if len(parts) == 2 and parts[0] == resource_type and parts[1]:
        return parts[1]
    return None


def extension(resource: Json, url: str) -> tuple[int, Json] | None:
    """The first extension with ``url`` and its index."""
    for i, e in enumerate(resource.get("extension") or ()):
        if isinstance(e, dict) and e.get("url") == url:
            return i, e
    return None


def set_extension(resource: Json, url: str, value: Json | None) -> None:
    """Replace (or remove, when ``value`` is None) the extensions with ``url`` in place;
    ``value`` is the ``value[x]`` part, e.g. ``{"valueBoolean": True}``."""
    exts = [e for e in resource.get("extension") or () if not (isinstance(e, dict) and e.get("url") == url)]
    if value is not None:
        exts.append({"url": url, **value})
    if exts:
        resource["extension"] = exts
    else:
        resource.pop("extension", None)


def require_atomic(server: Server, what: str) -> None:
    """A scheme rule that must change another resource (``what``) in the same unit of work
    needs a store with transactions; refused clearly on one without (MongoDB standalone)."""
    if not server.store.supports_transactions:
        from ..errors import NotSupportedError

        raise NotSupportedError(
            f"This write must also change {what} in the same unit of work, which this "
            f"{server.store.name} store cannot do atomically (MongoDB needs a replica set)"
        )


async def put_nested(server: Server, tx: Transaction, resource: Json, current: StoredVersion | None) -> None:
    """Write ``resource`` (its ``id`` set) after ``current`` in this unit, without the hooks."""
    from ..interactions.resources import prepare, write

    rtype = resource["resourceType"]
    require_atomic(server, f"{rtype}/{resource['id']}")
    prepared = prepare(server, resource, rtype)
    method: Method = "PUT" if current is not None and not current.deleted else "POST"
    await write(server, tx, prepared, rtype, resource["id"], current, method, hooks=False)


async def delete_nested(server: Server, tx: Transaction, current: StoredVersion) -> None:
    from ..interactions.resources import write

    require_atomic(server, f"{current.resource_type}/{current.id}")
    if not current.deleted:
        await write(server, tx, None, current.resource_type, current.id, current, "DELETE", hooks=False)


def today() -> dt.date:
    """The scheme's current day (``clock.today``, read at each call)."""
    return clock.today()


to_date = fhir_date


def is_insuree(resource: Json) -> bool:
    """A Patient the scheme's rules govern: claims our insuree profile or carries an
    insurance number (other Patients, e.g. the official R4 examples, are untouched)."""
    if claims(resource, INSUREE_PROFILE):
        return True
    return any(
        isinstance(i, dict) and i.get("system") == INSURANCE_NUMBER_SYSTEM
        for i in resource.get("identifier") or ()
    )


def is_family(resource: Json) -> bool:
    """A Group the scheme's rules govern: claims our family profile or names a head."""
    return claims(resource, FAMILY_PROFILE) or extension(resource, EXT_FAMILY_HEAD) is not None


def insurance_numbers(resource: Json) -> list[tuple[int, str]]:
    """(identifier index, value) of the insurance numbers (a missing value is "")."""
    out: list[tuple[int, str]] = []
    for i, ident in enumerate(resource.get("identifier") or ()):
        if isinstance(ident, dict) and ident.get("system") == INSURANCE_NUMBER_SYSTEM:
            value = ident.get("value")
            out.append((i, value if isinstance(value, str) else ""))
    return out


def head_id(group: Json, base_url: str = "") -> str | None:
    found = extension(group, EXT_FAMILY_HEAD)
    return ref_id(found[1].get("valueReference"), "Patient", base_url) if found else None


def member_ids(group: Json, base_url: str = "") -> list[str]:
    out: list[str] = []
    for m in group.get("member") or ():
        pid = ref_id(m.get("entity"), "Patient", base_url) if isinstance(m, dict) else None
        if pid is not None:
            out.append(pid)
    return out


def family_of(patient: Json, base_url: str = "") -> str | None:
    """The Group id the insuree's ``insuree-family`` extension names."""
    found = extension(patient, EXT_INSUREE_FAMILY)
    return ref_id(found[1].get("valueReference"), "Group", base_url) if found else None


def set_membership(patient: Json, family_id: str | None, is_head: bool) -> bool:
    """Point the insuree at its family (``insuree-family``, ``insuree-is-head``) in place;
    True when that changed anything."""
    before = (extension(patient, EXT_INSUREE_FAMILY), extension(patient, EXT_INSUREE_IS_HEAD))
    if family_id is None:
        set_extension(patient, EXT_INSUREE_FAMILY, None)
        set_extension(patient, EXT_INSUREE_IS_HEAD, None)
    else:
        fam = extension(patient, EXT_INSUREE_FAMILY)
        if fam is None or ref_id(fam[1].get("valueReference"), "Group") != family_id:
            set_extension(
                patient, EXT_INSUREE_FAMILY, {"valueReference": {"reference": f"Group/{family_id}"}}
            )
        flag = extension(patient, EXT_INSUREE_IS_HEAD)
        if flag is None or flag[1].get("valueBoolean") is not is_head:
            set_extension(patient, EXT_INSUREE_IS_HEAD, {"valueBoolean": is_head})
    after = (extension(patient, EXT_INSUREE_FAMILY), extension(patient, EXT_INSUREE_IS_HEAD))
    return before != after


async def current_family(
    tx: Transaction, patient: Json | None, patient_id: str, base_url: str = ""
) -> tuple[str, StoredVersion, Json] | None:
    """The family the insuree belongs to: the Group its ``insuree-family`` names, when that
    Group is a current family listing it (id, stored version, JSON)."""
    if patient is None:
        return None
    fid = family_of(patient, base_url)
    if fid is None:
        return None
    stored, group = await read(tx, "Group", fid)
    if (
        stored is None
        or group is None
        or not is_family(group)
        or patient_id not in member_ids(group, base_url)
    ):
        return None
    return fid, stored, group
