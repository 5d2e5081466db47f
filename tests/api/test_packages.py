"""Installing FHIR packages over HTTP (``$install-package``, ``$packages``), from the CLI
into a real SQLite file, and from an npm-compatible registry served locally; ``make ig``'s
package installs into a fresh server. After an installation, without a restart: its
SearchParameter is searchable, its ValueSet works in ``:in``, its StructureDefinition is
found by url."""

from __future__ import annotations

import base64
import hashlib
import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from fhir_server import cli
from fhir_server.app import create_app
from fhir_server.packages.build import write_package
from scripts.build_ig import build as build_ig
from tests import package_data as pd
from tests.conftest import require_r4_examples

from .conftest import FHIR_JSON, make_settings
from .test_custom_search_params import make_app, running, warnings

GZIP = {"Content-Type": "application/gzip"}
TAG_SYSTEM = "https://openimis.org/fhir/CodeSystem/package"
ROOT = Path(__file__).resolve().parents[2]


def part(params: list[dict[str, Any]], name: str) -> Any:
    found = [p for p in params if p["name"] == name]
    assert found, (name, params)
    p = found[0]
    return p.get("part") or next(v for k, v in p.items() if k.startswith("value"))


def packages_of(body: dict[str, Any]) -> list[list[dict[str, Any]]]:
    assert body["resourceType"] == "Parameters", body
    return [p["part"] for p in body["parameter"] if p["name"] == "package"]


def actions(package: list[dict[str, Any]]) -> dict[str, str]:
    out = {}
    for p in package:
        if p["name"] == "resource":
            ref = part(p["part"], "reference")["reference"]
            out[ref] = part(p["part"], "action")
    return out


async def names(client: httpx.AsyncClient, path: str, params: dict[str, str]) -> list[str]:
    r = await client.get(path, params=params)
    assert r.status_code == 200, r.text
    return sorted(e["resource"]["id"] for e in r.json().get("entry", []) if e["search"]["mode"] == "match")


async def check_installed(c: httpx.AsyncClient) -> None:
    """What the sample package gives a server, without restart."""
    # the SearchParameter: searchable for resources written after the install
    for id, suffix in (("p1", "Jr"), ("p2", "Sr")):
        body = {"resourceType": "Patient", "id": id, "name": [{"family": "X", "suffix": [suffix]}]}
        assert (await c.put(f"Patient/{id}", json=body, headers=FHIR_JSON)).status_code == 201
    assert await names(c, "Patient", {"name-suffix": "jr"}) == ["p1"]
    # the ValueSet (and its CodeSystem) in :in and :not-in
    for id, code in (("o1", "red"), ("o2", "blue"), ("o3", "orange")):
        obs = {
            "resourceType": "Observation",
            "id": id,
            "status": "final",
            "code": {"coding": [{"system": pd.CS_URL, "code": code}]},
        }
        assert (await c.put(f"Observation/{id}", json=obs, headers=FHIR_JSON)).status_code == 201
    assert await names(c, "Observation", {"code:in": pd.VS_URL}) == ["o1", "o3"]
    assert await names(c, "Observation", {"code:not-in": pd.VS_URL}) == ["o2"]
    # the StructureDefinition: stored, found by its canonical url, tagged with the package
    r = await c.get("StructureDefinition", params={"url": pd.SD_URL})
    sds = [e["resource"] for e in r.json()["entry"]]
    assert len(sds) == 1 and sds[0]["type"] == "Patient"
    assert {"system": TAG_SYSTEM, "code": f"{pd.NAME}@1.0.0"} in sds[0]["meta"]["tag"]
    tagged = {"_tag": f"{TAG_SYSTEM}|{pd.NAME}@1.0.0"}
    assert await names(c, "ValueSet", tagged) == ["warm"]  # what a package installed, by its tag
    # examples (package/example/) and non-conformance files in package/ are not loaded
    assert (await c.get("Patient/pkg-example")).status_code == 404
    assert (await c.get("Patient/in-root")).status_code == 404


