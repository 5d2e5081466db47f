"""Generated Locations and ``near`` cases for the differential test (``test_search_near.py``):
positions spread over the globe, clustered around the antimeridian, both poles, the equator
and a district of Tanzania, and query points at those places with distances from metres to
thousands of kilometres (several units, the default distance, ORed points); some cases
combine ``near`` with another criterion, ``_sort`` or ``_total``, or reach it through a chain."""

from __future__ import annotations

import random
from typing import Any

from fhir_server.search.types.near import EARTH_RADIUS_KM, distance_km

from .case import Case

SEED = 20240501
# (latitude, longitude, spread in degrees)
CLUSTERS = (
    (-3.37, 36.68, 0.3),  # Arusha
    (0.0, 179.95, 0.2),  # the antimeridian at the equator
    (65.0, -179.9, 1.0),  # the antimeridian in the north
    (89.9, 0.0, 0.15),  # the north pole
    (-89.95, 120.0, 0.1),  # the south pole
    (0.0, 0.0, 0.5),
)
STATUSES = ("active", "suspended", "inactive")


def _clip(lat: float, lng: float) -> tuple[float, float]:
    lat = max(-90.0, min(90.0, lat))
    if lng > 180.0:
        lng -= 360.0
    if lng < -180.0:
        lng += 360.0
    return round(lat, 6), round(lng, 6)


def locations(n: int = 160) -> list[dict[str, Any]]:
    rng = random.Random(SEED)
    out: list[dict[str, Any]] = []
    for i in range(n):
        res: dict[str, Any] = {
            "resourceType": "Location",
            "id": f"loc-{i:03d}",
            "status": STATUSES[i % 3],
            "name": f"Facility {i:03d}",
            "managingOrganization": {"reference": f"Organization/org-{i % 2}"},
        }
        if i % 17 == 5:  # no position
            out.append(res)
            continue
        if i % 4 == 0:
            lat, lng = rng.uniform(-90, 90), rng.uniform(-180, 180)
        else:
            clat, clng, spread = CLUSTERS[i % len(CLUSTERS)]
            lat, lng = clat + rng.uniform(-spread, spread), clng + rng.uniform(-spread, spread)
        lat, lng = _clip(lat, lng)
        if i == 7:
            lng = 180.0
        if i == 11:
            lng = -180.0
        if i == 13:
            lat = 90.0
        res["position"] = {"latitude": lat, "longitude": lng}
        out.append(res)
    out.append({"resourceType": "Organization", "id": "org-0", "name": "Northern district"})
    out.append({"resourceType": "Organization", "id": "org-1", "name": "Southern district"})
    enc = [
        {
            "resourceType": "Encounter",
            "id": f"enc-{i}",
            "status": "finished",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
            "location": [{"location": {"reference": f"Location/loc-{(i * 7) % n:03d}"}}],
        }
        for i in range(30)
    ]
    return out + enc


def _points(resources: list[dict[str, Any]]) -> list[tuple[float, float]]:
    return [
        (r["position"]["latitude"], r["position"]["longitude"])
        for r in resources
        if r["resourceType"] == "Location" and "position" in r
    ]


def cases(resources: list[dict[str, Any]]) -> list[Case]:
    rng = random.Random(SEED + 1)
    points = _points(resources)
    queries: list[tuple[float, float]] = [(c[0], c[1]) for c in CLUSTERS]
    queries += [(0.0, -179.99), (89.99, 90.0), (-90.0, 0.0), (90.0, -45.0), (12.5, -60.25)]
    out: list[Case] = []
    for lat, lng in queries:
        for dist, unit in (("0.5", "km"), ("15", "km"), ("40000", "m"), ("120", "km"), ("900", "[mi_i]")):
            out.append(Case("Location", (("near", f"{lat}|{lng}|{dist}|{unit}"),), count=7))
        out.append(Case("Location", (("near", f"{lat}|{lng}|25"),), count=7))  # units default to km
        out.append(Case("Location", (("near", f"{lat}|{lng}"),), count=7))  # the server's default
    # a distance exactly at a point (inclusive), and just below it
    for lat, lng in rng.sample(points, 6):
        qlat, qlng = rng.choice(points)
        d = distance_km(qlat, qlng, lat, lng)
        for km in (d * (1 + 1e-9), d * (1 - 1e-9)):
            out.append(Case("Location", (("near", f"{qlat}|{qlng}|{km!r}|km"),), count=4))
    # the whole sphere, and nothing but the point
    out.append(Case("Location", (("near", f"1|2|{EARTH_RADIUS_KM * 3.2}|km"),), count=50))
    out.append(Case("Location", (("near", f"{points[3][0]}|{points[3][1]}|0"),), count=3))
    # ORed points, ANDed clauses, other criteria, sort, total, :missing, chains
    out += [
        Case("Location", (("near", "0|179.95|30,89.9|0|40|km"),), count=6),
        Case("Location", (("near", "0|0|8000"), ("near", "0|90|8000")), count=6),
        Case("Location", (("near", "-3.37|36.68|40"), ("status", "active")), count=3),
        Case("Location", (("near", "65|-179.9|150"), ("organization", "Organization/org-1")), count=3),
        Case("Location", (("near", "-3.37|36.68|60"), ("_sort", "-name")), count=4, sort=True),
        Case("Location", (("near", "0|179.95|50|km"), ("_sort", "status,_id")), count=4, sort=True),
        Case("Location", (("near", "89.9|0|30"), ("_total", "accurate")), count=3),
        Case("Location", (("near:missing", "true"),), count=5),
        Case("Location", (("near:missing", "false"), ("status", "inactive")), count=9),
        Case("Encounter", (("location.near", "-3.37|36.68|60"),), count=4),
        Case("Encounter", (("location.near", "0|179.95|100|km"), ("status", "finished")), count=4),
    ]
    return out
