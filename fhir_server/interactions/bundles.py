"""Assembling Bundles from stored bytes without re-parsing them (msgspec.Raw)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import msgspec

from ..errors import Issue
from ..storage.protocol import StoredVersion


def full_url(base: str, stored: StoredVersion) -> str:
    """A contained resource is identified through its container (search.html, Contained
    Resources: ``http://example.com/fhir/MedicationRequest/23#m1``)."""
    if stored.container is not None:
        return f"{base}/{stored.container}#{stored.id}"
    return f"{base}/{stored.resource_type}/{stored.id}"


def raw(body: bytes) -> msgspec.Raw:
    return msgspec.Raw(body)


def outcome(issues: list[Issue]) -> dict[str, Any]:
    return {"resourceType": "OperationOutcome", "issue": [i.to_fhir() for i in issues]}


def link(url: str, params: list[tuple[str, str]]) -> str:
    return f"{url}?{urlencode(params)}" if params else url


def bundle(type_: str, entries: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"resourceType": "Bundle", "type": type_}
    out.update({k: v for k, v in extra.items() if v is not None})
    out["entry"] = entries
    if not entries:
        del out["entry"]
    return out
