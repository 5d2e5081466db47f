"""The distance of each matched Location to the ``near`` point, on its Bundle entry.

location.html (Positional Searching): "The distance between the location and the provided
point is often used as one of the determining factors for selection of the location. So
this value is included in the results. However the value cannot be inside the Location
resource as it is different depending on the point of reference in the search. So the
distance between is included in the search section of the bundle entry. Where multiple
near positions are included, the distance to the closest point provided may be included."
(the ``location-distance`` extension on ``Bundle.entry.search``, a Distance in km).
"""

from __future__ import annotations

from typing import Any

import orjson

from ..search.ir import Clause, NearValue, SearchQuery
from ..search.types.near import distance_km
from ..storage.protocol import StoredVersion

EXTENSION = "http://hl7.org/fhir/StructureDefinition/location-distance"


def near_points(query: SearchQuery) -> list[NearValue]:
    """The points of the query's own ``near`` criteria (not those inside chains)."""
    if query.resource_types != ("Location",):
        return []
    return [
        v
        for c in query.criteria
        if isinstance(c, Clause) and c.param.type == "special" and c.chain is None
        for v in c.values
        if isinstance(v, NearValue)
    ]


def distance_extension(points: list[NearValue], item: StoredVersion) -> dict[str, Any] | None:
    if not points or item.resource_type != "Location":
        return None
    try:
        position = orjson.loads(item.body).get("position") or {}
        lat, lng = float(position["latitude"]), float(position["longitude"])
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
        return None
    km = min(distance_km(p.lat, p.lng, lat, lng) for p in points)
    return {
        "url": EXTENSION,
        "valueDistance": {
            "value": round(km, 3),
            "unit": "km",
            "system": "http://unitsofmeasure.org",
            "code": "km",
        },
    }
