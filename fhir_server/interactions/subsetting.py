"""``_summary`` and ``_elements`` (search.html#summary, #elements).

Subsetted resources carry the ``SUBSETTED`` tag
(http://terminology.hl7.org/CodeSystem/v3-ObservationValue) as the spec requires.
"""

from __future__ import annotations

from typing import Any

from .. import fhirjson
from ..definitions import Definitions
from ..errors import InvalidError

SUBSETTED = {
    "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
    "code": "SUBSETTED",
    "display": "Resource encoded in summary mode",
}
SUMMARY_MODES = ("true", "text", "data", "count", "false")
ALWAYS = ("resourceType", "id", "meta")


def check_summary(value: str | None) -> str | None:
    if value is not None and value not in SUMMARY_MODES:
        raise InvalidError(
            f"_summary must be one of {', '.join(SUMMARY_MODES)}, not '{value}'", expression="_summary"
        )
    return value


def _element_key(key: str, elements: dict[str, Any]) -> str | None:
    """The element name a JSON key belongs to (valueQuantity -> value, _birthDate -> birthDate)."""
    name = key[1:] if key.startswith("_") else key
    if name in elements:
        return name
    for el_name, el in elements.items():
        if el.choice and name.startswith(el_name) and name[len(el_name) : len(el_name) + 1].isupper():
            return el_name
    return None


def _tagged(out: dict[str, Any]) -> dict[str, Any]:
    meta = dict(out.get("meta") or {})
    tags = list(meta.get("tag") or [])
    if not any(t.get("code") == "SUBSETTED" for t in tags if isinstance(t, dict)):
        tags.append(SUBSETTED)
    meta["tag"] = tags
    out["meta"] = meta
    return out


def subset(
    definitions: Definitions, resource: dict[str, Any], summary: str | None, elements: tuple[str, ...]
) -> dict[str, Any]:
    table = definitions.elements(str(resource.get("resourceType")))
    if summary in (None, "false") and not elements:
        return resource
    out: dict[str, Any] = {}
    if summary == "data":
        out = {k: v for k, v in resource.items() if k != "text"}
        return _tagged(out)
    for key, value in resource.items():
        name = _element_key(key, table)
        keep = key in ALWAYS
        if summary == "true":
            keep = keep or (name is not None and table[name].summary)
        elif summary == "text":
            keep = keep or key == "text" or (name is not None and table[name].min > 0)
        elif elements:
            keep = (
                keep
                or name in elements
                or (name is not None and table[name].min > 0 and table[name].modifier)
            )
        if keep:
            out[key] = value
    return _tagged(out)


def subset_body(
    definitions: Definitions, body: bytes, summary: str | None, elements: tuple[str, ...]
) -> bytes:
    if summary in (None, "false") and not elements:
        return body
    return fhirjson.dumps(subset(definitions, fhirjson.loads(body), summary, elements))
