"""The shape of the MongoDB documents: current versions (``resources``) and ``history``.

One ``resources`` document per resource holds its current version (possibly a
tombstone), so a single-resource write is one atomic document replace even without
a replica set::

    {
      "_id": "Patient/123",              # unique (type, id)
      "type": "Patient", "id": "123",
      "version": 3,                       # versions count 1, 2, 3 ... (tombstones too)
      "lu": "2024-05-01T10:00:00.123Z",   # meta.lastUpdated as served
      "lu_us": 1714557600123000,          # the same, microseconds since the epoch
      "deleted": false, "method": "PUT",
      "body": "{...}",                    # the JSON text as served; never parsed into BSON
      "w": "<write token>",               # identifies the write that produced this version
      # index entries, one array per entry kind, each entry tagged with its param code:
      "tok": [{"p": "identifier", "s": "urn:x", "c": "42", "t": "display"}],
      "str": [{"p": "name", "n": "muller", "e": "Müller"}],
      "dt":  [{"p": "birthdate", "lo": -1, "hi": 86399999999}],
      "num": [{"p": "probability", "v": 0.5, "lo": 0.45, "hi": 0.55}],
      "qty": [{"p": "value-quantity", "v": 5.4, "lo": 5.35, "hi": 5.45, "s": "...", "c": "mg", "u": "mg",
               "cv": 5.4e-06, "cu": "kg"}],         # UCUM canonical value and unit, when known
      "ref": [{"p": "subject", "r": "Patient/1", "t": "Patient", "i": "1", "v": "2"}],
      "uri": [{"p": "url", "v": "http://example.org/fhir/ValueSet/x"}],
      # composite entries: the components as sub-documents "a", "b" (fields of their kind)
      "cmp": [{"p": "code-value-quantity", "a": {"s": "http://loinc.org", "c": "8480-6"},
               "b": {"v": 107.0, "lo": 106.5, "hi": 107.5, "s": "...", "c": "mm[Hg]", "u": "mmHg"}}],
      # positions (Location.position, for near): per parameter one point (Location.position
      # is 0..1), degrees, the unit vector (types/near.py) and the GeoJSON point ([lng, lat])
      "geo": {"near": {"lat": -3.4, "lng": 36.7, "x": 0.8, "y": 0.6, "z": -0.06,
                       "pt": {"type": "Point", "coordinates": [36.7, -3.4]}}},
      # contained resources, each with its own index arrays (search/contained.py; only
      # searches with _contained read them)
      "ctd": [{"type": "Medication", "id": "m1", "lu_us": 1714557600123000, "body": "{...}",
               "tok": [{"p": "code", "s": "http://snomed.info/sct", "c": "324252006"}]}],
      # per-parameter sort keys (scalars, so sorting never touches arrays):
      "sa": {"name": "anna", "birthdate": -1},             # the smallest value (dates: lo)
      "sd": {"name": "muller", "birthdate": 86399999999},  # the largest value (dates: hi)
      "sp": {"name": 1, "birthdate": 1}                    # has keys: sorts before those without
    }

Absent optional entry fields (system, text, type, version ...) are omitted; a query
on ``{"s": null}`` matches them. ``i`` is the id part of a local ``Type/id`` reference of
a known type, so a plain-id reference search is an index equality.

``history`` holds every version under ``_id: "Type/id/version"`` with the same
scalar fields plus ``c`` (committed) and ``ts`` (wall-clock seconds of the write).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...search.index import (
    CompositeEntry,
    ContainedEntry,
    DateEntry,
    Entry,
    IndexEntries,
    NumberEntry,
    PositionEntry,
    QuantityEntry,
    ReferenceEntry,
    StringEntry,
    TokenEntry,
    UriEntry,
)
from ..protocol import Method, StoredVersion, WriteOp

Doc = dict[str, Any]

# entry kind -> array field in the resource document
TOKEN, STRING, DATE, NUMBER, QUANTITY, REFERENCE, URI = "tok", "str", "dt", "num", "qty", "ref", "uri"
COMPOSITE = "cmp"
CONTAINED = "ctd"  # contained resources (search/contained.py), searched only with _contained
GEO = "geo"  # positions (near): one sub-document per parameter, not an array (see position_doc)
ENTRY_ARRAYS = (TOKEN, STRING, DATE, NUMBER, QUANTITY, REFERENCE, URI, COMPOSITE)
COMPONENT_FIELDS = ("a", "b")  # the sub-documents of a composite entry's components, in order
SORT_ASC, SORT_DESC, SORT_PRESENT = "sa", "sd", "sp"

# fields a StoredVersion is built from (and the projection searches use)
VERSION_FIELDS = ("type", "id", "version", "lu", "lu_us", "deleted", "body", "method")


def resource_key(resource_type: str, id: str) -> str:
    return f"{resource_type}/{id}"


def history_key(resource_type: str, id: str, version: int) -> str:
    return f"{resource_type}/{id}/{version}"


def field_name(code: str) -> str:
    """A param code as a sub-document key: no dots (paths) and no leading ``$``."""
    return code.replace("%", "%25").replace(".", "%2E").replace("$", "%24")


def _drop_none(d: Doc) -> Doc:
    return {k: v for k, v in d.items() if v is not None}


def _local_id(entry: ReferenceEntry) -> str | None:
    """The id of a local ``Type/id`` reference of a known type, else None."""
    t = entry.type
    if t and entry.target.startswith(t + "/"):
        rest = entry.target[len(t) + 1 :]
        if rest and "/" not in rest and ":" not in entry.target:
            return rest
    return None


def entry_subdoc(code: str, entry: Entry) -> tuple[str, Doc]:
    """The array an entry goes to and its sub-document."""
    if isinstance(entry, TokenEntry):
        return TOKEN, _drop_none({"p": code, "s": entry.system, "c": entry.code, "t": entry.text})
    if isinstance(entry, StringEntry):
        return STRING, {"p": code, "n": entry.norm, "e": entry.exact}
    if isinstance(entry, DateEntry):
        return DATE, {"p": code, "lo": entry.lo, "hi": entry.hi}
    if isinstance(entry, NumberEntry):
        return NUMBER, {"p": code, "v": entry.value, "lo": entry.lo, "hi": entry.hi}
    if isinstance(entry, QuantityEntry):
        return QUANTITY, _drop_none(
            {
                "p": code,
                "v": entry.value,
                "lo": entry.lo,
                "hi": entry.hi,
                "s": entry.system,
                "c": entry.code,
                "u": entry.unit,
                "cv": entry.cvalue,
                "cu": entry.cunit,
            }
        )
    if isinstance(entry, ReferenceEntry):
        return REFERENCE, _drop_none(
            {
                "p": code,
                "r": entry.target,
                "t": entry.type,
                "i": _local_id(entry),
                "v": entry.version,
            }
        )
    if isinstance(entry, UriEntry):
        return URI, {"p": code, "v": entry.value}
    if isinstance(entry, CompositeEntry):
        doc: Doc = {"p": code}
        for name, component in zip(COMPONENT_FIELDS, entry.components, strict=True):
            _, sub = entry_subdoc(code, component)
            del sub["p"]
            doc[name] = sub
        return COMPOSITE, doc
    raise TypeError(f"unknown index entry {entry!r}")


def _sort_span(entry: Entry) -> tuple[Any, Any] | None:
    """(ascending, descending) value one entry contributes to its parameter's sort keys."""
    if isinstance(entry, TokenEntry):
        return None if entry.code is None else (entry.code, entry.code)
    if isinstance(entry, StringEntry):
        return entry.norm, entry.norm
    if isinstance(entry, DateEntry):
        return entry.lo, entry.hi
    if isinstance(entry, NumberEntry | QuantityEntry):
        return entry.value, entry.value
    if isinstance(entry, ReferenceEntry):
        return entry.target, entry.target
    if isinstance(entry, UriEntry):
        return entry.value, entry.value
    return None


