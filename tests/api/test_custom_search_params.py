"""Our SearchParameters (profiles/) over HTTP against the examples, on SQLite and MongoDB;
SearchParameter resources created at run time; ``$reindex`` (type, system, instance,
resumable) with its status endpoint."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from fhir_server.app import create_app
from fhir_server.config import Settings
from fhir_server.server import Server
from tests.conftest import EXAMPLES

from .conftest import BASE, FHIR_JSON, make_settings
from .test_mongo_backend import mongo_store

IG = "https://openimis.org/fhir/CodeSystem/"
OURS = "https://openimis.org/fhir/SearchParameter/"
PROFILES = Path(__file__).resolve().parents[2] / "profiles"


@asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE + "/") as c:
            yield c


def make_app(kind: str, tmp_path: Path, **settings: Any) -> FastAPI:
    if kind == "sqlite":
        return create_app(make_settings(tmp_path, **settings))
    return create_app(
        Settings(store="mongodb://unused", base_url=BASE, policy_expiry_interval=0, **settings),
        store=mongo_store(),
    )


@pytest.fixture(params=["sqlite", "mongo"])
async def any_client(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with running(make_app(request.param, tmp_path)) as c:
        yield c


def server_of(client: httpx.AsyncClient) -> Server:
    transport = client._transport
    assert isinstance(transport, httpx.ASGITransport)
    server: Server = transport.app.state.server  # type: ignore[attr-defined]
    return server


#: the scheme's rules check references on write (a policy's product and family, a premium's
#: policy): load what is referred to first
DEPENDENCY_ORDER = (
    "Location",
    "Organization",
    "Practitioner",
    "InsurancePlan",
    "Patient",
    "Group",
    "Coverage",
)


def _load_order(path: Path) -> tuple[int, str]:
    kind = path.name.split("-", 1)[0]
    rank = DEPENDENCY_ORDER.index(kind) if kind in DEPENDENCY_ORDER else len(DEPENDENCY_ORDER)
    return rank, path.name


async def load_examples(client: httpx.AsyncClient) -> None:
    """Every example resource (not the Bundles) through the API, under its own id."""
    for path in sorted(EXAMPLES.glob("*.json"), key=_load_order):
        resource = json.loads(path.read_text())
        if resource["resourceType"] == "Bundle":
            continue
        r = await client.put(f"{resource['resourceType']}/{resource['id']}", json=resource, headers=FHIR_JSON)
        if resource["resourceType"] == "PaymentNotice" and not server_of(client).store.supports_transactions:
            # recording a premium also writes its policy: one unit of work needs a MongoDB replica set
            assert r.status_code == 400 and "replica set" in r.text, r.text
            continue
        assert r.status_code in (200, 201), (path.name, r.text)


async def ids(client: httpx.AsyncClient, path: str, **params: str) -> list[str]:
    r = await client.get(path, params=params)
    assert r.status_code == 200, r.text
    return sorted(e["resource"]["id"] for e in r.json().get("entry", []) if e["search"]["mode"] == "match")


def warnings(bundle: dict[str, Any]) -> list[str]:
    return [
        i["diagnostics"]
        for e in bundle.get("entry", [])
        if e["search"]["mode"] == "outcome"
        for i in e["resource"]["issue"]
    ]


# ------------------------------------------------------------------ our SearchParameters

INS = "https://openimis.org/fhir/insurance-number|"
KBH = ["clm-kbh-2024-0001", "clm-kbh-2024-0004"]
OUR_SEARCHES = [
    ("Patient", {"insurance-number": "314159263"}, ["jose-kimaro"]),
    ("Patient", {"insurance-number": INS + "102030401"}, ["zoe-mwakasege"]),
    ("Group", {"insurance-number": "102030401"}, ["family-mwakasege"]),
    ("Coverage", {"insurance-number": "102030401"}, ["policy-mwakasege-2023", "policy-mwakasege-2024"]),
    ("Coverage", {"insurance-number": INS + "314159263"}, ["policy-kimaro-2024"]),
    ("Claim", {"health-facility": "Organization/hf-kibosho-hospital"}, KBH),
    ("Claim", {"health-facility:Organization.name": "Umbwe"}, ["clm-umd-2024-0002"]),
    ("Claim", {"claim-status": "16"}, ["clm-kbh-2024-0001", "clm-umd-2024-0002"]),
    ("Claim", {"claim-status": IG + "claim-status|1"}, ["clm-kbh-2024-0004"]),
    ("Claim", {"claim-status": "4,8"}, ["clm-mkc-2024-0003"]),
    ("ClaimResponse", {"rejection-reason": "12"}, ["clmr-kbh-2024-0004"]),
    ("ClaimResponse", {"rejection-reason": IG + "claim-rejection-reasons|0"},
     ["clmr-kbh-2024-0001", "clmr-umd-2024-0002"]),
    ("Group", {"village": "Location/village-singa"}, ["family-kimaro"]),
    ("Group", {"village:Location.name": "Umbwe"}, ["family-mwakasege"]),
    ("Group", {"poverty-status": "true"}, ["family-mwakasege"]),
    ("PaymentNotice", {"receipt": "RCP-2024-00231"}, ["premium-kimaro-2024"]),
]  # fmt: skip


async def test_our_search_parameters_find_the_examples(any_client: httpx.AsyncClient) -> None:
    await load_examples(any_client)
    for rtype, params, expected in OUR_SEARCHES:
        if rtype == "PaymentNotice" and not server_of(any_client).store.supports_transactions:
            continue  # not loaded: see load_examples
        got = await ids(any_client, rtype, **params)
        assert got == expected, (rtype, params, got)


async def test_our_search_parameters_are_in_the_capability_statement(tmp_path: Path) -> None:
    async with running(make_app("sqlite", tmp_path, canonical_base="https://insurer.example/fhir")) as c:
        cs = (await c.get("metadata")).json()
    assert {
        "name": "reindex",
        "definition": "https://insurer.example/fhir/OperationDefinition/reindex",
    } in cs["rest"][0]["operation"]
    od = json.loads((PROFILES / "OperationDefinition-reindex.json").read_text())
    assert od["url"] == "https://openimis.org/fhir/OperationDefinition/reindex" and od["code"] == "reindex"
    by_type = {r["type"]: {p["name"]: p for p in r["searchParam"]} for r in cs["rest"][0]["resource"]}
    files = sorted(p.name for p in PROFILES.glob("SearchParameter-*.json"))
    assert len(files) >= 8
    for name in files:
        sp = json.loads((PROFILES / name).read_text())
        assert sp["url"] == OURS + sp["id"]  # the files carry the default base
        for base in sp["base"]:
            listed = by_type[base][sp["code"]]
            assert listed["definition"] == "https://insurer.example/fhir/SearchParameter/" + sp["id"]
            assert listed["type"] == sp["type"]


# ------------------------------------------------------------------ run-time SearchParameters

NICKNAME = {
    "resourceType": "SearchParameter",
    "url": "https://insurer.example/fhir/SearchParameter/Patient-nickname",
    "name": "Nickname",
    "status": "active",
    "description": "A patient by a nickname",
    "code": "nickname",
    "base": ["Patient"],
    "type": "string",
    "expression": "Patient.name.where(use='nickname').given",
}


def nicknamed(nick: str) -> dict[str, Any]:
    return {"resourceType": "Patient", "name": [{"use": "nickname", "given": [nick]}, {"family": "F"}]}


async def create_patients(client: httpx.AsyncClient, *nicks: str) -> list[str]:
    out = []
    for nick in nicks:
        r = await client.post("Patient", json=nicknamed(nick), headers=FHIR_JSON)
        assert r.status_code == 201, r.text
        out.append(r.json()["id"])
    return out


async def finish(client: httpx.AsyncClient, response: httpx.Response) -> dict[str, Any]:
    """Poll a 202's Content-Location until the job is no longer queued or running."""
    assert response.status_code == 202, response.text
    url = response.headers["Content-Location"]
    assert url.startswith(BASE + "/$reindex-status?job=")
    for _ in range(400):
        status = (await client.get(url)).json()
        values = {
            p["name"]: next(v for k, v in p.items() if k.startswith("value")) for p in status["parameter"]
        }
        if values["status"] not in ("queued", "running"):
            return values
        await asyncio.sleep(0.01)
    raise AssertionError("reindex did not finish")


