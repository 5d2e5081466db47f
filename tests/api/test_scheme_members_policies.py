"""Member changes reach the family's policies through the write alone (no explicit sync):
a death ends the member's cover on its date, a member moved out stops on the day of the
move, a joiner of a paid policy joins that day (policy.sync_family_policies)."""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx
import pytest

from fhir_server import clock
from tests.api.scheme_builders import SD, family, insuree, put
from tests.api.test_scheme_policies import members, record, sell

DE = {
    "url": SD + "insuree-status",
    "valueCodeableConcept": {
        "coding": [{"system": "https://openimis.org/fhir/CodeSystem/insuree-status", "code": "DE"}]
    },
}


async def _paid(client: httpx.AsyncClient) -> str:
    cov = await sell(client)
    r = await client.post(f"Coverage/{cov['id']}/$record-premium", json=record("16500", "2026-03-20", "M-1"))
    assert r.status_code == 200, r.text
    return str(cov["id"])


async def _members(client: httpx.AsyncClient, cov: str) -> dict[str, Any]:
    return members((await client.get(f"Coverage/{cov}")).json())


async def test_a_death_ends_the_cover_on_its_date(client: httpx.AsyncClient) -> None:
    cov = await _paid(client)
    grandma = insuree("bibi-kweka", "100000045", "family-kweka", "1950-01-10", "female", 7)
    grandma["extension"].append(DE)
    grandma["deceasedDateTime"] = "2026-05-04T08:00:00+03:00"
    await put(client, grandma)  # asserts 200/201
    got = await _members(client, cov)
    assert got["bibi-kweka"]["expiryDate"] == "2026-05-04"
    assert got["juma-kweka"]["expiryDate"] == "2027-02-28"  # the neighbours keep their cover


async def test_a_member_moved_out_stops_on_the_day_of_the_move(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    cov = await _paid(client)
    await put(client, insuree("asha-mushi", "200000001", "family-mushi", "1990-01-01", "female", None, True))
    await put(client, family("family-mushi", "asha-mushi", "200000001", ["asha-mushi"]))
    monkeypatch.setattr(clock, "today", lambda: date(2026, 7, 1))
    await put(client, family("family-mushi", "asha-mushi", "200000001", ["asha-mushi", "neema-kweka"]))
    got = await _members(client, cov)
    assert got["neema-kweka"]["expiryDate"] == "2026-07-01"
    assert got["baraka-kweka"]["expiryDate"] == "2027-02-28"
