"""Families (Group claiming our ``family`` profile, or naming a ``family-head``).

DOMAIN.md §1.6 "Group ↔ Family" and §6: a family has one head, who is one of its
members; every member is an existing insuree; a head has one family; ``quantity`` is the
number of current members; "members are moved to the family (change_family)".

The Group is where membership is decided. Writing a family (create or update):

* checks (always, also for ``scheme-tag#imported`` resources): the head
  (``family-head``) is a Patient listed in ``member``; every ``member[i].entity`` is an
  existing, non-deleted insuree, listed once; the head is not already the head of another
  family (one family per head); a member that heads another family cannot be moved out
  of it (that family must name another head first).
* computed (skipped for imported resources): ``quantity``; each member Patient's
  ``insuree-family`` and ``insuree-is-head`` (nested writes, only when they change); a
  member of another family is removed from that family's ``member`` (its ``quantity``
  updated); a Patient dropped from ``member`` no longer names the family. Then the
  policies of every family whose membership changed are re-derived
  (``policy.sync_family_policies``).

Deleting a family detaches its members (openIMIS may delete or detach; we never delete
insurees implicitly).

Order of writes. One by one, insurees come first (Patient → Group): a Patient may name a
family that does not exist yet (see ``insuree.py``); the Group then makes it a member. In
a transaction Bundle the entries may come in any order: a member Patient written later in
the same Bundle is checked when the Bundle's entries have all been written
(``hooks.defer``).

Every nested write (Patients, other families) is in the unit of work of the Group's
write, and versioned: two concurrent writes that both change a Patient's family (two
families claiming the same head or member) collide on the Patient's version, and one of
them is redone or refused.
"""

from __future__ import annotations

import copy
from datetime import date

from ..errors import BusinessRuleError
from ..server import Server
from ..storage.protocol import StoredVersion, Transaction
from . import hooks
from .hooks import WriteEvent
from .policy import sync_family_policies
from .records import (
    EXT_FAMILY_HEAD,
    Json,
    body,
    current_family,
    extension,
    family_of,
    head_id,
    is_family,
    is_imported,
    is_insuree,
    member_ids,
    put_nested,
    read,
    ref_id,
    set_membership,
    today,
)


async def hook(event: WriteEvent) -> Json | None:
    old = body(event.current)
    new = event.resource
    if new is None:
        if old is not None and is_family(old):
            await _detach_all(event, old)
        return None
    if not is_family(new):
        return new
    # a unit redone after a conflict starts again from the client's resource
    return await _write(event, copy.deepcopy(new), old)


async def _write(event: WriteEvent, new: Json, old: Json | None) -> Json:
    server, tx, base = event.server, event.tx, event.server.base_url
    imported = is_imported(new)
    head, head_expr = _head(new, base)
    members: list[tuple[int, str]] = []
    for i, m in enumerate(new.get("member") or ()):
        pid = ref_id(m.get("entity") if isinstance(m, dict) else None, "Patient", base)
        expr = f"Group.member[{i}].entity"
        if pid is None:
            raise BusinessRuleError(
                "A family member is an insuree: member.entity must reference a Patient",
                expr,
                reason="member-not-insuree",
            )
        if any(pid == p for _, p in members):
            raise BusinessRuleError(f"Patient/{pid} is listed twice", expr, reason="member-duplicate")
        members.append((i, pid))
    if head not in {p for _, p in members}:
        raise BusinessRuleError(
            f"The head of the family (Patient/{head}) must be one of its members",
            head_expr,
            reason="head-not-member",
        )

    loaded: dict[str, tuple[StoredVersion, Json]] = {}
    for i, pid in members:
        stored, patient = await read(tx, "Patient", pid)
        if patient is None or not is_insuree(patient):
            if stored is None and hooks.deferring():
                hooks.defer(_later(event, i, pid, pid == head, imported))
                continue
            raise _not_insuree(pid, i, stored)
        assert stored is not None
        loaded[pid] = (stored, patient)

    # members of other families: a head stays; others move here
    moves: dict[str, tuple[StoredVersion, Json, list[str]]] = {}
    for i, pid in members:
        if pid not in loaded:
            continue
        other = await current_family(tx, loaded[pid][1], pid, base)
        if other is None or other[0] == event.id:
            continue
        oid, ostored, ogroup = other
        if head_id(ogroup, base) == pid:
            if pid == head:
                raise BusinessRuleError(
                    f"Patient/{pid} is already the head of Group/{oid}: an insuree heads one family",
                    head_expr,
                    reason="head-has-family",
                )
            raise BusinessRuleError(
                f"Patient/{pid} is the head of Group/{oid}: name another head of Group/{oid} "
                "before moving it to this family",
                f"Group.member[{i}].entity",
                reason="family-head-move",
            )
        moves.setdefault(oid, (ostored, ogroup, []))[2].append(pid)
    if imported:
        return new

    new["quantity"] = len(members)
    day = today()
    for ostored, ogroup, pids in moves.values():
        await _remove_members(server, tx, ostored, ogroup, pids)
    for pid, (stored, patient) in loaded.items():
        if set_membership(patient, event.id, pid == head):
            await put_nested(server, tx, patient, stored)
    if old is not None and is_family(old):
        kept = {p for _, p in members}
        for pid in member_ids(old, base):
            if pid not in kept:
                await _detach(server, tx, pid, event.id)
    resync(event, [event.id, *moves], day)
    return new


