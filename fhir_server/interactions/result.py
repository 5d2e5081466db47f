"""The plain result of an interaction; ``api/`` turns it into an HTTP response."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import Issue
from ..storage.protocol import StoredVersion


@dataclass
class Result:
    status: int
    stored: StoredVersion | None = None  # the resource version concerned (ETag, Location)
    body: Any = None  # a dict (Bundle, OperationOutcome, Parameters...) instead of stored bytes
    location: bool = False  # send Location (create, update-as-create)
    issues: list[Issue] = field(default_factory=list)  # informational outcome
    headers: dict[str, str] = field(default_factory=dict)
