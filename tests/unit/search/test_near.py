"""``near`` (Location.position): parsing, the exact great-circle test, the bounding box
around the antimeridian and the poles, extraction and the refusals (``types/near.py``)."""

from __future__ import annotations

import math
import random

import pytest

from fhir_server.errors import InvalidError
from fhir_server.search.extract import Extractor
from fhir_server.search.index import PositionEntry
from fhir_server.search.ir import Clause, MissingValue, NearValue
from fhir_server.search.matcher import matches
from fhir_server.search.parser import parse_search
from fhir_server.search.registry import SearchRegistry
from fhir_server.search.types import near as near_t

REGISTRY = SearchRegistry.from_definitions()


def near(raw: str, **kw: float) -> NearValue:
    query = parse_search(("Location",), [("near", raw)], REGISTRY, strict=True, **kw)  # type: ignore[arg-type]
    (clause,) = query.criteria
    assert isinstance(clause, Clause) and clause.param.type == "special"
    (value,) = clause.values
    assert isinstance(value, NearValue)
    return value


def test_units_default_to_km_and_convert() -> None:
    assert near("-3.37|36.68|12").distance_km == 12
    assert near("-3.37|36.68|12|km").distance_km == 12
    assert near("-3.37|36.68|1500|m").distance_km == pytest.approx(1.5)
    assert near("-3.37|36.68|2|[mi_i]").distance_km == pytest.approx(3.218688)
    assert near("-3.37|36.68|1|[nmi_i]").distance_km == pytest.approx(1.852)


def test_distance_omitted_uses_the_server_default() -> None:
    assert near("-3.37|36.68").distance_km == near_t.DEFAULT_DISTANCE_KM
    assert near("-3.37|36.68||km").distance_km == near_t.DEFAULT_DISTANCE_KM
    assert near("-3.37|36.68", near_default_km=2.5).distance_km == 2.5


@pytest.mark.parametrize(
    "raw",
    [
        "abc|36.68|5",  # non-numeric latitude
        "-3.37|east|5",  # non-numeric longitude
        "91|36.68|5",  # latitude out of range
        "-90.0001|0|5",
        "0|180.5|5",  # longitude out of range
        "-3.37|36.68|far",  # non-numeric distance
        "-3.37|36.68|-1",  # negative distance
        "-3.37|36.68|5|furlong",  # unknown units
        "-3.37|36.68|5|KM",  # UCUM codes are case-sensitive
        "-3.37",  # missing longitude
        "|36.68|5",  # empty latitude
        "-3.37||5",  # empty longitude
        "1|2|3|km|extra",
        "nan|0|1",
        "0|inf|1",
    ],
)
def test_bad_values_are_refused_naming_near(raw: str) -> None:
    with pytest.raises(InvalidError) as info:
        near(raw)
    assert info.value.status == 400
    (issue,) = info.value.issues
    assert issue.expression == ("near",)
    assert issue.code == "value"


def test_unsupported_modifier_is_refused() -> None:
    for strict in (True, False):
        with pytest.raises(InvalidError):
            parse_search(("Location",), [("near:exact", "1|2|3")], REGISTRY, strict=strict)


def test_missing_and_or_values() -> None:
    (c,) = parse_search(("Location",), [("near:missing", "true")], REGISTRY, strict=True).criteria
    assert isinstance(c, Clause) and c.values == (MissingValue(True),)
    (c,) = parse_search(("Location",), [("near", "1|2|3,4|5|6|m")], REGISTRY, strict=True).criteria
    assert isinstance(c, Clause) and len(c.values) == 2


def test_near_is_not_sortable() -> None:
    with pytest.raises(InvalidError):
        parse_search(("Location",), [("_sort", "near")], REGISTRY, strict=True)


def test_extraction_of_location_position() -> None:
    ex = Extractor(REGISTRY)
    res = {"resourceType": "Location", "id": "l", "position": {"latitude": -3.37, "longitude": 36.68}}
    (entry,) = ex.extract(res)["near"]
    assert isinstance(entry, PositionEntry) and (entry.lat, entry.lng) == (-3.37, 36.68)
    assert math.isclose(entry.x**2 + entry.y**2 + entry.z**2, 1.0)
    assert "near" not in ex.extract({"resourceType": "Location", "id": "l"})
    bad = {"resourceType": "Location", "id": "l", "position": {"latitude": 95, "longitude": 0}}
    assert "near" not in ex.extract(bad)


def _matches(raw: str, lat: float, lng: float) -> bool:
    query = parse_search(("Location",), [("near", raw)], REGISTRY, strict=True)
    return matches(query, "Location", "l", 0, {"near": [near_t.position_entry(lat, lng)]})


def test_matching_is_great_circle_and_inclusive() -> None:
    # Arusha -> Moshi: about 71 km
    d = near_t.distance_km(-3.3869, 36.6830, -3.3349, 37.3404)
    assert 72 < d < 74
    assert _matches(f"-3.3869|36.6830|{d * (1 + 1e-12)!r}", -3.3349, 37.3404)
    assert not _matches(f"-3.3869|36.6830|{d * (1 - 1e-9)!r}", -3.3349, 37.3404)
    # across the antimeridian: 179.99 and -179.99 at the equator are 2.2 km apart
    assert _matches("0|179.99|2.3", 0, -179.99)
    assert not _matches("0|179.99|2.1", 0, -179.99)
    # at the pole every longitude is the same point
    assert _matches("90|0|0.001", 90, 123.0)
    assert _matches("0|0|0", 0, 0)


def test_the_bounding_box_holds_every_match() -> None:
    """Random points within the distance of random centres (many near the antimeridian and
    the poles) always fall inside the box the backends seek."""
    rng = random.Random(7)
    for n in range(3000):
        lat = rng.choice(
            [rng.uniform(-90, 90), rng.uniform(85, 90), rng.uniform(-90, -85), rng.uniform(-1, 1)]
        )
        lng = rng.choice([rng.uniform(-180, 180), rng.uniform(179, 180), rng.uniform(-180, -179)])
        km = rng.choice([0.01, 1.0, 50.0, 700.0, 5000.0, 15000.0])
        v = near_t.near_value(lat, lng, km)
        lat_min, lat_max, ranges = near_t.bounding_box(v)
        assert all(-180 <= lo <= hi <= 180 for lo, hi in ranges)
        for _ in range(5):
            # a point at a random bearing and a random fraction of the distance
            frac, bearing = rng.random(), rng.uniform(0, 2 * math.pi)
            ang = km * frac / near_t.EARTH_RADIUS_KM
            p1, l1 = math.radians(lat), math.radians(lng)
            p2 = math.asin(math.sin(p1) * math.cos(ang) + math.cos(p1) * math.sin(ang) * math.cos(bearing))
            l2 = l1 + math.atan2(
                math.sin(bearing) * math.sin(ang) * math.cos(p1), math.cos(ang) - math.sin(p1) * math.sin(p2)
            )
            plat = math.degrees(p2)
            plng = (math.degrees(l2) + 540) % 360 - 180
            if not near_t.match_value(v, near_t.position_entry(plat, plng)):
                continue  # rounding at the very edge: the exact test decides, the box only preselects
            assert lat_min <= plat <= lat_max, (n, lat, lng, km, plat)
            assert any(lo <= plng <= hi for lo, hi in ranges), (n, lat, lng, km, plng, ranges)