def resync(event: WriteEvent, family_ids: list[str], day: date) -> None:
    """Re-derive the policies of ``family_ids`` once the write is in the unit (the policy
    service reads the family and its members as they now are)."""

    async def step() -> None:
        for fid in family_ids:
            await sync_family_policies(event.server, event.tx, fid, day)

    event.then(step)


def _head(group: Json, base: str) -> tuple[str, str]:
    found = extension(group, EXT_FAMILY_HEAD)
    if found is None:
        raise BusinessRuleError(
            "A family names its head (extension family-head)",
            "Group.extension",
            reason="family-head-missing",
            issue_code="required",
        )
    expr = f"Group.extension[{found[0]}].valueReference"
    head = ref_id(found[1].get("valueReference"), "Patient", base)
    if head is None:
        raise BusinessRuleError("The head of a family is a Patient", expr, reason="family-head-reference")
    return head, expr


def _not_insuree(pid: str, i: int, stored: StoredVersion | None) -> BusinessRuleError:
    what = "does not exist" if stored is None else "is deleted" if stored.deleted else "is not an insuree"
    return BusinessRuleError(
        f"Patient/{pid} {what}: every family member must be an existing insuree",
        f"Group.member[{i}].entity",
        reason="member-not-insuree",
    )


def _later(event: WriteEvent, i: int, pid: str, is_head: bool, imported: bool) -> hooks.Deferred:
    """The check of a member Patient written later in the same transaction Bundle."""

    async def check() -> None:
        stored, patient = await read(event.tx, "Patient", pid)
        if patient is None or not is_insuree(patient):
            raise _not_insuree(pid, i, stored)
        assert stored is not None
        if not imported and set_membership(patient, event.id, is_head):
            await put_nested(event.server, event.tx, patient, stored)
            await sync_family_policies(event.server, event.tx, event.id, today())

    return check


async def _remove_members(
    server: Server, tx: Transaction, stored: StoredVersion, group: Json, pids: list[str]
) -> None:
    """Write ``group`` without the members ``pids`` (its quantity updated)."""
    base = server.base_url
    kept = [
        m
        for m in group.get("member") or ()
        if not (isinstance(m, dict) and ref_id(m.get("entity"), "Patient", base) in pids)
    ]
    if kept:
        group["member"] = kept
    else:
        group.pop("member", None)
    if not is_imported(group):
        group["quantity"] = len(kept)
    await put_nested(server, tx, group, stored)


async def remove_member(
    server: Server, tx: Transaction, family: tuple[str, StoredVersion, Json], pid: str, expression: str
) -> None:
    """Take ``pid`` out of ``family`` (a Patient leaving it); its head cannot leave."""
    fid, stored, group = family
    if head_id(group, server.base_url) == pid:
        raise BusinessRuleError(
            f"Patient/{pid} is the head of Group/{fid}: name another head of Group/{fid} first",
            expression,
            reason="family-head-move",
        )
    await _remove_members(server, tx, stored, group, [pid])


async def add_member(server: Server, tx: Transaction, stored: StoredVersion, group: Json, pid: str) -> None:
    """Append ``pid`` to ``group``'s members (its quantity updated)."""
    members = list(group.get("member") or ())
    members.append({"entity": {"reference": f"Patient/{pid}"}})
    group["member"] = members
    if not is_imported(group):
        group["quantity"] = len(members)
    await put_nested(server, tx, group, stored)


async def _detach(server: Server, tx: Transaction, pid: str, family_id: str) -> None:
    """The Patient no longer names ``family_id`` (dropped from it, or the family deleted)."""
    stored, patient = await read(tx, "Patient", pid)
    if stored is None or patient is None or family_of(patient, server.base_url) != family_id:
        return
    set_membership(patient, None, False)
    await put_nested(server, tx, patient, stored)


async def _detach_all(event: WriteEvent, old: Json) -> None:
    for pid in member_ids(old, event.server.base_url):
        await _detach(event.server, event.tx, pid, event.id)
    resync(event, [event.id], today())