async def test_install_from_the_request_body_takes_effect_at_once(client: httpx.AsyncClient) -> None:
    r = await client.post("$install-package", content=pd.sample(), headers=GZIP)
    assert r.status_code == 200, r.text
    [package] = packages_of(r.json())
    assert part(package, "name") == pd.NAME and part(package, "version") == "1.0.0"
    assert part(package, "status") == "installed"
    assert actions(package) == {
        "CodeSystem/colour": "created",
        "SearchParameter/Patient-name-suffix": "created",
        "StructureDefinition/sample-patient": "created",
        "ValueSet/warm": "created",
    }
    assert part(package, "ignored") == "package/Patient-in-root.json"
    await check_installed(client)
    listed = packages_of((await client.get("$packages")).json())
    assert [(part(p, "name"), part(p, "version")) for p in listed] == [(pd.NAME, "1.0.0")]


async def test_reinstalling_the_same_version_changes_nothing(client: httpx.AsyncClient) -> None:
    assert (await client.post("$install-package", content=pd.sample(), headers=GZIP)).status_code == 200
    before = (await client.get("ValueSet/warm")).json()["meta"]["versionId"]
    r = await client.post("$install-package", content=pd.sample(), headers=GZIP)
    assert r.status_code == 200
    [package] = packages_of(r.json())
    assert part(package, "status") == "already-installed"
    assert (await client.get("ValueSet/warm")).json()["meta"]["versionId"] == before
    assert len(packages_of((await client.get("$packages")).json())) == 1


async def test_a_new_version_updates_by_canonical_url(client: httpx.AsyncClient) -> None:
    assert (await client.post("$install-package", content=pd.sample(), headers=GZIP)).status_code == 200
    changed_vs = pd.resources("1.1.0")["ValueSet-warm.json"]
    changed_vs["id"] = "other-id"  # matched by url, not id
    data = pd.sample("1.1.0", files={"ValueSet-warm.json": changed_vs})
    r = await client.post("$install-package", content=data, headers=GZIP)
    assert r.status_code == 200, r.text
    [package] = packages_of(r.json())
    assert actions(package)["ValueSet/warm"] == "updated"
    vs = (await client.get("ValueSet/warm")).json()
    assert vs["version"] == "1.1.0" and vs["meta"]["versionId"] == "2"
    assert [t for t in vs["meta"]["tag"] if t["system"] == TAG_SYSTEM] == [
        {"system": TAG_SYSTEM, "code": f"{pd.NAME}@1.1.0"}
    ]
    assert (await client.get("ValueSet/other-id")).status_code == 404
    listed = packages_of((await client.get("$packages")).json())
    assert [part(p, "version") for p in listed] == ["1.1.0"]  # the older record is replaced


async def test_an_id_taken_by_another_canonical_gets_a_new_id(client: httpx.AsyncClient) -> None:
    mine = {"resourceType": "ValueSet", "id": "warm", "url": "http://elsewhere/vs", "status": "draft"}
    assert (await client.put("ValueSet/warm", json=mine, headers=FHIR_JSON)).status_code == 201
    r = await client.post("$install-package", content=pd.sample(), headers=GZIP)
    [package] = packages_of(r.json())
    new = [ref for ref in actions(package) if ref.startswith("ValueSet/")]
    assert new != ["ValueSet/warm"]
    assert (await client.get("ValueSet/warm")).json()["url"] == "http://elsewhere/vs"  # untouched
    assert (await client.get(new[0])).json()["url"] == pd.VS_URL


async def test_install_from_binary_and_parameters(client: httpx.AsyncClient) -> None:
    binary = {"resourceType": "Binary", "contentType": "application/gzip", "data": b64(pd.sample())}
    r = await client.post("$install-package", json=binary, headers=FHIR_JSON)
    assert r.status_code == 200, r.text
    # a dependent package given with a new version of its dependency: dependencies first
    dependent = write_package(
        {
            "name": "example.fhir.child",
            "version": "0.1.0",
            "fhirVersions": ["4.0.1"],
            "dependencies": {pd.NAME: "2.0.x"},
        },
        {
            "CodeSystem-c.json": {
                "resourceType": "CodeSystem",
                "id": "c",
                "url": "http://example.org/c",
                "status": "active",
                "content": "complete",
            }
        },
    )
    params = {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "package", "valueBase64Binary": b64(dependent)},
            {"name": "package", "valueBase64Binary": b64(pd.sample("2.0.1"))},
        ],
    }
    r = await client.post("$install-package", json=params, headers=FHIR_JSON)
    assert r.status_code == 200, r.text
    assert [part(p, "name") for p in packages_of(r.json())] == [pd.NAME, "example.fhir.child"]


