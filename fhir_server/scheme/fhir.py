"""Small helpers to read and write our extensions and references on FHIR JSON (no rules here)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from .. import fhirjson
from ..insurance.policy_dates import fhir_date
from ..search.ir import SearchQuery
from ..search.parser import parse_search
from ..server import Server
from ..storage.protocol import StoredVersion, Transaction

Json = dict[str, Any]

SD = "https://openimis.org/fhir/StructureDefinition/"
CS = "https://openimis.org/fhir/CodeSystem/"
SCHEME_TAG = CS + "scheme-tag"


def url(name: str) -> str:
    return SD + name


def claims(resource: Json, profile: str) -> bool:
    meta = resource.get("meta")
    return isinstance(meta, dict) and url(profile) in (meta.get("profile") or [])


def imported(resource: Json) -> bool:
    """Tagged ``scheme-tag|imported``: legacy data kept as given (checked, not recomputed)."""
    meta = resource.get("meta")
    tags = meta.get("tag") if isinstance(meta, dict) else None
    return any(
        isinstance(t, dict) and t.get("system") == SCHEME_TAG and t.get("code") == "imported"
        for t in tags or []
    )


def extensions(element: Json, name: str) -> list[Json]:
    u = url(name)
    return [e for e in element.get("extension") or [] if isinstance(e, dict) and e.get("url") == u]


def ext_index(element: Json, name: str) -> int | None:
    u = url(name)
    for i, e in enumerate(element.get("extension") or []):
        if isinstance(e, dict) and e.get("url") == u:
            return i
    return None


def value(element: Json, name: str) -> Any:
    for e in extensions(element, name):
        for k, v in e.items():
            if k.startswith("value"):
                return v
    return None


def set_value(element: Json, name: str, kind: str | None, v: Any) -> None:
    """Set (or remove, when ``v`` is None) the single extension ``name`` with ``value{kind}``."""
    u = url(name)
    kept = [e for e in element.get("extension") or [] if not (isinstance(e, dict) and e.get("url") == u)]
    if v is not None and kind is not None:
        kept.append({"url": u, f"value{kind}": v})
    if kept:
        element["extension"] = kept
    else:
        element.pop("extension", None)


def sub(ext: Json, name: str) -> Any:
    for part in ext.get("extension") or []:
        if isinstance(part, dict) and part.get("url") == name:
            for k, v in part.items():
                if k.startswith("value"):
                    return v
    return None


def code(concept: Any) -> str | None:
    if isinstance(concept, dict):
        for coding in concept.get("coding") or []:
            if isinstance(coding, dict) and isinstance(coding.get("code"), str):
                return str(coding["code"])
    return None


def concept(system_name: str, c: str, display: str | None = None) -> Json:
    coding: Json = {"system": CS + system_name, "code": c}
    if display:
        coding["display"] = display
    return {"coding": [coding]}


def ref_id(reference: Any, rtype: str) -> str | None:
    """The id of a literal relative reference ``rtype/id`` (None otherwise)."""
    if isinstance(reference, dict):
        reference = reference.get("reference")
    if isinstance(reference, str):
        head, _, rest = reference.rpartition(f"{rtype}/")
        if rest and "/" not in rest and (head == "" or head.endswith("/")):
            return rest
    return None


as_date = fhir_date


def money(amount: Decimal, currency: str | None) -> Json:
    out: Json = {"value": amount}
    if currency:
        out["currency"] = currency
    return out


async def read_json(tx: Transaction, rtype: str, id: str) -> tuple[StoredVersion, Json] | None:
    stored = await tx.read(rtype, id)
    if stored is None or stored.deleted:
        return None
    return stored, fhirjson.loads(stored.body)


def query(server: Server, rtype: str, params: list[tuple[str, str]]) -> SearchQuery:
    return parse_search((rtype,), params, server.registry, strict=True, base_url=server.base_url)


async def search(
    server: Server, tx: Transaction, rtype: str, params: list[tuple[str, str]], limit: int = 1000
) -> list[Json]:
    """Current resources of ``rtype`` matching ``params``, read in this unit of work."""
    keys = await tx.search_keys(query(server, rtype, params), limit)
    out: list[Json] = []
    for t, i in keys:
        found = await read_json(tx, t, i)
        if found is not None:
            out.append(found[1])
    return out
