"""``near`` on Location: the one ``special`` search parameter R4 defines with its semantics
(SearchParameter ``Location-near``, location.html "Positional Searching").

Spec (SearchParameter Location-near, R4 4.0.1): "Search for locations where the
location.position is near to, or within a specified distance of, the provided coordinates
expressed as [latitude]|[longitude]|[distance]|[units] (using the WGS84 datum, see notes).
If the units are omitted, then kms should be assumed. If the distance is omitted, then the
server can use its own discretion as to what distances should be considered near (and
units are irrelevant). Servers may search using various techniques that might have
differing accuracies, depending on implementation efficiency."

location.html (Positional Searching): "The distance and distance unit parameter components
are optional, if the units are missing, kms are to be assumed. If the distance parameter
component is missing, then the server may choose its own interpretation of what near
enough is to be included in the search results." and "The STU3 version of this
functionality did not support the multiple separator , or chaining. The update to this
format now supports both of these use cases." Neither page asks for results ordered by
distance, so a ``near`` search keeps the ordinary order (``_sort`` as usual; ``near``
itself is not sortable); the distance is reported per entry instead (the
``location-distance`` extension on ``Bundle.entry.search``, which the spec describes as
"included in the search section of the bundle entry").

Our semantics, which every backend reproduces exactly: the Earth is a sphere of radius
``EARTH_RADIUS_KM`` (6371.0088 km, the IUGG mean radius); a position matches when its
great-circle distance to the search point is at most the distance (inclusive). The
great-circle distance is the haversine one, ``d = 2R asin(sqrt(a))`` with
``a = sin²(Δφ/2) + cos φ1 cos φ2 sin²(Δλ/2)``. ``a`` is also a quarter of the squared chord
between the two points on the unit sphere, so a match is tested as ``chord² <= 4 sin²(d/2R)``
on the unit vectors ``(x, y, z)`` stored with each position: only subtractions,
multiplications and one comparison, which SQLite, MongoDB (``$expr``) and Python evaluate
in the same IEEE-754 doubles, in the same order, so the three agree to the last bit (and
the computation stays accurate for small distances, unlike ``1 - cos``).
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

from ..index import Entry, PositionEntry
from ..ir import NearValue
from . import ExtractContext, Node, ParseContext, ValueParseError, unescape

URL = "http://hl7.org/fhir/SearchParameter/Location-near"
CODE = "near"
EARTH_RADIUS_KM = 6371.0088
MODIFIERS = frozenset({"missing"})
# distance units (UCUM codes, as Distance/Quantity use them) -> kilometres
UNITS_KM: dict[str, float] = {
    "km": 1.0,
    "m": 0.001,
    "[mi_i]": 1.609344,
    "[mi_us]": 1.609347218694437,
    "[nmi_i]": 1.852,
    "[yd_i]": 0.0009144,
    "[ft_i]": 0.0003048,
}
DEFAULT_DISTANCE_KM = 10.0  # distance omitted: what we consider near (configurable, FHIR_NEAR_DEFAULT_KM)


def unit_vector(lat: float, lng: float) -> tuple[float, float, float]:
    phi, lam = math.radians(lat), math.radians(lng)
    return math.cos(phi) * math.cos(lam), math.cos(phi) * math.sin(lam), math.sin(phi)


def position_entry(lat: float, lng: float) -> PositionEntry:
    return PositionEntry(lat, lng, *unit_vector(lat, lng))


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return None
    f = float(value)
    return f if math.isfinite(f) else None


def extract(node: Node, ctx: ExtractContext, out: list[Entry]) -> None:
    """``Location.position`` (latitude, longitude: decimals, WGS84) -> one PositionEntry;
    positions outside [-90, 90] x [-180, 180] are not indexed."""
    value = node[0]
    if not isinstance(value, dict):
        return
    lat, lng = _number(value.get("latitude")), _number(value.get("longitude"))
    if lat is None or lng is None or not -90.0 <= lat <= 90.0 or not -180.0 <= lng <= 180.0:
        return
    out.append(position_entry(lat, lng))


def _coordinate(text: str, name: str, limit: float, code: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueParseError(f"'{code}': the {name} '{text}' is not a number") from None
    if not math.isfinite(value) or not -limit <= value <= limit:
        raise ValueParseError(f"'{code}': the {name} {text} is outside [-{limit:g}, {limit:g}]")
    return value


def parse(raw: str, default_km: float, ctx: ParseContext) -> NearValue:
    """``[latitude]|[longitude]|[distance]|[units]``; distance and units optional."""
    code = ctx.code
    parts = [unescape(p).strip() for p in raw.split("|")]
    if len(parts) < 2 or len(parts) > 4 or not parts[0] or not parts[1]:
        raise ValueParseError(
            f"'{code}' takes [latitude]|[longitude]|[distance]|[units] "
            f"(distance and units optional), not '{raw}'"
        )
    lat = _coordinate(parts[0], "latitude", 90.0, code)
    lng = _coordinate(parts[1], "longitude", 180.0, code)
    distance_text = parts[2] if len(parts) > 2 else ""
    units = parts[3] if len(parts) > 3 else ""
    if units and units not in UNITS_KM:
        known = ", ".join(sorted(UNITS_KM))
        raise ValueParseError(f"'{code}': unknown distance unit '{units}' (UCUM codes: {known})")
    if not distance_text:
        distance_km = default_km
    else:
        try:
            distance = float(distance_text)
        except ValueError:
            raise ValueParseError(f"'{code}': the distance '{distance_text}' is not a number") from None
        if not math.isfinite(distance) or distance < 0:
            raise ValueParseError(
                f"'{code}': the distance must be a non-negative number, not '{distance_text}'"
            )
        distance_km = distance * UNITS_KM[units or "km"]
    return near_value(lat, lng, distance_km)


def near_value(lat: float, lng: float, distance_km: float) -> NearValue:
    """The search value with its chord limit and its bounding box (``bounding_box``)."""
    angle = distance_km / EARTH_RADIUS_KM
    half = math.sin(min(angle, math.pi) / 2)
    limit = 4 * half * half if angle < math.pi else 4.0
    x, y, z = unit_vector(lat, lng)
    return NearValue(lat, lng, distance_km, x, y, z, limit)


def chord2(entry: PositionEntry, value: NearValue) -> float:
    """The squared chord between the two unit vectors (the order of operations is the one
    the SQL and MongoDB expressions use)."""
    dx = entry.x - value.x
    dy = entry.y - value.y
    dz = entry.z - value.z
    return dx * dx + dy * dy + dz * dz


def match_value(value: NearValue, entry: PositionEntry) -> bool:
    return chord2(entry, value) <= value.limit


def distance_km(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """The haversine great-circle distance in km (for the ``location-distance`` extension)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lng2 - lng1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


