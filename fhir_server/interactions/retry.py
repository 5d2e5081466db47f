"""Retrying a unit of work that lost an optimistic race (http.html#concurrency).

Without If-Match the client asked for "the latest version", so a write that found the
resource changed under it is simply redone on the new version; with If-Match the
client named the version, so the loss is a 412.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from ..errors import PreconditionFailedError
from ..server import Server
from ..storage.protocol import Transaction, VersionConflict
from .result import Result

RETRIES = 5


async def with_retries(
    server: Server, unit: Callable[[Transaction], Awaitable[Result]], *, if_match: str | None, what: str
) -> Result:
    for attempt in range(RETRIES):
        try:
            async with server.store.transaction() as tx:
                return await unit(tx)
        except VersionConflict:
            if if_match is not None or attempt == RETRIES - 1:
                raise PreconditionFailedError(
                    f"{what} was changed concurrently", expression="If-Match"
                ) from None
    raise AssertionError("unreachable")