async def test_a_parameter_added_at_run_time_is_searchable_after_reindex(tmp_path: Path) -> None:
    async with running(make_app("sqlite", tmp_path)) as c:
        await create_patients(c, "Bob", "Bobby", "Al")
        r = await c.post("SearchParameter", json=NICKNAME, headers=FHIR_JSON)
        assert r.status_code == 201, r.text
        sp_id = r.json()["id"]
        # existing Patients were stored before the parameter: missing, and the searchset says so
        before = (await c.get("Patient", params={"nickname": "bob"})).json()
        assert [e["search"]["mode"] for e in before["entry"]] == ["outcome"]
        assert any("'nickname' was added after 3 resources of type Patient" in w for w in warnings(before))
        assert any("$reindex" in w for w in warnings(before))
        # a write after the registration is indexed at once
        (new,) = await create_patients(c, "Bobo")
        assert await ids(c, "Patient", nickname="bob") == [new]
        done = await finish(c, await c.post("Patient/$reindex"))
        assert done["status"] == "completed"
        assert (done["total"], done["processed"], done["changed"]) == (4, 4, 3)
        assert done["resourceType"] == "Patient" and done["parameter"] == "nickname"
        assert "started" in done and "finished" in done and done["cursor"].startswith("Patient/")
        after = (await c.get("Patient", params={"nickname": "bob"})).json()
        assert len([e for e in after["entry"] if e["search"]["mode"] == "match"]) == 3
        assert warnings(after) == []
        # reindex changed no version and wrote no history
        first = (await c.get("Patient", params={"nickname": "al"})).json()["entry"][0]["resource"]
        assert first["meta"]["versionId"] == "1"
        hist = (await c.get(f"Patient/{first['id']}/_history")).json()
        assert hist["total"] == 1 if "total" in hist else len(hist["entry"]) == 1
        # running it again is harmless
        again = await finish(c, await c.post("Patient/$reindex"))
        assert (again["status"], again["changed"]) == ("completed", 0)
    # the parameter survives a restart (it is stored), and so does the reindexed state
    async with running(make_app("sqlite", tmp_path)) as c:
        found = (await c.get("Patient", params={"nickname": "bob"})).json()
        assert len([e for e in found["entry"] if e["search"]["mode"] == "match"]) == 3
        assert warnings(found) == []
        assert "nickname" in {
            p["name"]
            for r in (await c.get("metadata")).json()["rest"][0]["resource"]
            if r["type"] == "Patient"
            for p in r["searchParam"]
        }
        # deleting the SearchParameter removes the parameter
        assert (await c.delete(f"SearchParameter/{sp_id}")).status_code == 200
        gone = (await c.get("Patient", params={"nickname": "bob"})).json()
        assert any("ignored" in w and "nickname" in w for w in warnings(gone))


