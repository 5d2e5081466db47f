"""``ValueSet/$expand`` (valueset-operation-expand.html, OperationDefinition ValueSet-expand):
"The definition of a value set is used to create a simple collection of codes suitable for
use for data entry or validation".

Inputs: ``url`` "A canonical reference to a value set. The server must know the value set",
``valueSet`` "The value set is provided directly as part of the request",
``valueSetVersion``; at instance level (``ValueSet/[id]/$expand``) that ValueSet.
``filter`` "A text filter that is applied to restrict the codes that are returned ... The
interpretation of this is delegated to the server": here every word of the filter (split
on white space) must occur, case-insensitively, in the code or in its display.
``offset`` "Paging support - where to start if a subset is desired (default = 0). Offset is
number of records (not number of pages)"; ``count`` "Paging support - how many codes
should be provided in a partial page view ... If count = 0, the client is asking how large
the expansion is". ``includeDesignations`` "Controls whether concept designations are to
be included or excluded in value set expansions" (default false). ``displayLanguage`` is
ignored (one display per concept here); ``activeOnly``, ``excludeNested`` and
``excludeNotForUI`` need nothing (our expansions are flat, with no inactive or abstract
codes); ``context``, ``date``, ``designation``, ``exclude-system``, ``system-version``,
``check-system-version`` and ``force-system-version`` change the answer and are refused.

Output: the ValueSet with ``expansion``: ``identifier``, ``timestamp``, ``total``,
``offset``, ``parameter`` ("Servers generating expansions SHOULD ensure that all the
parameters that affect the contents of the expansion are recorded in the
ValueSet.expansion.parameter list": ``filter``, ``count``, ``offset``,
``includeDesignations`` as given) and ``contains`` (``system``, ``version``, ``code``,
``display``, ``designation``). The whole expansion is bounded by the expansion limit
(``FHIR_EXPANSION_LIMIT``): beyond it the answer is ``400 too-costly``, even with ``count``
(the total could not be told), never a cut list.
"""

from __future__ import annotations

import uuid
from typing import Any

from .. import clock
from ..server import Server
from ..terminology.results import ExpansionEntry
from .parameters import OperationParameters
from .valueset_validate_code import resolve

Json = dict[str, Any]

REFUSED = (
    "designation",
    "exclude-system",
    "system-version",
    "check-system-version",
    "force-system-version",
)


async def run(server: Server, params: OperationParameters, instance: Json | None) -> Json:
    params.refuse(*REFUSED)
    text = params.string("filter")
    offset = params.integer("offset") or 0
    count = params.integer("count")
    designations = params.boolean("includeDesignations")
    for flag in (
        "activeOnly",
        "excludeNested",
        "excludeNotForUI",
        "excludePostCoordinated",
        "includeDefinition",
    ):
        params.boolean(flag)  # checked for form; nothing to change here
    codes, _, _ = await resolve(server, params, instance, instance.get("id") if instance else None)
    entries = await server.terminology.describe(codes, designations)
    if text is not None:
        entries = [e for e in entries if matches(e, text)]
    page = entries[offset:] if count is None else entries[offset : offset + count]
    echo: list[Json] = []
    if text is not None:
        echo.append({"name": "filter", "valueString": text})
    if count is not None:
        echo.append({"name": "count", "valueInteger": count})
    if params.has("offset"):
        echo.append({"name": "offset", "valueInteger": offset})
    if params.has("includeDesignations"):
        echo.append({"name": "includeDesignations", "valueBoolean": designations})
    expansion: Json = {
        "identifier": f"urn:uuid:{uuid.uuid4()}",
        "timestamp": clock.instant(clock.now_us()),
        "total": len(entries),
        "offset": offset,
    }
    if echo:
        expansion["parameter"] = echo
    if page:
        expansion["contains"] = [_contains(e) for e in page]
    source = instance or params.resource("valueSet", "ValueSet") or {}
    url = source.get("url") or params.string("url")
    if not source and url:  # named by url: what the terminology sources say of it
        ref, _, version = url.partition("|")
        found = await server.terminology.valueset(ref, version or params.string("valueSetVersion"))
        if found is not None:
            source = {"version": found.version, "name": found.name, "status": found.status}
    out: Json = {"resourceType": "ValueSet"}
    if instance is not None and "id" in instance:
        out["id"] = instance["id"]
    if url:
        out["url"] = url.partition("|")[0]
    for key in ("version", "name", "title"):
        if source.get(key):
            out[key] = source[key]
    out["status"] = source.get("status") or "unknown"
    out["expansion"] = expansion
    return out


def matches(entry: ExpansionEntry, text: str) -> bool:
    haystack = f"{entry.code} {entry.display}".casefold()
    return all(word in haystack for word in text.casefold().split())


def _contains(e: ExpansionEntry) -> Json:
    out: Json = {"system": e.system}
    if e.version:
        out["version"] = e.version
    out["code"] = e.code
    if e.display:
        out["display"] = e.display
    if e.designations:
        out["designation"] = [_designation(d) for d in e.designations]
    return out


def _designation(d: Any) -> Json:
    out: Json = {}
    if d.language:
        out["language"] = d.language
    if d.use_system or d.use_code:
        out["use"] = {k: v for k, v in (("system", d.use_system), ("code", d.use_code)) if v}
    out["value"] = d.value
    return out
