"""Searching contained resources: ``_contained`` and ``_containedType`` (search.html R4,
"Contained Resources").

Spec: "By default, search results only include resources that are not contained in other
resources." ... "Clients can modify this behavior using the _contained parameter, which can
have one of the following values: false (default): Do not return contained resources;
true: return only contained resources; both: return both contained and non-contained
(normal) resources". "When contained resources are being returned, the server can return
either the container resource, or the contained resource alone. The client can specify
which by using the _containedType parameter, which can have one of the following values:
container (default): Return the container resources; contained: return only the contained
resource". A contained resource returned alone has a ``fullUrl`` made of its container's
and its own id, as in the spec's example ``http://example.com/fhir/MedicationRequest/23#m1``.

So ``Medication?code=x&_contained=true`` evaluates ``code=x`` on the Medications contained
in any resource, and returns their containers (each once), or with
``_containedType=contained`` the Medications themselves.

Index: at write time every contained resource (with a ``resourceType`` and an ``id``) gets
its own index entries, carried under ``CONTAINED_KEY`` as ``ContainedEntry`` values; the
backends keep them apart from the container's (SQLite: rows keyed by a negative rid in the
``contained`` table, under parameter ids interned for ``#Type``; MongoDB: a ``contained``
array of sub-documents), so ordinary searches never read them. The reference matcher
evaluates the same IR on them (``records``, ``search``).

Not supported with ``_contained=true|both`` (refused with ``not-supported``, never widened
or ignored): system searches, ``_sort``, ``_include``/``_revinclude``, chains, ``_has``,
``near``, compartments and ``_list``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from .. import fhirjson
from .index import ContainedEntry, Entry, IndexEntries

CONTAINED_KEY = "#contained"  # the key of the ContainedEntry values in a resource's IndexEntries
MODES = ("false", "true", "both")
TYPES = ("container", "contained")


def extract(resource: dict[str, Any], index_of: Callable[[dict[str, Any]], IndexEntries]) -> list[Entry]:
    """The ContainedEntry of each contained resource of ``resource`` (``index_of`` extracts
    a resource's own entries)."""
    out: list[Entry] = []
    for item in resource.get("contained") or ():
        if not isinstance(item, dict):
            continue
        rtype, cid = item.get("resourceType"), item.get("id")
        if not isinstance(rtype, str) or not isinstance(cid, str) or not cid:
            continue
        entries = index_of(item)
        frozen = tuple((code, tuple(values)) for code, values in sorted(entries.items()))
        out.append(ContainedEntry(rtype, cid, fhirjson.dumps(item), frozen))
    return out


def contained_of(entries: IndexEntries) -> list[ContainedEntry]:
    return [e for e in entries.get(CONTAINED_KEY, ()) if isinstance(e, ContainedEntry)]


def without_contained(entries: IndexEntries) -> IndexEntries:
    if CONTAINED_KEY not in entries:
        return entries
    return {k: v for k, v in entries.items() if k != CONTAINED_KEY}


# (type, id, last_updated_us, entries) as in matcher.Record
Record = tuple[str, str, int, IndexEntries]
# a result key: (type, id, container "Type/id" or None)
Key = tuple[str, str, "str | None"]


def records(container: Record) -> list[tuple[Record, str]]:
    """The contained resources of a container as matcher records (with the container's
    lastUpdated), each with its container's ``Type/id``."""
    ref = f"{container[0]}/{container[1]}"
    return [((c.type, c.id, container[2], c.entry_map()), ref) for c in contained_of(container[3])]


def search(
    query: Any,
    corpus: Iterable[Record],
    matches: Callable[[Any, Record], bool],
) -> list[Key]:
    """What a search with ``query.contained`` / ``query.contained_type`` returns (no order):
    ``matches(query, record)`` is the matcher on one record."""
    corpus = list(corpus)
    out: dict[Key, None] = {}
    if query.contained == "both":
        for rec in corpus:
            if matches(query, rec):
                out[(rec[0], rec[1], None)] = None
    for rec in corpus:
        for inner, container in records(rec):
            if matches(query, inner):
                if query.contained_type == "contained":
                    out[(inner[0], inner[1], container)] = None
                else:
                    out[(rec[0], rec[1], None)] = None
    return list(out)


def refusal(query: Any, criteria: Sequence[Any]) -> str | None:
    """Why ``query`` cannot run with ``_contained`` (None when it can)."""
    from .ir import Clause, CompartmentClause, HasClause

    if len(query.resource_types) != 1:
        return "_contained is supported on searches of one resource type, not on system search"
    if query.sort:
        return "_sort is not supported with _contained"
    if query.includes:
        return "_include and _revinclude are not supported with _contained"
    for c in criteria:
        if isinstance(c, HasClause):
            return "_has is not supported with _contained"
        if isinstance(c, CompartmentClause):
            return "compartment searches are not supported with _contained"
        if isinstance(c, Clause) and c.chain is not None:
            return "chained parameters are not supported with _contained"
        if isinstance(c, Clause) and c.param.type == "special":
            return f"'{c.param.code}' is not supported with _contained"
    return None
