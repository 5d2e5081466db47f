"""``near`` (Location.position) on MongoDB: a bounding box on the indexed ``geo.<code>.lat``
and ``lng`` fields, then the exact great-circle test as a ``$expr`` on the stored unit
vector (``search/types/near.py``).

Why not ``$geoWithin: {$centerSphere: ...}`` on the GeoJSON point (which the 2dsphere index
of ``schema.py`` serves on a real server)? mongomock, which runs the contract suite in CI,
raises NotImplementedError for it, and a second code path only a real server runs would be
untested. The box plus ``$expr`` (``$subtract``/``$multiply``/``$add``, MongoDB >= 3.6) is
evaluated identically by both, inside the query, so paging, counts, chains and ``_has``
need nothing special; the box keeps the ``$expr`` to the few candidates the
``(type, geo.near.lat, geo.near.lng)`` index yields. The ``$expr`` is always ANDed with the
box, which requires the position to exist: on a document without one the arithmetic gives
null, and null compares below every number.
"""

from __future__ import annotations

from typing import Any

from ...search.ir import Clause, MissingValue, NearValue
from ...search.types.near import bounding_box
from .documents import GEO, field_name

Filter = dict[str, Any]


def _square(path: str, component: str, value: float) -> Filter:
    diff = {"$subtract": [f"${path}.{component}", value]}
    return {"$multiply": [diff, diff]}


def near_value(path: str, v: NearValue) -> Filter:
    lat_min, lat_max, ranges = bounding_box(v)
    box: Filter = {f"{path}.lat": {"$gte": lat_min, "$lte": lat_max}}
    lng = [{f"{path}.lng": {"$gte": lo, "$lte": hi}} for lo, hi in ranges]
    if len(lng) == 1:
        box.update(lng[0])
    else:
        box["$or"] = lng
    # ((dx² + dy²) + dz²), the order near.chord2 uses
    chord = {
        "$add": [
            {"$add": [_square(path, "x", v.x), _square(path, "y", v.y)]},
            _square(path, "z", v.z),
        ]
    }
    return {"$and": [box, {"$expr": {"$lte": [chord, v.limit]}}]}


def near_filter(c: Clause) -> Filter:
    path = f"{GEO}.{field_name(c.param.code)}"
    ors: list[Filter] = []
    for v in c.values:
        if isinstance(v, MissingValue):
            ors.append({path: {"$exists": not v.missing}})
        elif isinstance(v, NearValue):
            ors.append(near_value(path, v))
    if not ors:
        return {"_id": {"$in": []}}
    return ors[0] if len(ors) == 1 else {"$or": ors}