async def test_the_pending_warning_survives_a_restart_until_reindex(tmp_path: Path) -> None:
    async with running(make_app("sqlite", tmp_path)) as c:
        await create_patients(c, "Bob")
        assert (await c.post("SearchParameter", json=NICKNAME, headers=FHIR_JSON)).status_code == 201
    async with running(make_app("sqlite", tmp_path)) as c:
        bundle = (await c.get("Patient", params={"nickname": "bob"})).json()
        assert any("added after 1 resources of type Patient" in w for w in warnings(bundle))
        done = await finish(c, await c.post("$reindex"))  # system level
        assert done["status"] == "completed" and done["resourceType"] == "*"
        assert done["processed"] >= 2  # the Patient and the SearchParameter itself
        assert await ids(c, "Patient", nickname="bob") != []
    async with running(make_app("sqlite", tmp_path)) as c:
        assert warnings((await c.get("Patient", params={"nickname": "bob"})).json()) == []


async def test_retired_parameters_are_removed_and_active_again_registered(
    any_client: httpx.AsyncClient,
) -> None:
    c = any_client
    r = await c.post("SearchParameter", json=NICKNAME, headers=FHIR_JSON)
    sp_id = r.json()["id"]
    await create_patients(c, "Zed")
    assert len(await ids(c, "Patient", nickname="zed")) == 1
    retired = {**NICKNAME, "id": sp_id, "status": "retired"}
    assert (await c.put(f"SearchParameter/{sp_id}", json=retired, headers=FHIR_JSON)).status_code == 200
    bundle = (await c.get("Patient", params={"nickname": "zed"})).json()
    assert any("ignored" in w for w in warnings(bundle))
    assert server_of(c).registry.get("Patient", "nickname") is None
    active = {**NICKNAME, "id": sp_id}
    assert (await c.put(f"SearchParameter/{sp_id}", json=active, headers=FHIR_JSON)).status_code == 200
    assert len(await ids(c, "Patient", nickname="zed")) == 1


