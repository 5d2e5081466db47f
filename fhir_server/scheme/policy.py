"""Policies (Coverage claiming our ``policy`` profile): value, dates, status and members.

Work in progress on main (issue 5): the lead fills this module; ``sync_family_policies``
is the entry point the family and insuree services call after a membership or status change.
"""

from __future__ import annotations

from datetime import date

from ..server import Server
from ..storage.protocol import Transaction


async def sync_family_policies(server: Server, tx: Transaction, family_id: str, day: date) -> None:
    """Re-derive the ``policy-member`` lists of ``family_id``'s current policies on ``day``.

    Placeholder until the policy service lands (same signature); does nothing yet."""
    del server, tx, family_id, day
