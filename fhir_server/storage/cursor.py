"""Opaque keyset cursors shared by the backends: base64url of a small JSON list."""

from __future__ import annotations

import base64
import json
from typing import Any

from ..errors import InvalidError


def encode(values: list[Any]) -> str:
    raw = json.dumps(values, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: str, length: int | None = None) -> list[Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise InvalidError("Invalid paging cursor", expression="_cursor") from None
    if not isinstance(values, list) or (length is not None and len(values) != length):
        raise InvalidError("Invalid paging cursor", expression="_cursor")
    return values
