"""``reference`` parameters (search.html R4 3.1.1.4.9).

Spec forms: "[parameter]=[id] the logical [id] of a resource using a local reference
(i.e. a relative reference)"; "[parameter]=[type]/[id] the logical [id] of a resource of
a specified type using a local reference"; "[parameter]=[url] where the [url] is an
absolute URL - a reference to a resource by its absolute location"; ":[type]" restricts
the target type (``subject:Patient=23`` equals ``subject=Patient/23``); ":identifier"
matches ``Reference.identifier`` with token semantics; canonical references may carry a
"|version". A reference that includes a version (``_history``) matches only that
version when the search value carries one.

Extraction: Reference.reference (relative ``Type/id``; absolute URLs on our own base
made local; other absolute URLs kept; ``#contained`` skipped; ``_history/n`` split into
``version``), Reference.identifier (TokenEntry under "<code>:identifier"), canonical
(url, ``|version``), uri, and a resource used as a value (``Bundle.entry[0].resource``).

``ReferenceEntry.type`` is set only for *local* references (target ``Type/id``):
absolute URLs elsewhere, ``urn:`` references and canonicals get ``None``, so the plain
id form, ``:[type]`` with an id, and chaining only ever follow local references ("the
logical [id] of a resource using a local reference").
"""

from __future__ import annotations

from typing import Any

from ..index import Entry, ReferenceEntry, TokenEntry
from ..ir import ReferenceValue
from ..normalize import norm
from . import ExtractContext, Node, ParseContext, ValueParseError, unescape

MODIFIERS = frozenset({"missing", "identifier", "type"})

_URL_TYPES = ("uri", "url", "canonical", "oid", "uuid")


def split_reference(
    ref: str, base_url: str | None, resource_types: frozenset[str]
) -> tuple[str, str | None, str | None] | None:
    """``(target, type, version)`` for a Reference.reference string; None for local
    ``#contained`` references and empty strings."""
    if not ref or ref.startswith("#"):
        return None
    if base_url and ref.startswith(base_url) and ref[len(base_url) : len(base_url) + 1] == "/":
        ref = ref[len(base_url) + 1 :]
    if "://" not in ref and not ref.startswith("urn:"):
        parts = ref.split("/")
        if len(parts) >= 2 and parts[0] in resource_types:
            version = parts[3] if len(parts) >= 4 and parts[2] == "_history" else None
            return f"{parts[0]}/{parts[1]}", parts[0], version
        return ref, None, None
    if ref.startswith("urn:"):
        return ref, None, None
    version = None
    if "/_history/" in ref:
        ref, _, version = ref.partition("/_history/")
    segs = ref.rsplit("/", 2)
    rtype = segs[-2] if len(segs) == 3 and segs[-2] in resource_types else None
    return ref, rtype, version or None


def split_canonical(url: str, resource_types: frozenset[str]) -> tuple[str, str | None, str | None]:
    base, bar, version = url.partition("|")
    segs = base.rsplit("/", 2)
    rtype = segs[-2] if len(segs) == 3 and segs[-2] in resource_types else None
    return base, rtype, (version or None) if bar else None


def reference_type(value: Any, fhir_type: str | None, ctx: ExtractContext) -> str | None:
    """The resource type a Reference/canonical/resource value points to (for
    ``where(resolve() is X)``)."""
    if isinstance(value, dict):
        rt = value.get("resourceType")
        if isinstance(rt, str):
            return rt
        ref = value.get("reference")
        if isinstance(ref, str):
            split = split_reference(ref, ctx.base_url, ctx.resource_types)
            if split and split[1]:
                return split[1]
        t = value.get("type")
        return t if isinstance(t, str) else None
    if isinstance(value, str):
        return split_canonical(value, ctx.resource_types)[1]
    return None


