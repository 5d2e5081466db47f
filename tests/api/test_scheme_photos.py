"""Insuree photos over HTTP (scheme/photos.py): stored once as a content-addressed Binary,
the Patient keeps a reference with size and SHA-1 hash; the Binary read raw with the
image's Accept, or as a FHIR resource; a contradicting hash and an oversized photo refused."""

from __future__ import annotations

import asyncio
import base64
import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from fhir_server.app import create_app

from .conftest import BASE, FHIR_JSON, make_settings
from .test_scheme_members import insuree, number, refusal

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
LIMIT = 20_000


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(make_settings(tmp_path, max_body_bytes=LIMIT))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE + "/") as c:
            yield c


def with_photo(no: str, data: bytes, **photo: object) -> dict[str, object]:
    attachment = {
        "contentType": "image/png",
        "data": base64.b64encode(data).decode(),
        "title": f"{no}_EO0012_20240115.png",
        "creation": "2024-01-15",
        **photo,
    }
    return insuree(no, photo=[attachment])


async def test_a_photo_is_stored_once_and_referenced(client: httpx.AsyncClient) -> None:
    digest = base64.b64encode(hashlib.sha1(PNG).digest()).decode()
    r = await client.post("Patient", json=with_photo(number(1), PNG, hash=digest), headers=FHIR_JSON)
    assert r.status_code == 201, r.text
    photo = r.json()["photo"][0]
    bid = "photo-" + hashlib.sha1(PNG).hexdigest()
    assert photo == {
        "contentType": "image/png",
        "title": f"{number(1)}_EO0012_20240115.png",
        "creation": "2024-01-15",
        "url": f"Binary/{bid}",
        "size": len(PNG),
        "hash": digest,
    }
    # the same photo for another insuree: the same Binary, not written again
    r = await client.post("Patient", json=with_photo(number(2), PNG), headers=FHIR_JSON)
    assert r.status_code == 201 and r.json()["photo"][0]["url"] == f"Binary/{bid}"
    history = (await client.get(f"Binary/{bid}/_history")).json()
    assert len(history["entry"]) == 1
    # raw with the image's Accept; the FHIR resource otherwise
    raw = await client.get(f"Binary/{bid}", headers={"Accept": "image/png"})
    assert raw.status_code == 200 and raw.content == PNG
    assert raw.headers["content-type"].startswith("image/png")
    assert (await client.get(f"Binary/{bid}", headers={"Accept": "image/*"})).content == PNG
    resource = await client.get(f"Binary/{bid}", headers={"Accept": "application/fhir+json"})
    assert resource.json()["resourceType"] == "Binary" and base64.b64decode(resource.json()["data"]) == PNG
    assert (await client.get(f"Binary/{bid}")).json()["resourceType"] == "Binary"


async def test_a_hash_that_contradicts_the_data_is_refused(client: httpx.AsyncClient) -> None:
    wrong = base64.b64encode(hashlib.sha1(b"another picture").digest()).decode()
    r = await client.post("Patient", json=with_photo(number(3), PNG, hash=wrong), headers=FHIR_JSON)
    code, reason, expr, _ = refusal(r)
    assert (code, reason, expr) == ("invalid", "photo-hash-mismatch", ["Patient.photo[0].hash"])
    found = (await client.get("Binary")).json()
    assert not found.get("entry")  # nothing half-written


async def test_the_body_size_limit_holds_for_photos(client: httpx.AsyncClient) -> None:
    big = PNG + bytes(LIMIT)
    r = await client.post("Patient", json=with_photo(number(4), big), headers=FHIR_JSON)
    assert r.status_code == 413, r.text
    assert r.json()["resourceType"] == "OperationOutcome"


async def test_an_unchanged_photo_reference_is_kept(client: httpx.AsyncClient) -> None:
    r = await client.put("Patient/p", json={**with_photo(number(5), PNG), "id": "p"}, headers=FHIR_JSON)
    stored = r.json()
    again = await client.put("Patient/p", json=stored, headers=FHIR_JSON)  # as read back, without data
    assert again.status_code == 200 and again.json()["photo"] == stored["photo"]


async def test_two_concurrent_enrolments_with_one_photo_share_its_binary(client: httpx.AsyncClient) -> None:
    other = PNG + b"\x00"  # another picture, not stored yet
    answers = await asyncio.gather(
        *(client.post("Patient", json=with_photo(number(10 + k), other), headers=FHIR_JSON) for k in range(3))
    )
    assert [r.status_code for r in answers] == [201, 201, 201], [r.text for r in answers]
    urls = {r.json()["photo"][0]["url"] for r in answers}
    assert len(urls) == 1
    raw = await client.get(urls.pop(), headers={"Accept": "image/png"})
    assert raw.status_code == 200 and raw.content == other