# slack added to every side of the bounding box (degrees): the box only preselects, the
# chord test decides, so it must never cut off a point the exact test keeps
_SLACK = 1e-9


def bounding_box(value: NearValue) -> tuple[float, float, list[tuple[float, float]]]:
    """``(lat_min, lat_max, longitude ranges)`` enclosing every matching position
    (J. P. Matuschek, "Finding Points Within a Distance of a Latitude/Longitude Using
    Bounding Coordinates"): latitudes ``lat ± d/R``; when that reaches a pole every
    longitude qualifies; otherwise longitudes ``lng ± asin(sin(d/R) / cos(lat))``, split in
    two ranges when they cross the antimeridian (±180)."""
    angle = value.distance_km / EARTH_RADIUS_KM
    dlat = math.degrees(angle)
    lat_min, lat_max = value.lat - dlat - _SLACK, value.lat + dlat + _SLACK
    if lat_min <= -90.0 or lat_max >= 90.0 or angle >= math.pi / 2:
        return max(lat_min, -90.0), min(lat_max, 90.0), [(-180.0, 180.0)]
    ratio = math.sin(angle) / math.cos(math.radians(value.lat))
    if ratio >= 1.0:
        return lat_min, lat_max, [(-180.0, 180.0)]
    dlng = math.degrees(math.asin(ratio)) + _SLACK
    lo, hi = value.lng - dlng, value.lng + dlng
    if lo < -180.0:
        return lat_min, lat_max, [(lo + 360.0, 180.0), (-180.0, hi)]
    if hi > 180.0:
        return lat_min, lat_max, [(lo, 180.0), (-180.0, hi - 360.0)]
    return lat_min, lat_max, [(lo, hi)]