async def test_a_parameter_in_a_transaction_is_registered(any_client: httpx.AsyncClient) -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [{"resource": NICKNAME, "request": {"method": "POST", "url": "SearchParameter"}}],
    }
    r = await any_client.post("", json=bundle, headers=FHIR_JSON)
    assert r.status_code == 200 and r.json()["entry"][0]["response"]["status"].startswith("201")
    await create_patients(any_client, "Tx")
    assert len(await ids(any_client, "Patient", nickname="tx")) == 1


async def test_instance_and_type_reindex_on_both_backends(any_client: httpx.AsyncClient) -> None:
    c = any_client
    a, b = await create_patients(c, "Ann", "Anna")
    assert (await c.post("SearchParameter", json=NICKNAME, headers=FHIR_JSON)).status_code == 201
    r = await c.post(f"Patient/{a}/$reindex")
    assert r.status_code == 200, r.text
    params = r.json()["parameter"]
    assert {"name": "entriesChanged", "valueBoolean": True} in params
    assert {"name": "parameter", "valueString": "nickname"} in params
    assert {"name": "resource", "valueReference": {"reference": f"Patient/{a}"}} in params
    assert await ids(c, "Patient", nickname="ann") == [a]
    again = (await c.post(f"Patient/{a}/$reindex")).json()["parameter"]
    assert {"name": "entriesChanged", "valueBoolean": False} in again
    done = await finish(c, await c.post("Patient/$reindex"))
    assert (done["status"], done["processed"], done["changed"]) == ("completed", 2, 1)
    assert await ids(c, "Patient", nickname="ann") == sorted([a, b])


async def test_an_interrupted_job_resumes_when_the_server_starts_again(tmp_path: Path) -> None:
    async with running(make_app("sqlite", tmp_path, reindex_batch_size=2)) as c:
        made = await create_patients(c, *[f"Kim{i}" for i in range(7)])
        assert (await c.post("SearchParameter", json=NICKNAME, headers=FHIR_JSON)).status_code == 201
        jobs = server_of(c).jobs
        assert jobs is not None
        jobs.stop_after_batches = 1  # as if the server stopped after one batch
        r = await c.post("Patient/$reindex")
        assert r.status_code == 202
        job_id = r.headers["Content-Location"].rsplit("=", 1)[1]
        await jobs.wait(job_id)
        status = (await c.get(r.headers["Content-Location"])).json()
        values = {
            p["name"]: next(v for k, v in p.items() if k.startswith("value")) for p in status["parameter"]
        }
        assert (values["status"], values["processed"], values["batches"]) == ("running", 2, 1)
        assert len(await ids(c, "Patient", nickname="kim")) == 2
    async with running(make_app("sqlite", tmp_path, reindex_batch_size=2)) as c:
        jobs = server_of(c).jobs
        assert jobs is not None
        await jobs.wait(job_id)  # resumed at start-up
        status = (await c.get(f"$reindex-status?job={job_id}")).json()
        values = {
            p["name"]: next(v for k, v in p.items() if k.startswith("value")) for p in status["parameter"]
        }
        assert (values["status"], values["processed"], values["changed"]) == ("completed", 7, 7)
        assert await ids(c, "Patient", nickname="kim") == sorted(made)
        listing = (await c.get("$reindex-status")).json()
        assert [p["name"] for p in listing["parameter"]] == ["job"]