async def test_a_missing_dependency_is_refused(client: httpx.AsyncClient) -> None:
    data = write_package(
        {
            "name": "example.fhir.child",
            "version": "0.1.0",
            "fhirVersions": ["4.0.1"],
            "dependencies": {"some.other.ig": "1.0.0"},
        },
        {},
    )
    r = await client.post("$install-package", content=data, headers=GZIP)
    assert r.status_code == 400
    issue = r.json()["issue"][0]
    assert issue["code"] == "not-found" and "some.other.ig@1.0.0" in issue["diagnostics"]


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


async def nothing_installed(c: httpx.AsyncClient) -> None:
    for path in ("CodeSystem", "ValueSet", "StructureDefinition", "SearchParameter"):
        assert (await c.get(path)).json().get("entry", []) == [], path
    assert packages_of((await c.get("$packages")).json()) == []


@pytest.mark.parametrize(
    ("data", "expression", "text"),
    [
        (b"definitely not gzip", "package", "not a gzip"),
        (write_package(None, pd.resources()), "package/package.json", "no package/package.json"),
        (pd.sample(fhirVersions=["3.0.2"]), "package/package.json", "FHIR 3.0.2"),
    ],
)
async def test_bad_packages_are_refused(
    client: httpx.AsyncClient, data: bytes, expression: str, text: str
) -> None:
    r = await client.post("$install-package", content=data, headers=GZIP)
    assert r.status_code == 400, r.text
    issue = r.json()["issue"][0]
    assert issue["expression"] == [expression] and text in issue["diagnostics"]
    await nothing_installed(client)


@pytest.mark.parametrize(
    ("file", "resource", "expression"),
    [
        # an invalid code for a required binding (ValueSet.status)
        (
            "ValueSet-warm.json",
            {**pd.resources()["ValueSet-warm.json"], "status": "bogus"},
            "ValueSet.status",
        ),
        # a SearchParameter the server cannot register
        (
            "SearchParameter-Patient-name-suffix.json",
            {
                **pd.resources()["SearchParameter-Patient-name-suffix.json"],
                "expression": "Patient.nosuchthing",
            },
            "SearchParameter.expression",
        ),
    ],
)
async def test_an_invalid_resource_refuses_the_whole_package(
    client: httpx.AsyncClient, file: str, resource: dict[str, Any], expression: str
) -> None:
    r = await client.post("$install-package", content=pd.sample(files={file: resource}), headers=GZIP)
    assert r.status_code in (400, 422), r.text
    issue = r.json()["issue"][0]
    assert issue["expression"] == [expression], issue
    assert f"package/{file}" in issue["diagnostics"] and "nothing was installed" in issue["diagnostics"]
    await nothing_installed(client)  # the CodeSystem etc. written before it were rolled back
    assert await names(client, "Patient", {"name-suffix": "x"}) == []


