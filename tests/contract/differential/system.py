"""System-level searches (``GET [base]?...``) for the differential matrix."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fhir_server.search.index import UriEntry

from .case import pick
from .values import date_text, escape

if TYPE_CHECKING:
    from .cases import Generator


def system_cases(gen: Generator) -> None:
    """System searches (``GET [base]?...``): common parameters over every type, and
    ``_type`` lists with a parameter the listed types share."""
    lus = sorted(it.last_updated_us for it in gen.items)
    anchor = lus[len(lus) // 3]
    for prefix in ("eq", "ge", "lt", "sa"):
        gen.add("", ("_lastUpdated", prefix + date_text(anchor, "day")))
    counts: dict[str, int] = {}
    for it in gen.items:
        counts[it.id] = counts.get(it.id, 0) + 1
    shared = sorted(i for i, n in counts.items() if n > 1)
    if shared:
        gen.add("", ("_id", escape(shared[0])))
        gen.add("", ("_id", escape(shared[0])), ("_sort", "-_lastUpdated"), sort=True)
    sources = sorted(
        {e.value for it in gen.items for e in it.index.get("_source", ()) if isinstance(e, UriEntry)}
    )
    for source in pick(sources, 1):
        gen.add("", ("_source", escape(source)))
        gen.add("", ("_source:below", escape(source[: source.rstrip("/").rfind("/") + 1])))
        gen.add("", ("_type", "Patient,Group,Coverage"), ("_source:below", escape(source[:12])))
    gen.add("", ("_profile:missing", "false"))
    gen.add("", ("_security:missing", "false"), ("_sort", "_id"), sort=True)
    gen.add("", ("_type", "Patient,Practitioner"), ("gender", "female"))
    gen.add("", ("_type", "Patient,Practitioner"), ("name:contains", "ma"), ("_sort", "-name"), sort=True)
    gen.add("", ("_type", "Patient,Practitioner,Organization"), ("_sort", "-_lastUpdated"), sort=True)
    gen.add("", ("_lastUpdated", "ge" + date_text(anchor, "day")), ("_sort", "_id"), sort=True)
