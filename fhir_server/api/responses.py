"""Turning interaction results and errors into HTTP responses (the one place for OperationOutcome)."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from .. import clock, fhirjson
from ..errors import FhirError, Issue
from ..interactions.bundles import outcome
from ..interactions.result import Result
from ..storage.protocol import StoredVersion


class Formatter:
    def __init__(self, media: str, pretty: bool) -> None:
        self.media = media
        self.pretty = pretty

    def render(
        self, content: bytes | Any, status: int = 200, headers: dict[str, str] | None = None
    ) -> Response:
        body = content if isinstance(content, bytes) else fhirjson.dumps(content)
        if self.pretty and body:
            body = fhirjson.pretty(body)
        return Response(body, status, headers=headers, media_type=f"{self.media}; charset=utf-8")


def version_headers(stored: StoredVersion, base: str, location: bool) -> dict[str, str]:
    headers = {
        "ETag": f'W/"{stored.version}"',
        "Last-Modified": clock.http_date(stored.last_updated_us),
    }
    if location:
        headers["Location"] = f"{base}/{stored.resource_type}/{stored.id}/_history/{stored.version}"
        headers["Content-Location"] = headers["Location"]
    return headers


def error_response(err: FhirError, fmt: Formatter) -> Response:
    return fmt.render(outcome(err.issues), err.status, headers=dict(err.headers) or None)


def result_response(result: Result, fmt: Formatter, base: str, prefer_return: str | None) -> Response:
    headers = dict(result.headers)
    stored = result.stored
    if stored is not None and not stored.deleted:
        headers.update(version_headers(stored, base, result.location))
    elif stored is not None:
        headers["ETag"] = f'W/"{stored.version}"'
    if result.body is not None:
        return fmt.render(result.body, result.status, headers)
    if prefer_return == "minimal":
        return Response(b"", result.status, headers=headers)
    if prefer_return == "OperationOutcome" or stored is None or stored.deleted:
        issues = result.issues or [Issue("information", "informational", "Done")]
        return fmt.render(outcome(issues), result.status, headers)
    return fmt.render(stored.body, result.status, headers)