async def test_operation_errors(client: httpx.AsyncClient) -> None:
    r = await client.get("$install-package")
    assert r.status_code == 405
    r = await client.post("Patient/$install-package", content=pd.sample(), headers=GZIP)
    assert r.status_code == 404
    r = await client.post("$install-package", content=b"x", headers={"Content-Type": "text/plain"})
    assert r.status_code == 415
    r = await client.post("$install-package", json={"resourceType": "Parameters"}, headers=FHIR_JSON)
    assert r.status_code == 400 and r.json()["issue"][0]["code"] == "required"
    bad = {"resourceType": "Parameters", "parameter": [{"name": "package", "valueBase64Binary": "@@@"}]}
    r = await client.post("$install-package", json=bad, headers=FHIR_JSON)
    assert r.status_code == 400 and r.json()["issue"][0]["expression"] == [
        "Parameters.parameter[0].valueBase64Binary"
    ]
    r = await client.post("$install-package", json={"resourceType": "Patient"}, headers=FHIR_JSON)
    assert r.status_code == 400
    path = {"resourceType": "Parameters", "parameter": [{"name": "name", "valueString": "/etc/passwd"}]}
    assert (await client.post("$install-package", json=path, headers=FHIR_JSON)).status_code == 400


async def test_parameters_added_to_existing_resources_warn_until_reindex(tmp_path: Path) -> None:
    async with running(make_app("sqlite", tmp_path)) as c:
        body = {"resourceType": "Patient", "name": [{"family": "Old", "suffix": ["Jr"]}]}
        assert (await c.post("Patient", json=body, headers=FHIR_JSON)).status_code == 201
        assert (await c.post("$install-package", content=pd.sample(), headers=GZIP)).status_code == 200
        bundle = (await c.get("Patient", params={"name-suffix": "jr"})).json()
        assert any("'name-suffix' was added after 1 resources of type Patient" in w for w in warnings(bundle))


async def test_capability_statement_and_operation_definitions(client: httpx.AsyncClient) -> None:
    cs = (await client.get("metadata")).json()
    ops = {o["name"]: o["definition"] for o in cs["rest"][0]["operation"]}
    assert ops["install-package"] == "https://openimis.org/fhir/OperationDefinition/install-package"
    assert ops["packages"] == "https://openimis.org/fhir/OperationDefinition/packages"
    assert ops["uninstall-package"] == "https://openimis.org/fhir/OperationDefinition/uninstall-package"
    for code in ("install-package", "packages", "uninstall-package"):
        od = json.loads((ROOT / "profiles" / f"OperationDefinition-{code}.json").read_text())
        assert od["code"] == code and od["url"] == ops[code] and od["system"] is True
        assert (
            await client.put(f"OperationDefinition/{code}", json=od, headers=FHIR_JSON)
        ).status_code == 201


async def test_mongo_without_transactions_refuses_a_multi_resource_package(tmp_path: Path) -> None:
    async with running(make_app("mongo", tmp_path)) as c:
        r = await c.post("$install-package", content=pd.sample(), headers=GZIP)
        server = c._transport.app.state.server  # type: ignore[attr-defined]
        if server.store.supports_transactions:  # a real replica set (FHIR_TEST_MONGODB_URI)
            assert r.status_code == 200, r.text
            await check_installed(c)
            return
        assert r.status_code == 400 and r.json()["issue"][0]["code"] == "not-supported"
        assert "atomically" in r.json()["issue"][0]["diagnostics"]
        await nothing_installed(c)


def uninstall_body(name: str) -> dict[str, Any]:
    return {"resourceType": "Parameters", "parameter": [{"name": "name", "valueString": name}]}


async def test_uninstall_deletes_what_the_package_installed(client: httpx.AsyncClient) -> None:
    assert (await client.post("$install-package", content=pd.sample(), headers=GZIP)).status_code == 200
    # a client rewrites the CodeSystem without the package tag: it is no longer the package's
    cs = (await client.get("CodeSystem/colour")).json()
    del cs["meta"]  # (an empty "meta": {} would break ele-1)
    assert (await client.put("CodeSystem/colour", json=cs, headers=FHIR_JSON)).status_code == 200
    r = await client.post("$uninstall-package", json=uninstall_body(pd.NAME), headers=FHIR_JSON)
    assert r.status_code == 200, r.text
    [package] = packages_of(r.json())
    assert part(package, "status") == "uninstalled"
    assert actions(package) == {
        "CodeSystem/colour": "kept",
        "SearchParameter/Patient-name-suffix": "deleted",
        "StructureDefinition/sample-patient": "deleted",
        "ValueSet/warm": "deleted",
    }
    assert (await client.get("ValueSet/warm")).status_code == 410
    assert (await client.get("CodeSystem/colour")).status_code == 200
    bundle = (await client.get("Patient", params={"name-suffix": "jr"})).json()  # no longer a parameter
    assert any("name-suffix" in w for w in warnings(bundle))
    assert packages_of((await client.get("$packages")).json()) == []
    # and it can be installed again
    r = await client.post("$install-package", content=pd.sample(), headers=GZIP)
    assert part(packages_of(r.json())[0], "status") == "installed"


