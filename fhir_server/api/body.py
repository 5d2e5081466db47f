"""Reading request bodies within the configured size limit (413 beyond it)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from .. import fhirjson
from ..errors import InvalidError, TooLargeError


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise TooLargeError(f"The request body ({declared} bytes) exceeds the limit of {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLargeError(f"The request body exceeds the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def parse_json(raw: bytes) -> Any:
    if not raw.strip():
        raise InvalidError("The request has no body: a FHIR resource is required", issue_code="required")
    value = fhirjson.loads(raw)
    fhirjson.check_depth(value)
    return value
