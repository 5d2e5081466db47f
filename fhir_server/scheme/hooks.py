"""Write hooks: the scheme's rules run inside the unit of work of every write.

Every create, update, patch and delete (REST, batch, transaction, packages) goes
through ``interactions.resources.write``; when a hook is registered for the type it
runs there, inside the same transaction, before the version is written. A hook may:

- refuse the write (raise a ``FhirError``: nothing of the unit is stored);
- return the resource to store instead (computed values, e.g. a policy's value and
  dates); the index is extracted again from what it returns;
- write other resources in the same unit (``write_other``), e.g. the policy a premium
  activates. Those nested writes skip the hooks: the service writing them keeps them
  consistent, and a hook never re-enters itself;
- add warnings (``warn``) that the interaction returns in its OperationOutcome.

Hooks are registered per resource type on the ``Server`` (``server.write_hooks``) by
``scheme/register.py``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import SCHEME_RULE_SYSTEM, Issue

if TYPE_CHECKING:
    from ..server import Server
    from ..storage.protocol import Method, StoredVersion, Transaction

Json = dict[str, Any]

_WARNINGS: ContextVar[list[Issue] | None] = ContextVar("scheme_warnings", default=None)


@dataclass
class WriteEvent:
    """One write about to happen: ``resource`` is the new content (None for a delete)."""

    server: Server
    tx: Transaction
    resource_type: str
    id: str
    resource: Json | None
    current: StoredVersion | None
    method: Method
    # run after this write is in the unit (``then``), e.g. a service that reads what was written
    after: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    def warn(self, message: str, expression: str | None = None, reason: str | None = None) -> None:
        warn(message, expression, reason)

    def then(self, step: Callable[[], Awaitable[None]]) -> None:
        """Run ``step`` in this unit once the write itself is in it (reads in the unit see it)."""
        self.after.append(step)


class Existing(Exception):
    """Raised by a hook when the write repeats one already stored (an offline client's retry):
    the create answers 200 with ``resource_type/id`` and stores nothing (as If-None-Exist does)."""

    def __init__(self, resource_type: str, id: str, message: str) -> None:
        super().__init__(message)
        self.resource_type, self.id, self.message = resource_type, id, message


Hook = Callable[[WriteEvent], Awaitable["Json | None"]]


@dataclass
class WriteHooks:
    by_type: dict[str, list[Hook]] = field(default_factory=dict)
    completing: set[str] = field(default_factory=set)

    def register(self, resource_type: str, hook: Hook, *, completes: bool = False) -> None:
        """``completes``: the hook fills in what the server computes (a policy's value, dates,
        status...), so the type is validated (base and profiles) after the hooks, on what
        will be stored, instead of before them on what the client sent."""
        self.by_type.setdefault(resource_type, []).append(hook)
        if completes:
            self.completing.add(resource_type)

    def has(self, resource_type: str) -> bool:
        return resource_type in self.by_type

    def completes(self, resource_type: object) -> bool:
        return resource_type in self.completing

    async def run(self, event: WriteEvent) -> Json | None:
        """Run the type's hooks in order; each sees the previous one's result."""
        for hook in self.by_type.get(event.resource_type, ()):
            event.resource = await hook(event)
        return event.resource


def warn(message: str, expression: str | None = None, reason: str | None = None) -> None:
    """Record a warning for the current request's outcome (ignored outside ``start_collecting``)."""
    sink = _WARNINGS.get()
    if sink is not None:
        sink.append(
            Issue(
                "warning",
                "business-rule",
                message,
                (expression,) if expression else (),
                reason,
                SCHEME_RULE_SYSTEM if reason else None,
            )
        )


def start_collecting() -> list[Issue]:
    """Start collecting warnings in this context; returns the list they go to."""
    sink: list[Issue] = []
    _WARNINGS.set(sink)
    return sink


def drain() -> list[Issue]:
    """The warnings collected so far in this context (then cleared)."""
    sink = _WARNINGS.get()
    if not sink:
        return []
    out = list(sink)
    sink.clear()
    return out


# ---------------------------------------------------------------- deferred checks

Deferred = Callable[[], Awaitable[None]]
_DEFERRED: ContextVar[list[Deferred] | None] = ContextVar("scheme_deferred", default=None)


def start_deferring() -> list[Deferred]:
    """Start a unit whose writes arrive in any order (a transaction Bundle): checks that
    depend on a resource written later in the unit are deferred to ``run_deferred``."""
    pending: list[Deferred] = []
    _DEFERRED.set(pending)
    return pending


def deferring() -> bool:
    """True inside a unit that runs deferred checks before it commits."""
    return _DEFERRED.get() is not None


def defer(check: Deferred) -> None:
    """Run ``check`` at the end of the unit (``run_deferred``); it may raise to refuse it."""
    pending = _DEFERRED.get()
    if pending is None:
        raise RuntimeError("defer() outside a unit that runs deferred checks")
    pending.append(check)


async def run_deferred() -> None:
    """Run (and forget) the deferred checks, in order; a check may defer no further."""
    pending = _DEFERRED.get()
    _DEFERRED.set(None)
    for check in pending or ():
        await check()
