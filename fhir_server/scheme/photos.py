"""Insuree photos: stored once as a ``Binary``, the Patient keeps a reference.

openIMIS writes the photo bytes to disk and keeps folder/filename in ``InsureePhoto``
(DOMAIN.md §6 "Photos"). Here the bytes go to a ``Binary`` whose id is derived from the
content (``photo-<sha1 hex>``), so the same photo sent twice (a renewal, a re-sent
enrolment) is stored once. The Patient keeps ``photo[i]`` as an Attachment without
``data``: ``contentType``, ``url`` (``Binary/<id>``), ``size``, ``hash``, ``title``,
``creation``. R4 Attachment.hash: "The calculated hash of the data using SHA-1.
Represented using base64"; a given ``hash`` that contradicts the data is refused (422).

Binary read (binary.html): Binary resources "are served in their native form on the
rest interface, but can also be represented in XML or JSON"; http.html#binary: a read
whose ``Accept`` is not a FHIR content type returns the content itself with
``Content-Type`` = ``Binary.contentType`` (:func:`raw_response`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from typing import TYPE_CHECKING, Any

from starlette.responses import Response

from .. import fhirjson
from ..errors import BusinessRuleError
from .records import Json, put_nested

if TYPE_CHECKING:
    from ..server import Server
    from ..storage.protocol import StoredVersion, Transaction

FHIR_TYPES = ("application/fhir+json", "application/json", "application/fhir+xml", "application/xml")


def binary_id(data: bytes) -> str:
    return "photo-" + hashlib.sha1(data, usedforsecurity=False).hexdigest()


def sha1_base64(data: bytes) -> str:
    return base64.b64encode(hashlib.sha1(data, usedforsecurity=False).digest()).decode("ascii")


async def externalize(server: Server, tx: Transaction, resource: Json, resource_type: str) -> None:
    """Move every ``photo[i].data`` of ``resource`` into a content-addressed Binary, in place."""
    photos = resource.get("photo")
    if not isinstance(photos, list):
        return
    for i, photo in enumerate(photos):
        if not isinstance(photo, dict) or not isinstance(photo.get("data"), str):
            continue
        where = f"{resource_type}.photo[{i}]"
        try:
            data = base64.b64decode(photo["data"], validate=True)
        except (binascii.Error, ValueError):
            raise BusinessRuleError(
                "The photo data is not valid base64", f"{where}.data", reason="photo-data"
            ) from None
        if len(data) > server.settings.max_body_bytes:
            raise BusinessRuleError(
                f"The photo has {len(data)} bytes; at most {server.settings.max_body_bytes} are accepted",
                f"{where}.data",
                reason="photo-too-large",
                status=413,
                issue_code="too-costly",
            )
        digest = sha1_base64(data)
        given = photo.get("hash")
        if given is not None and given != digest:
            raise BusinessRuleError(
                f"The photo hash {given!r} does not match its data (SHA-1 {digest!r})",
                f"{where}.hash",
                reason="photo-hash-mismatch",
                issue_code="invalid",
            )
        content_type = photo.get("contentType") or "application/octet-stream"
        bid = binary_id(data)
        current = await tx.read("Binary", bid)
        if current is None or current.deleted:
            await put_nested(
                server,
                tx,
                {"resourceType": "Binary", "id": bid, "contentType": content_type, "data": photo["data"]},
                current,
            )
        kept = {k: v for k, v in photo.items() if k not in ("data", "url", "size", "hash")}
        kept.update({"contentType": content_type, "url": f"Binary/{bid}", "size": len(data), "hash": digest})
        photos[i] = kept


def _media(value: str) -> str:
    return value.split(";", 1)[0].strip().lower()


def raw_response(accept: str | None, stored: StoredVersion) -> Response | None:
    """The Binary's bytes with its contentType when ``accept`` asks for a non-FHIR type
    that the content satisfies; None: answer with the FHIR resource."""
    if not accept or not stored.body:
        return None
    wanted = [_media(a) for a in accept.split(",")]
    if any(w in FHIR_TYPES or w.endswith("+json") or w.endswith("+xml") for w in wanted):
        return None
    if all(w in ("*/*", "") for w in wanted):  # no preference (curl's default): the resource
        return None
    binary: Any = fhirjson.loads(stored.body)
    content_type = binary.get("contentType") if isinstance(binary, dict) else None
    if not isinstance(content_type, str):
        return None
    ct = _media(content_type)
    if not any(w == ct or w == "*/*" or (w.endswith("/*") and ct.startswith(w[:-1])) for w in wanted):
        return None
    data = base64.b64decode(binary.get("data") or "")
    headers = {"ETag": f'W/"{stored.version}"', "Last-Modified": _http_date(stored.last_updated_us)}
    return Response(data, 200, headers=headers, media_type=content_type)


def _http_date(us: int) -> str:
    from ..clock import http_date

    return http_date(us)