def sort_keys(index: Mapping[str, list[Entry]]) -> tuple[Doc, Doc, Doc]:
    """Per-param sort keys, as the reference matcher's ``sort_key``: the smallest value
    ascending (``sa``), the largest descending (``sd``); dates: the earliest start and the
    latest end. ``sp`` marks the params that have keys (resources without sort last)."""
    asc: Doc = {}
    desc: Doc = {}
    present: Doc = {}
    for code, entries in index.items():
        kind = type(entries[0]) if entries else None  # one kind per param; ignore strays
        spans = [s for e in entries if type(e) is kind and (s := _sort_span(e)) is not None]
        if not spans:
            continue
        key = field_name(code)
        present[key] = 1
        asc[key] = min(s[0] for s in spans)
        desc[key] = max(s[1] for s in spans)
    return asc, desc, present


def position_doc(entry: PositionEntry) -> Doc:
    return {
        "lat": entry.lat,
        "lng": entry.lng,
        "x": entry.x,
        "y": entry.y,
        "z": entry.z,
        "pt": {"type": "Point", "coordinates": [entry.lng, entry.lat]},
    }


def contained_doc(entry: ContainedEntry) -> Doc:
    return {
        "type": entry.type,
        "id": entry.id,
        "body": entry.body.decode("utf-8"),
        **entry_arrays(entry.entry_map()),
    }


