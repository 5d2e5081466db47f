"""The shared result type of the insurance rules.

Every rule in ``fhir_server.insurance`` answers with a :class:`Decision`: whether
the input is acceptable, a stable machine-readable ``reason`` code, a human
message, and any computed values or evidence in ``details``. Services turn a
refusing decision into an ``InvalidError``; they never re-derive the reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Decision:
    """Outcome of one business rule, with its reason."""

    ok: bool
    reason: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def accept(cls, reason: str, message: str, **details: Any) -> Decision:
        return cls(True, reason, message, dict(details))

    @classmethod
    def refuse(cls, reason: str, message: str, **details: Any) -> Decision:
        return cls(False, reason, message, dict(details))