def extract(node: Node, ctx: ExtractContext, out: list[Entry], identifiers: list[Entry]) -> None:
    value, fhir_type, _ = node
    if isinstance(value, str):
        if fhir_type in _URL_TYPES or fhir_type is None:
            target, _, version = split_canonical(value, ctx.resource_types)
            if target:
                out.append(ReferenceEntry(target, None, version))
        return
    if not isinstance(value, dict):
        return
    rt = value.get("resourceType")
    if isinstance(rt, str):
        rid = value.get("id")
        if isinstance(rid, str):
            out.append(ReferenceEntry(f"{rt}/{rid}", rt))
        return
    ref = value.get("reference")
    if isinstance(ref, str):
        split = split_reference(ref, ctx.base_url, ctx.resource_types)
        if split is not None:
            target, rtype, version = split
            local = rtype is not None and "://" not in target
            out.append(ReferenceEntry(target, rtype if local else None, version))
    ident = value.get("identifier")
    if isinstance(ident, dict):
        system, ivalue = ident.get("system"), ident.get("value")
        if isinstance(system, str) or isinstance(ivalue, str):
            itype = ident.get("type")
            text = itype.get("text") if isinstance(itype, dict) else None
            identifiers.append(
                TokenEntry(
                    system if isinstance(system, str) else None,
                    ivalue if isinstance(ivalue, str) else None,
                    norm(text) if isinstance(text, str) and text else None,
                )
            )


def parse(
    raw: str, modifier: str | None, ctx: ParseContext, type_modifier: str | None = None
) -> ReferenceValue:
    """One reference value. ``type_modifier`` is the ``:[type]`` modifier when given."""
    value = unescape(raw)
    if not value:
        raise ValueParseError(f"Empty value for reference parameter '{ctx.code}'")
    base = ctx.base_url
    if base and value.startswith(base + "/"):
        value = value[len(base) + 1 :]
    if "://" in value or value.startswith("urn:"):
        url, bar, cversion = value.partition("|")
        split = split_reference(url, None, ctx.resource_types)
        assert split is not None
        target, rtype, version = split
        if type_modifier and rtype and rtype != type_modifier:
            raise ValueParseError(f"Reference '{raw}' is not a {type_modifier} (parameter '{ctx.code}')")
        # like the entries, an absolute URL carries no type (only local references do)
        return ReferenceValue(target, type_modifier, None, (cversion if bar else version) or None)
    if "/" in value:
        parts = value.split("/")
        if (
            parts[0] not in ctx.resource_types
            or not parts[1]
            or not (len(parts) == 2 or (len(parts) == 4 and parts[2] == "_history" and parts[3]))
        ):
            raise ValueParseError(
                f"Invalid reference '{raw}' for parameter '{ctx.code}' (expected [type]/[id])"
            )
        if type_modifier and parts[0] != type_modifier:
            raise ValueParseError(f"Reference '{raw}' is not a {type_modifier} (parameter '{ctx.code}')")
        return ReferenceValue(f"{parts[0]}/{parts[1]}", parts[0], None, parts[3] if len(parts) == 4 else None)
    if type_modifier:
        return ReferenceValue(f"{type_modifier}/{value}", type_modifier)
    return ReferenceValue(None, None, value)


def match_value(value: ReferenceValue, entry: ReferenceEntry) -> bool:
    """``target`` set: equal targets; ``id`` set (plain id form): a local reference of any
    type with that id (of ``type`` when given); ``version`` set: equal versions too."""
    if value.version is not None and entry.version != value.version:
        return False
    if value.target is not None:
        return entry.target == value.target
    if value.id is not None:
        if entry.type is None or (value.type is not None and entry.type != value.type):
            return False
        return entry.target == f"{entry.type}/{value.id}"
    return value.type is not None and entry.type == value.type


def sort_key(entries: list[Entry], descending: bool) -> str | None:
    keys = [e.target for e in entries if isinstance(e, ReferenceEntry)]
    return (max(keys) if descending else min(keys)) if keys else None