def entry_arrays(index: IndexEntries) -> Doc:
    arrays: dict[str, Any] = {}
    for code, entries in index.items():
        for entry in entries:
            if isinstance(entry, ContainedEntry):
                arrays.setdefault(CONTAINED, []).append(contained_doc(entry))
                continue
            if isinstance(entry, PositionEntry):  # a scalar per parameter: the first position
                arrays.setdefault(GEO, {}).setdefault(field_name(code), position_doc(entry))
                continue
            kind, sub = entry_subdoc(code, entry)
            arrays.setdefault(kind, []).append(sub)
    return dict(arrays)


def current_doc(op: WriteOp, token: str) -> Doc:
    """The ``resources`` document for ``op``."""
    doc: Doc = {
        "_id": resource_key(op.resource_type, op.id),
        "type": op.resource_type,
        "id": op.id,
        "version": op.version,
        "lu": op.last_updated,
        "lu_us": op.last_updated_us,
        "deleted": op.deleted,
        "method": op.method,
        "body": op.body.decode("utf-8"),
        "w": token,
    }
    if not op.deleted:
        doc.update(entry_arrays(op.index))
        for sub in doc.get(CONTAINED, ()):
            sub["lu_us"] = op.last_updated_us
        asc, desc, present = sort_keys(op.index)
        if asc:
            doc[SORT_ASC], doc[SORT_DESC], doc[SORT_PRESENT] = asc, desc, present
    return doc


def history_doc(op: WriteOp, token: str, *, committed: bool, ts: float) -> Doc:
    """The ``history`` document for ``op``."""
    return {
        "_id": history_key(op.resource_type, op.id, op.version),
        "type": op.resource_type,
        "id": op.id,
        "version": op.version,
        "lu": op.last_updated,
        "lu_us": op.last_updated_us,
        "deleted": op.deleted,
        "method": op.method,
        "body": op.body.decode("utf-8"),
        "w": token,
        "c": committed,
        "ts": ts,
    }


def stored_version(doc: Mapping[str, Any]) -> StoredVersion:
    method: Method = doc.get("method", "PUT")
    return StoredVersion(
        resource_type=doc["type"],
        id=doc["id"],
        version=int(doc["version"]),
        last_updated=doc["lu"],
        last_updated_us=int(doc["lu_us"]),
        deleted=bool(doc["deleted"]),
        body=doc["body"].encode("utf-8"),
        method=method,
    )
