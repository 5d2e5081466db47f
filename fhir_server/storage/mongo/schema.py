"""The index plan of the MongoDB backend, created at start-up and checked.

``resources`` (one document per resource, its current version; see ``documents.py``):

* ``_id`` = ``"Type/id"``: unique (type, id), point reads, ``read_many``;
* ``(type, id)``: the default search order (id, the tie-breaker) within a type;
* ``(id, type)``: ``_id`` searches and the default order across types (system search);
* ``(type, lu_us, _id)``: ``_lastUpdated`` filters and sorts;
* compound multikey indexes for the hot entry lookups, each led by ``type`` and the
  param code so one index serves every parameter of its kind, with ``$elemMatch``
  binding the bounds to one entry: ``(type, tok.p, tok.c, tok.s)``,
  ``(type, tok.p, tok.s)`` (``system|``), ``(type, tok.p, tok.t)`` (``:text``),
  ``(type, str.p, str.n)``, ``(type, str.p, str.e)``, ``(type, ref.p, ref.r)``,
  ``(type, ref.p, ref.i)`` (plain-id references), ``(type, dt.p, dt.lo, dt.hi)``,
  ``(type, num.p, num.v)``, ``(type, qty.p, qty.v)``, ``(type, qty.p, qty.cu, qty.cv)``
  (UCUM canonical), ``(type, uri.p, uri.v)``,
  ``(type, cmp.p, cmp.a.c, cmp.a.s)`` (composites, led by their token component);
* ``(ref.r)``: reverse references (``_revinclude``) by target whatever the source;
* ``(type, geo.near.lat, geo.near.lng)``: the bounding box of ``near`` (``search_near.py``),
  and a ``2dsphere`` index on the GeoJSON point ``geo.near.pt`` for real servers (geo
  queries by operators and tools; the search itself does not use ``$geoWithin``, which
  mongomock cannot evaluate, see ``search_near.py``);
* ``(ctd.type, ctd.tok.p, ctd.tok.c)``, ``(ctd.type, ctd.ref.p, ctd.ref.r)``: searches with
  ``_contained`` on the contained resources (``contained.py``).

Sorting on a parameter uses the scalar per-parameter keys ``sa.<code>`` /
``sd.<code>`` behind the presence flag ``sp.<code>`` (``paging.py``). The hot sorts
(``SORTED_CODES``: claims, responses, payments and eligibility by ``created``, clinical
resources by ``date``, people by ``birthdate``) have an index per direction,
``(type, sp.<code> -1, sa.<code> 1, id 1)`` and ``(type, sp.<code> -1, sd.<code> -1, id 1)``,
the exact key order and directions of the search's sort, so a sorted page is read from
the index (no blocking in-memory sort, which MongoDB caps at 100 MB) and a cursor seeks.
Other sorts are in memory; add the same pair for a parameter you sort on at scale.

``history`` (every version, ``_id`` = ``"Type/id/version"``):

* ``(type, id, version)``: instance history and ``vread``;
* ``(type, lu_us, _id)``: type history, ``_since``, ``_at``;
* ``(lu_us, _id)``: system history;
* ``(c, ts)``: the start-up sweep over writes that never committed (standalone).

Sharding (suggestion, not applied here): shard both collections on
``{type: 1, id: "hashed"}`` (compound hashed key, MongoDB >= 4.4). Every document of
one resource (its current version and all its history) then lives on one shard, so
the single-document atomicity of a write and the uniqueness of ``_id`` (derived from
type and id) hold per shard, while hashing the id spreads each type evenly. Searches
are led by ``type`` and are scatter-gathered within it; point reads are targeted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pymongo import ASCENDING, IndexModel

from .documents import field_name

RESOURCES = "resources"
HISTORY = "history"


@dataclass(frozen=True)
class IndexSpec:
    name: str
    keys: tuple[tuple[str, int | str], ...]

    def model(self) -> IndexModel:
        return IndexModel(list(self.keys), name=self.name)


def _spec(name: str, *fields: str) -> IndexSpec:
    return IndexSpec(name, tuple((f, ASCENDING) for f in fields))


SORTED_CODES = ("created", "date", "birthdate")


def _sort_specs(code: str) -> tuple[IndexSpec, ...]:
    """The two indexes of ``_sort=code`` and ``_sort=-code`` (see ``paging.sort_fields``)."""
    name = field_name(code)
    return (
        IndexSpec(f"sort_{name}_asc", (("type", 1), (f"sp.{name}", -1), (f"sa.{name}", 1), ("id", 1))),
        IndexSpec(f"sort_{name}_desc", (("type", 1), (f"sp.{name}", -1), (f"sd.{name}", -1), ("id", 1))),
    )


INDEX_PLAN: dict[str, tuple[IndexSpec, ...]] = {
    RESOURCES: (
        _spec("type_id", "type", "id"),
        _spec("type_lastupdated", "type", "lu_us", "_id"),
        _spec("id_type", "id", "type"),
        _spec("tok_code", "type", "tok.p", "tok.c", "tok.s"),
        _spec("tok_system", "type", "tok.p", "tok.s"),
        _spec("tok_text", "type", "tok.p", "tok.t"),
        _spec("str_norm", "type", "str.p", "str.n"),
        _spec("str_exact", "type", "str.p", "str.e"),
        _spec("ref_target", "type", "ref.p", "ref.r"),
        _spec("ref_id", "type", "ref.p", "ref.i"),
        _spec("ref_reverse", "ref.r"),
        _spec("dt_range", "type", "dt.p", "dt.lo", "dt.hi"),
        _spec("num_value", "type", "num.p", "num.v"),
        _spec("qty_value", "type", "qty.p", "qty.v"),
        _spec("qty_canonical", "type", "qty.p", "qty.cu", "qty.cv"),
        _spec("uri_value", "type", "uri.p", "uri.v"),
        _spec("cmp_code", "type", "cmp.p", "cmp.a.c", "cmp.a.s"),
        _spec("geo_near_box", "type", "geo.near.lat", "geo.near.lng"),
        IndexSpec("geo_near_sphere", (("geo.near.pt", "2dsphere"),)),
        _spec("ctd_tok", "ctd.type", "ctd.tok.p", "ctd.tok.c"),
        _spec("ctd_ref", "ctd.type", "ctd.ref.p", "ctd.ref.r"),
        *(spec for code in SORTED_CODES for spec in _sort_specs(code)),
    ),
    HISTORY: (
        _spec("instance", "type", "id", "version"),
        _spec("type_lastupdated", "type", "lu_us", "_id"),
        _spec("system_lastupdated", "lu_us", "_id"),
        _spec("uncommitted", "c", "ts"),
    ),
}


def _key_pairs(key: Any) -> tuple[tuple[str, int | str], ...]:
    items = key.items() if hasattr(key, "items") else key
    return tuple((str(f), d if isinstance(d, str) else int(d)) for f, d in items)


async def ensure_indexes(db: Any) -> None:
    """Create the plan (idempotent) and check every index exists with its keys."""
    for collection, specs in INDEX_PLAN.items():
        coll = db[collection]
        await coll.create_indexes([s.model() for s in specs])
        present = {ix["name"]: _key_pairs(ix["key"]) async for ix in coll.list_indexes()}
        for spec in specs:
            if present.get(spec.name) != spec.keys:
                raise RuntimeError(
                    f"MongoDB index {collection}.{spec.name} is missing or differs from the plan "
                    f"(expected {spec.keys}, found {present.get(spec.name)})"
                )
