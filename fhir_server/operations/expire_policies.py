"""``$expire-policies``: expire the policies whose period has ended (DOMAIN.md §5.1).

``POST [base]/Coverage/$expire-policies`` (optional ``date``, default today; an admin
operation), and the daily job started with the server (``FHIR_POLICY_EXPIRY_INTERVAL``
seconds, 0 disables it). openIMIS's scheduled ``update_renewals`` (legacy
``uspPolicyStatusUpdate``) sets status 8 on current policies with ``expiry_date < now``;
here: every policy (our profile, not imported) whose ``Coverage.period`` ends before the
date and whose status is not already 8 becomes Expired: ``policy-status`` 8 and
``Coverage.status`` cancelled (no longer in force). Each policy is expired in its own unit
of work, so a long run never holds a lock for long and a concurrent write to one policy
is retried. Answer: ``Parameters`` with ``date``, ``expired`` (count) and one ``policy``
reference per policy expired.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import date
from typing import Any

from .. import clock
from ..errors import InvalidError
from ..insurance.contributions import PolicyStatus
from ..scheme import fhir, policy
from ..scheme.premium import write_policy
from ..server import Server
from ..storage.protocol import VersionConflict
from .parameters import OperationParameters
from .registry import OperationAnswer, OperationCall

Json = dict[str, Any]
NAME = "$expire-policies"
BATCH = 500
log = logging.getLogger(__name__)


async def expire_policies(server: Server, day: date) -> list[str]:
    """Expire every policy whose period ended before ``day``; the ids expired."""
    expired: list[str] = []
    skipped: set[str] = set()
    params = [("period", f"eb{day.isoformat()}"), ("policy-status:not", "8")]
    while True:
        async with server.store.transaction() as tx:
            keys = await tx.search_keys(fhir.query(server, "Coverage", params), BATCH + len(skipped))
        todo = [id for _, id in keys if id not in skipped]
        if not todo:
            return expired
        for id in todo:
            if await _expire_one(server, id, day):
                expired.append(id)
            else:
                skipped.add(id)


async def _expire_one(server: Server, id: str, day: date) -> bool:
    for _ in range(3):
        try:
            async with server.store.transaction() as tx:
                found = await fhir.read_json(tx, "Coverage", id)
                if found is None:
                    return False
                current = found[1]
                end = policy.period_of(current)[1]
                if (
                    not policy.is_policy(current)
                    or fhir.imported(current)
                    or policy.status_of(current) is PolicyStatus.EXPIRED
                    or end is None
                    or end >= day
                ):
                    return False
                updated = dict(current)
                policy.set_status(updated, PolicyStatus.EXPIRED)
                await write_policy(server, tx, updated)
                return True
        except VersionConflict:
            continue
    return False


async def operation(server: Server, call: OperationCall) -> OperationAnswer:
    params = OperationParameters.from_body(NAME, call.body) if call.body is not None else None
    text = params.string("date") if params is not None else None
    try:
        day = date.fromisoformat(text) if text else clock.today()
    except ValueError:
        raise InvalidError(f"{NAME}: date '{text}' is not a date (YYYY-MM-DD)", "date") from None
    ids = await expire_policies(server, day)
    body: Json = {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "date", "valueDate": day.isoformat()},
            {"name": "expired", "valueInteger": len(ids)},
            *({"name": "policy", "valueReference": {"reference": f"Coverage/{id}"}} for id in ids),
        ],
    }
    return OperationAnswer(body)


async def daily(server: Server, interval: float) -> None:
    """The expiry job: once at start, then every ``interval`` seconds."""
    while True:
        try:
            ids = await expire_policies(server, clock.today())
            if ids:
                log.info("expired %d policies", len(ids))
        except asyncio.CancelledError:
            raise
        except Exception:  # the job must survive a bad night; the next run retries
            log.exception("the policy expiry job failed")
        await asyncio.sleep(interval)


def register(server: Server) -> None:
    server.operations.add("Coverage", NAME, operation, levels=("type",))

