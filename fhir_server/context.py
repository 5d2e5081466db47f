"""What an interaction needs to know about the request, in plain values."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Prefer:
    """The ``Prefer`` header (http.html#ops): return=... and handling=..."""

    return_: str | None = None  # minimal | representation | OperationOutcome
    handling: str | None = None  # strict | lenient

    @classmethod
    def parse(cls, header: str | None) -> Prefer:
        ret = handling = None
        for part in (header or "").split(","):
            for item in part.split(";"):
                key, _, value = item.strip().partition("=")
                value = value.strip().strip('"')
                if key.strip() == "return":
                    ret = value
                elif key.strip() == "handling":
                    handling = value
        return cls(ret, handling)


@dataclass(frozen=True)
class RequestContext:
    base_url: str
    prefer: Prefer = field(default_factory=Prefer)
    request_id: str = ""

    @property
    def strict(self) -> bool:
        return self.prefer.handling == "strict"

    @staticmethod
    def new_id() -> str:
        return str(uuid.uuid4())
