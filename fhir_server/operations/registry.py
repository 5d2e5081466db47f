"""Operations registered at start-up (the scheme's ``$record-premium``, ``$submit`` ...).

``routes.py`` dispatches ``[base]/$name``, ``[base]/[type]/$name`` and
``[base]/[type]/[id]/$name`` to the handler registered for (type, name); the handler
gets an :class:`OperationCall` and answers with an :class:`OperationAnswer`.
Registration: ``scheme/register.py`` (``server.operations.add(...)``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from ..server import Server

Level = Literal["system", "type", "instance"]


@dataclass(frozen=True)
class OperationCall:
    method: str  # GET | POST
    name: str  # with the leading $
    resource_type: str | None
    id: str | None
    params: list[tuple[str, str]]  # the query string (GET), without _format/_pretty
    body: Any  # the parsed JSON body (POST), or None

    @property
    def level(self) -> Level:
        if self.resource_type is None:
            return "system"
        return "type" if self.id is None else "instance"


@dataclass
class OperationAnswer:
    body: dict[str, Any]  # a resource: Parameters, the resource itself, an OperationOutcome ...
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[["Server", OperationCall], Awaitable[OperationAnswer]]


@dataclass(frozen=True)
class Registered:
    handler: Handler
    levels: frozenset[Level]
    methods: frozenset[str] = frozenset({"POST"})
    definition: str = ""  # the id of its OperationDefinition in profiles/


@dataclass
class Operations:
    by_key: dict[tuple[str | None, str], Registered] = field(default_factory=dict)

    def add(
        self,
        resource_type: str | None,
        name: str,
        handler: Handler,
        levels: tuple[Level, ...],
        methods: tuple[str, ...] = ("POST",),
        definition: str | None = None,
    ) -> None:
        """Register ``name`` (with its $) on ``resource_type`` (None: system level); ``definition``
        is the id of its OperationDefinition in profiles/ (default: the name without $)."""
        self.by_key[(resource_type, name)] = Registered(
            handler, frozenset(levels), frozenset(methods), definition or name.lstrip("$")
        )

    def of_type(self, resource_type: str | None) -> list[tuple[str, Registered]]:
        """The operations registered on ``resource_type``, by name."""
        return sorted((n, r) for (t, n), r in self.by_key.items() if t == resource_type)

    def find(self, resource_type: str | None, name: str) -> Registered | None:
        return self.by_key.get((resource_type, name))