async def test_asking_again_resumes_the_unfinished_job(tmp_path: Path) -> None:
    async with running(make_app("sqlite", tmp_path, reindex_batch_size=1)) as c:
        await create_patients(c, "A1", "A2", "A3")
        await c.post("SearchParameter", json=NICKNAME, headers=FHIR_JSON)
        jobs = server_of(c).jobs
        assert jobs is not None
        jobs.stop_after_batches = 1
        first = await c.post("Patient/$reindex")
        job_id = first.headers["Content-Location"].rsplit("=", 1)[1]
        await jobs.wait(job_id)
        jobs.stop_after_batches = None
        second = await c.post("Patient/$reindex")
        assert second.headers["Content-Location"] == first.headers["Content-Location"]
        done = await finish(c, second)
        assert (done["status"], done["processed"]) == ("completed", 3)


# ------------------------------------------------------------------ refusals

BAD = [
    ({"base": ["Insuree"]}, 400, "code-invalid", "SearchParameter.base[0]"),  # the R4 binding
    ({"expression": "Patient.name +"}, 400, "value", "SearchParameter.expression"),
    ({"expression": "Patient.nickname"}, 422, "value", "SearchParameter.expression"),
    ({"expression": "Group.name"}, 422, "value", "SearchParameter.expression"),
    ({"code": "identifier", "url": "urn:x:other"}, 422, "duplicate", "SearchParameter.code"),
    ({"code": "_nick"}, 422, "value", "SearchParameter.code"),
    ({"type": "special"}, 422, "not-supported", "SearchParameter.type"),
    ({"type": "reference", "target": ["Insurer"]}, 400, "code-invalid", "SearchParameter.target[0]"),
    (
        {
            "type": "composite",
            "expression": "Patient.name",
            "component": [
                {"definition": "urn:x:nope", "expression": "given"},
                {
                    "definition": "http://hl7.org/fhir/SearchParameter/individual-family",
                    "expression": "family",
                },
            ],
        },
        422,
        "value",
        "SearchParameter.component[0].definition",
    ),
    ({"type": "composite", "expression": "Patient.name"}, 422, "required", "SearchParameter.component"),
]


@pytest.mark.parametrize(("change", "status", "code", "expression"), BAD)
async def test_bad_search_parameters_are_refused_and_not_stored(
    any_client: httpx.AsyncClient, change: dict[str, Any], status: int, code: str, expression: str
) -> None:
    r = await any_client.post("SearchParameter", json={**NICKNAME, **change}, headers=FHIR_JSON)
    assert r.status_code == status, r.text
    issue = r.json()["issue"][0]
    assert (issue["code"], issue["expression"]) == (code, [expression]), issue
    count = (await any_client.get("SearchParameter", params={"_summary": "count"})).json()
    assert count["total"] == 0


async def test_a_bad_parameter_fails_its_whole_transaction(tmp_path: Path) -> None:
    async with running(make_app("sqlite", tmp_path)) as c:
        bundle = {
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [
                {"resource": nicknamed("X"), "request": {"method": "POST", "url": "Patient"}},
                {
                    "resource": {**NICKNAME, "expression": "Patient.nickname"},
                    "request": {"method": "POST", "url": "SearchParameter"},
                },
            ],
        }
        r = await c.post("", json=bundle, headers=FHIR_JSON)
        assert r.status_code == 422, r.text
        assert (await c.get("Patient", params={"_summary": "count"})).json()["total"] == 0


async def test_draft_parameters_are_stored_but_not_registered(any_client: httpx.AsyncClient) -> None:
    draft = {**NICKNAME, "status": "draft", "expression": "Patient.nickname"}
    assert (await any_client.post("SearchParameter", json=draft, headers=FHIR_JSON)).status_code == 201
    assert server_of(any_client).registry.get("Patient", "nickname") is None


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("POST", "Insuree/$reindex", 404),
        ("POST", "Insuree/1/$reindex", 404),
        ("POST", "Patient/nobody/$reindex", 404),
        ("GET", "Patient/$reindex", 405),
        ("GET", "$reindex-status?job=nope", 404),
        ("GET", "$reindex-status?job=a%20b", 400),
        ("POST", "$reindex-status", 405),
    ],
)
async def test_reindex_refusals(any_client: httpx.AsyncClient, method: str, path: str, status: int) -> None:
    r = await any_client.request(method, path)
    assert r.status_code == status, r.text
    assert r.json()["resourceType"] == "OperationOutcome"
