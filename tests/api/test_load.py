"""``fhir-server load PATH...`` on a real SQLite file (in process) and into a live server (``--url``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from fhir_server.app import create_app
from fhir_server.cli import load_command, main, parser
from fhir_server.config import Settings
from fhir_server.loader import contains

BASE = "http://testserver/fhir"


def patient(id: str | None, family: str, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"resourceType": "Patient", "name": [{"family": family}], "gender": "female"}
    if id:
        body["id"] = id
    body.update(extra)
    return body


def write(path: Path, resource: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(resource), encoding="utf-8")
    return path


async def stored(db: Path, reference: str) -> httpx.Response:
    app = create_app(Settings(store=f"sqlite:///{db}", base_url=BASE))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE + "/") as c:
            return await c.get(reference)


async def load(db: Path, *paths: Path) -> int:
    """``fhir-server load PATHS --store sqlite:///db`` (``main`` runs the same coroutine with asyncio.run)."""
    args = parser().parse_args(["load", *map(str, paths), "--store", f"sqlite:///{db}", "--base-url", BASE])
    return await load_command(args)


async def test_a_folder_loads_in_name_order_and_twice_changes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "scheme"
    link = [{"other": {"reference": "Patient/p1"}, "type": "seealso"}]
    write(folder / "02-patient.json", patient("p2", "Second", link=link))
    write(folder / "01-patient.json", patient("p1", "First"))
    write(folder / "03-more" / "01-anonymous.json", patient(None, "NoId"))
    (folder / "README.md").write_text("not loaded")
    db = tmp_path / "fhir.db"

    assert await load(db, folder) == 0
    out = capsys.readouterr().out
    assert out.index("01-patient.json") < out.index("02-patient.json") < out.index("01-anonymous.json")
    assert "created   Patient/p1" in out and "created   Patient/p2" in out
    assert "README" not in out
    assert (await stored(db, "Patient/p2")).json()["name"][0]["family"] == "Second"

    assert await load(db, folder / "01-patient.json", folder / "02-patient.json") == 0
    again = capsys.readouterr().out
    assert "unchanged Patient/p1" in again and "unchanged Patient/p2" in again
    assert (await stored(db, "Patient/p1")).json()["meta"]["versionId"] == "1"

    write(folder / "01-patient.json", patient("p1", "Changed"))
    assert await load(db, folder / "01-patient.json") == 0
    assert "updated   Patient/p1" in capsys.readouterr().out
    current = (await stored(db, "Patient/p1")).json()
    assert current["meta"]["versionId"] == "2" and current["name"][0]["family"] == "Changed"


async def test_a_collection_bundle_is_one_transaction(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "fhir.db"
    good = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"fullUrl": "urn:uuid:6b1f0a47-5b0e-4d7e-9d39-3f6a3c1b2a10", "resource": patient(None, "Head")},
            {
                "resource": {
                    "resourceType": "Group",
                    "id": "fam",
                    "type": "person",
                    "actual": True,
                    "member": [{"entity": {"reference": "urn:uuid:6b1f0a47-5b0e-4d7e-9d39-3f6a3c1b2a10"}}],
                }
            },
        ],
    }
    assert await load(db, write(tmp_path / "good.json", good)) == 0
    out = capsys.readouterr().out
    assert "good.json: 2 created" in out
    group = (await stored(db, "Group/fam")).json()
    member = group["member"][0]["entity"]["reference"]
    assert member.startswith("Patient/") and (await stored(db, member)).status_code == 200

    bad = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"resource": patient("kept-out", "Fine")},
            {"resource": patient("broken", "Broken", gender="nonsense")},
        ],
    }
    assert await load(db, write(tmp_path / "bad.json", bad)) == 1
    err = capsys.readouterr().err
    assert "bad.json entry[1]" in err and "gender" in err
    assert (await stored(db, "Patient/kept-out")).status_code == 404  # all or nothing


async def test_the_first_refusal_stops_with_file_entry_and_outcome(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "fhir.db"
    folder = tmp_path / "f"
    write(folder / "01.json", patient("ok", "Fine"))
    write(folder / "02.json", patient("bad", "Bad", birthDate="1970-02-30"))
    write(folder / "03.json", patient("never", "Never"))
    assert await load(db, folder) == 1
    captured = capsys.readouterr()
    assert "created   Patient/ok" in captured.out
    assert "02.json (Patient/bad): HTTP 400" in captured.err
    assert "Patient.birthDate" in captured.err
    assert (await stored(db, "Patient/ok")).status_code == 200
    assert (await stored(db, "Patient/never")).status_code == 404

    assert await load(db, tmp_path / "missing") == 1
    assert "no such file or folder" in capsys.readouterr().err
    (tmp_path / "junk.json").write_text("{not json")
    assert await load(db, tmp_path / "junk.json") == 1
    assert "not a JSON file" in capsys.readouterr().err


async def test_a_transaction_bundle_is_posted_as_it_is(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "fhir.db"
    tx = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"resource": patient("t1", "Tx"), "request": {"method": "PUT", "url": "Patient/t1"}},
            {"resource": patient(None, "Tx2"), "request": {"method": "POST", "url": "Patient"}},
        ],
    }
    assert await load(db, write(tmp_path / "tx.json", tx)) == 0
    out = capsys.readouterr().out
    assert "tx.json: 2 created" in out and "created   Patient/t1" in out
    document = {"resourceType": "Bundle", "type": "document", "entry": []}
    assert await load(db, write(tmp_path / "doc.json", document)) == 1
    assert "type 'document' cannot be loaded" in capsys.readouterr().err


def test_url_loads_into_a_running_server(
    live_server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path / "p.json", patient("over-http", "Remote"))
    assert main(["load", str(path), "--url", live_server]) == 0
    assert "created   Patient/over-http" in capsys.readouterr().out
    assert httpx.get(f"{live_server}/Patient/over-http").json()["name"][0]["family"] == "Remote"
    assert main(["load", str(path), "--url", live_server]) == 0
    assert "unchanged Patient/over-http" in capsys.readouterr().out
    assert main(["load", str(path), "--url", "http://127.0.0.1:1/fhir"]) == 1
    assert "error: http://127.0.0.1:1/fhir" in capsys.readouterr().err


def test_contains_is_a_deep_subset() -> None:
    stored = {"a": [{"x": 1, "y": 2}, {"x": 3}], "b": True, "c": "s"}
    assert contains(stored, {"a": [{"x": 3}], "c": "s"})
    assert not contains(stored, {"a": [{"x": 4}]})
    assert not contains(stored, {"d": 1})
    assert not contains({"n": 1}, {"n": True})