async def test_uninstall_refusals(client: httpx.AsyncClient) -> None:
    r = await client.post("$uninstall-package", json=uninstall_body("no.such.pkg"), headers=FHIR_JSON)
    assert r.status_code == 404
    r = await client.post("$uninstall-package", json={"resourceType": "Parameters"}, headers=FHIR_JSON)
    assert r.status_code == 400 and r.json()["issue"][0]["code"] == "required"
    dependent = write_package(
        {
            "name": "example.fhir.child",
            "version": "0.1.0",
            "fhirVersions": ["4.0.1"],
            "dependencies": {pd.NAME: "1.0.0"},
        },
        {},
    )
    for data in (pd.sample(), dependent):
        assert (await client.post("$install-package", content=data, headers=GZIP)).status_code == 200
    r = await client.post("$uninstall-package", json=uninstall_body(pd.NAME), headers=FHIR_JSON)
    assert (
        r.status_code == 400 and "needed by example.fhir.child@0.1.0" in r.json()["issue"][0]["diagnostics"]
    )
    assert (await client.get("ValueSet/warm")).status_code == 200


# ---------------------------------------------------------------- CLI on a real SQLite file


def test_cli_install_then_the_server_uses_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "sample.tgz"
    path.write_bytes(pd.sample())
    store = f"sqlite:///{tmp_path / 'fhir.db'}"
    assert cli.main(["package", "install", str(path), "--store", store]) == 0
    out = capsys.readouterr().out
    assert f"{pd.NAME}@1.0.0: installed (4 created, 0 updated, 0 unchanged)" in out
    assert cli.main(["package", "install", str(path), "--store", store]) == 0
    assert "already installed" in capsys.readouterr().out
    assert cli.main(["package", "list", "--store", store]) == 0
    assert f"{pd.NAME}@1.0.0\t4 resources" in capsys.readouterr().out

    async def serve() -> None:
        async with running(create_app(make_settings(tmp_path))) as c:
            await check_installed(c)

    import asyncio

    asyncio.run(serve())
    assert cli.main(["package", "uninstall", pd.NAME, "--store", store]) == 0
    assert f"{pd.NAME}@1.0.0: uninstalled (4 deleted, 0 kept)" in capsys.readouterr().out
    assert cli.main(["package", "list", "--store", store]) == 0
    assert capsys.readouterr().out == ""


