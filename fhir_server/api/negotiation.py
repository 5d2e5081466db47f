"""Content negotiation (http.html#mime-type): JSON in and out; ``_format``; ``_pretty``.

Accepted request bodies: ``application/fhir+json`` and ``application/json`` (which
fhirpy sends), ``application/json-patch+json`` for PATCH, form-encoded for ``_search``.
XML is not offered: asking only for it gives 406, sending it gives 415.
"""

from __future__ import annotations

from ..errors import NotAcceptableError, UnsupportedMediaTypeError

FHIR_JSON = "application/fhir+json"
JSON = "application/json"
JSON_PATCH = "application/json-patch+json"
FORM = "application/x-www-form-urlencoded"
JSON_FORMATS = {"json", FHIR_JSON, JSON, "text/json"}
XML_FORMATS = {"xml", "application/fhir+xml", "application/xml", "text/xml", "ttl", "text/turtle"}


def media_type(header: str | None) -> str:
    return (header or "").split(";", 1)[0].strip().lower()


def response_type(accept: str | None, fmt: str | None) -> str:
    """The media type to answer with, or 406."""
    if fmt:
        f = fmt.strip().lower().replace(" ", "+")
        if f in JSON_FORMATS:
            return JSON if f == JSON else FHIR_JSON
        raise NotAcceptableError(f"_format '{fmt}' is not supported: this server speaks JSON", "_format")
    if not accept:
        return FHIR_JSON
    types = [media_type(a) for a in accept.split(",")]
    for t in types:
        if t in (FHIR_JSON, "*/*", "application/*", "") or t.endswith("+json"):
            return FHIR_JSON
        if t in (JSON, "text/json"):
            return JSON
    if any(t in XML_FORMATS for t in types):
        raise NotAcceptableError(
            f"Accept '{accept}' asks for a format this server does not produce (JSON only)"
        )
    return FHIR_JSON


def check_body_type(content_type: str | None, *, patch: bool = False, form_ok: bool = False) -> str:
    """The request body's media type, or 415."""
    t = media_type(content_type)
    if t in ("", FHIR_JSON, JSON, "text/json") or t.endswith("+json"):
        if t == JSON_PATCH and not patch:
            raise UnsupportedMediaTypeError("application/json-patch+json is only accepted by PATCH")
        return t or FHIR_JSON
    if form_ok and t == FORM:
        return t
    raise UnsupportedMediaTypeError(
        f"Content-Type '{content_type}' is not supported: send application/fhir+json"
        + (" or application/json-patch+json" if patch else "")
    )