def test_cli_refuses_a_bad_package(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.tgz"
    bad.write_bytes(pd.sample(fhirVersions=["5.0.0"]))
    store = f"sqlite:///{tmp_path / 'fhir.db'}"
    assert cli.main(["package", "install", str(bad), "--store", store]) == 1
    err = capsys.readouterr().err
    assert "error:" in err and "FHIR 5.0.0" in err
    assert cli.main(["package", "install", str(tmp_path / "missing.tgz"), "--store", store]) == 1
    assert "No package file" in capsys.readouterr().err
    assert cli.main(["package", "list", "--store", store]) == 0
    assert capsys.readouterr().out == ""


# ---------------------------------------------------------------- a local npm registry


class Registry:
    """An npm-compatible registry on 127.0.0.1: ``GET /{name}`` and ``GET /-/{file}.tgz``."""

    def __init__(self) -> None:
        self.tarballs: dict[str, bytes] = {}
        self.documents: dict[str, dict[str, Any]] = {}
        registry = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                name = self.path.strip("/")
                if name in registry.documents:
                    self.answer(json.dumps(registry.documents[name]).encode(), "application/json")
                elif name in registry.tarballs:
                    self.answer(registry.tarballs[name], "application/octet-stream")
                else:
                    self.send_error(404)

            def answer(self, body: bytes, media: str) -> None:
                self.send_response(200)
                self.send_header("Content-Type", media)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def publish(self, name: str, version: str, data: bytes, *, shasum: str | None = None) -> None:
        file = f"-/{name}-{version}.tgz"
        self.tarballs[file] = data
        doc = self.documents.setdefault(name, {"name": name, "versions": {}, "dist-tags": {}})
        doc["versions"][version] = {
            "name": name,
            "version": version,
            "dist": {"tarball": f"{self.url}/{file}", "shasum": shasum or hashlib.sha1(data).hexdigest()},
        }
        doc["dist-tags"]["latest"] = version


@pytest.fixture
def registry() -> Iterator[Registry]:
    reg = Registry()
    thread = threading.Thread(target=reg.httpd.serve_forever, daemon=True)
    thread.start()
    yield reg
    reg.httpd.shutdown()
    reg.httpd.server_close()
    thread.join(timeout=5)


async def test_install_by_name_and_version_from_a_registry(tmp_path: Path, registry: Registry) -> None:
    registry.publish(pd.NAME, "1.0.0", pd.sample())
    registry.publish("bad.shasum", "1.0.0", pd.sample(), shasum="0" * 40)
    async with running(create_app(make_settings(tmp_path, package_registry=registry.url))) as c:
        params = {
            "resourceType": "Parameters",
            "parameter": [
                {"name": "name", "valueString": pd.NAME},
                {"name": "version", "valueString": "1.0.0"},
            ],
        }
        r = await c.post("$install-package", json=params, headers=FHIR_JSON)
        assert r.status_code == 200, r.text
        [package] = packages_of(r.json())
        assert part(package, "source") == f"{registry.url}/{pd.NAME}@1.0.0"
        await check_installed(c)
        # a tarball whose checksum does not match the registry's: refused
        bad = {"resourceType": "Parameters", "parameter": [{"name": "name", "valueString": "bad.shasum"}]}
        r = await c.post("$install-package", json=bad, headers=FHIR_JSON)
        assert r.status_code == 400 and "SHA-1" in r.json()["issue"][0]["diagnostics"]
        # unknown package / version: 404
        missing = {
            "resourceType": "Parameters",
            "parameter": [{"name": "name", "valueString": "no.such.pkg"}],
        }
        assert (await c.post("$install-package", json=missing, headers=FHIR_JSON)).status_code == 404
        params["parameter"][1]["valueString"] = "9.9.9"
        r = await c.post("$install-package", json=params, headers=FHIR_JSON)
        assert r.status_code == 404 and "versions: 1.0.0" in r.json()["issue"][0]["diagnostics"]
        # a tarball URL
        by_url = {
            "resourceType": "Parameters",
            "parameter": [{"name": "url", "valueUri": f"{registry.url}/-/{pd.NAME}-1.0.0.tgz"}],
        }
        r = await c.post("$install-package", json=by_url, headers=FHIR_JSON)
        assert part(packages_of(r.json())[0], "status") == "already-installed"


def test_cli_install_from_a_registry(
    tmp_path: Path, registry: Registry, capsys: pytest.CaptureFixture[str]
) -> None:
    registry.publish(pd.NAME, "1.0.0", pd.sample())
    registry.publish(pd.NAME, "1.1.0", pd.sample("1.1.0"))
    store = f"sqlite:///{tmp_path / 'fhir.db'}"
    assert cli.main(["package", "install", pd.NAME, "--store", store, "--registry", registry.url]) == 0
    assert f"{pd.NAME}@1.1.0: installed" in capsys.readouterr().out  # the latest
    assert (
        cli.main(["package", "install", f"{pd.NAME}@1.0.0", "--store", store, "--registry", registry.url])
        == 0
    )
    assert "4 updated" in capsys.readouterr().out


def test_an_unreachable_registry_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = f"sqlite:///{tmp_path / 'fhir.db'}"
    assert (
        cli.main(["package", "install", "a.b@1.0.0", "--store", store, "--registry", "http://127.0.0.1:9"])
        == 1
    )
    assert "GET http://127.0.0.1:9/a.b failed" in capsys.readouterr().err


# ---------------------------------------------------------------- make ig


async def test_make_ig_package_installs_into_a_fresh_server(tmp_path: Path) -> None:
    first = build_ig(ROOT, tmp_path / "a")
    second = build_ig(ROOT, tmp_path / "b")
    assert first.name.startswith("openimis.fhir.insurance-") and first.read_bytes() == second.read_bytes()
    async with running(create_app(make_settings(tmp_path))) as c:
        r = await c.post("$install-package", content=first.read_bytes(), headers=GZIP)
        assert r.status_code == 200, r.text
        [package] = packages_of(r.json())
        installed = actions(package)
        ours = {p.stem for folder in ("profiles", "terminology") for p in (ROOT / folder).glob("*.json")}
        assert len(installed) == len(ours) + 1  # + the ImplementationGuide
        assert set(installed.values()) == {"created"}
        vs = (
            await c.get("ValueSet", params={"url": "https://openimis.org/fhir/ValueSet/claim-status"})
        ).json()
        assert len(vs["entry"]) == 1
        ig = (await c.get("ImplementationGuide/openimis.fhir.insurance")).json()
        assert ig["packageId"] == "openimis.fhir.insurance"
        # the examples went to package/example/ and are not loaded
        assert (await c.get("Patient")).json().get("entry", []) == []
        again = await c.post("$install-package", content=first.read_bytes(), headers=GZIP)
        assert part(packages_of(again.json())[0], "status") == "already-installed"


# ---------------------------------------------------------------- real R4 conformance content

R4_CONFORMANCE = [
    "CapabilityStatement-example.json",
    "CodeSystem-example.json",
    "ConceptMap-101.json",
    "ImplementationGuide-example.json",
    "NamingSystem-example.json",
    "OperationDefinition-example.json",
    "SearchParameter-example.json",
    "StructureDefinition-bmi.json",
    "StructureDefinition-patient-mothersMaidenName.json",
    "StructureDefinition-vitalsigns.json",
    "ValueSet-marital-status.json",
]


async def test_official_r4_conformance_resources_install(client: httpx.AsyncClient) -> None:
    """Published resources of every conformance type (snapshots, extensions, NamingSystem by id)."""
    folder = require_r4_examples()
    files = {name: (folder / name).read_bytes() for name in R4_CONFORMANCE}
    data = write_package(
        {"name": "test.r4.conformance", "version": "4.0.1", "fhirVersions": ["4.0.1"]}, files
    )
    r = await client.post("$install-package", content=data, headers=GZIP)
    assert r.status_code == 200, r.text
    [package] = packages_of(r.json())
    assert len(actions(package)) == len(R4_CONFORMANCE) and set(actions(package).values()) == {"created"}
    bmi = await client.get(
        "StructureDefinition", params={"url": "http://hl7.org/fhir/StructureDefinition/bmi"}
    )
    assert bmi.json()["entry"][0]["resource"]["snapshot"]["element"]
    assert (await client.get("NamingSystem/example")).status_code == 200


async def test_an_official_resource_breaking_r4_refuses_the_package(client: httpx.AsyncClient) -> None:
    """CodeSystem-v2-0550 of the R4 package has codes with a trailing no-break space."""
    folder = require_r4_examples()
    files = {
        name: (folder / name).read_bytes() for name in ("CodeSystem-example.json", "CodeSystem-v2-0550.json")
    }
    data = write_package({"name": "test.r4.broken", "version": "1.0.0", "fhirVersions": ["4.0.1"]}, files)
    r = await client.post("$install-package", content=data, headers=GZIP)
    assert r.status_code == 400
    issue = r.json()["issue"][0]
    assert issue["expression"] == ["CodeSystem.concept[74].code"]
    assert "package/CodeSystem-v2-0550.json" in issue["diagnostics"]
    assert (await client.get("CodeSystem")).json().get("entry", []) == []
