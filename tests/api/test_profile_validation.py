"""Profiles over HTTP: enforced on writes (meta.profile, FHIR_REQUIRED_PROFILES), $validate.

The test profiles (tests/unit/validation/profile_fixtures.py) are created through the REST
API, so these tests also show that a StructureDefinition created at run time takes effect
on the next request.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from fhir_server.app import create_app
from fhir_server.config import Settings

from ..unit.validation.profile_fixtures import ALL, INSUREE, NUMBER_SYSTEM, insuree
from .conftest import BASE, FHIR_JSON, make_settings

RULES = "https://openimis.org/fhir/CodeSystem/validation-rule"


async def _load_profiles(c: httpx.AsyncClient) -> None:
    for sd in ALL:
        r = await c.put(f"StructureDefinition/{sd['id']}", json=sd, headers=FHIR_JSON)
        assert r.status_code in (200, 201), r.text


@pytest.fixture
async def pclient(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(make_settings(tmp_path))
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url=BASE + "/") as c,
    ):
        await _load_profiles(c)
        yield c


@pytest.fixture
async def required_client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(make_settings(tmp_path, required_profiles=f"Patient={INSUREE}"))
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url=BASE + "/") as c,
    ):
        await _load_profiles(c)
        yield c


def rules(outcome: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(severity, rule key, first expression) of each issue with a rule key."""
    out = []
    for i in outcome["issue"]:
        coding = (i.get("details") or {}).get("coding") or [{}]
        if coding[0].get("system") == RULES:
            out.append((i["severity"], coding[0]["code"], (i.get("expression") or [""])[0]))
    return out


async def test_a_conforming_resource_is_created(pclient: httpx.AsyncClient) -> None:
    r = await pclient.post("Patient", json=insuree(), headers=FHIR_JSON)
    assert r.status_code == 201, r.text


async def test_a_claimed_profile_is_enforced_with_422(pclient: httpx.AsyncClient) -> None:
    bad = insuree(identifier=[{"system": NUMBER_SYSTEM, "value": "12"}])
    r = await pclient.post("Patient", json=bad, headers=FHIR_JSON)
    assert r.status_code == 422, r.text
    assert rules(r.json()) == [("error", "tst-insuree-2", "Patient.identifier[0].value")]
    r = await pclient.put("Patient/p1", json={**bad, "id": "p1"}, headers=FHIR_JSON)
    assert r.status_code == 422
    assert (await pclient.get("Patient/p1")).status_code == 404


async def test_profile_errors_in_a_transaction_name_the_entry(pclient: httpx.AsyncClient) -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"resource": insuree(), "request": {"method": "POST", "url": "Patient"}},
            {"resource": insuree(gender=None), "request": {"method": "POST", "url": "Patient"}},
        ],
    }
    r = await pclient.post("", json=bundle, headers=FHIR_JSON)
    assert r.status_code == 422, r.text
    assert "cardinality" in r.text and "Bundle.entry[1]" in r.text
    found = (await pclient.get("Patient")).json()
    assert found.get("total", len(found.get("entry", []))) == 0


async def test_an_unknown_claimed_profile_is_only_a_warning(pclient: httpx.AsyncClient) -> None:
    body = {"resourceType": "Patient", "meta": {"profile": ["https://nowhere.example/SD/x"]}}
    r = await pclient.post("Patient", json=body, headers=FHIR_JSON)
    assert r.status_code == 201, r.text


async def test_a_profile_created_at_run_time_is_used_at_once(pclient: httpx.AsyncClient) -> None:
    sd = dict(ALL[1])
    sd = {
        **sd,
        "id": "late",
        "url": "https://example.org/fhir/StructureDefinition/late",
        "differential": {"element": [{"id": "Patient.birthDate", "path": "Patient.birthDate", "min": 1}]},
    }
    body = {"resourceType": "Patient", "meta": {"profile": [sd["url"]]}}
    assert (await pclient.post("Patient", json=body, headers=FHIR_JSON)).status_code == 201  # unknown yet
    assert (await pclient.put("StructureDefinition/late", json=sd, headers=FHIR_JSON)).status_code == 201
    r = await pclient.post("Patient", json=body, headers=FHIR_JSON)
    assert r.status_code == 422
    assert rules(r.json()) == [("error", "cardinality", "Patient.birthDate")]


async def test_required_profiles_apply_without_a_claim(required_client: httpx.AsyncClient) -> None:
    plain = {"resourceType": "Patient", "gender": "male"}
    r = await required_client.post("Patient", json=plain, headers=FHIR_JSON)
    assert r.status_code == 422, r.text
    assert ("error", "cardinality", "Patient.identifier") in rules(r.json())
    ok = insuree(meta=None)
    assert (await required_client.post("Patient", json=ok, headers=FHIR_JSON)).status_code == 201
    # other types are not concerned
    org = {"resourceType": "Organization", "name": "x"}
    assert (await required_client.post("Organization", json=org, headers=FHIR_JSON)).status_code == 201


async def test_validate_type_level_all_ok(pclient: httpx.AsyncClient) -> None:
    r = await pclient.post("Patient/$validate", json=insuree(), headers=FHIR_JSON)
    assert r.status_code == 200
    [issue] = r.json()["issue"]
    assert issue["severity"] == "information"


async def test_validate_with_profile_parameter_reports_the_failing_rule(pclient: httpx.AsyncClient) -> None:
    plain = {"resourceType": "Patient", "gender": "male", "birthDate": "2001-01-01"}
    params = {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "resource", "resource": plain},
            {"name": "profile", "valueUri": INSUREE},
        ],
    }
    r = await pclient.post("Patient/$validate", json=params, headers=FHIR_JSON)
    assert r.status_code == 200
    assert ("error", "cardinality", "Patient.identifier") in rules(r.json())
    # nothing stored
    assert (await pclient.get("Patient")).json().get("entry") is None


async def test_validate_an_unknown_profile_is_an_error(pclient: httpx.AsyncClient) -> None:
    r = await pclient.post(
        "Patient/$validate?profile=https://nowhere.example/x",
        json={"resourceType": "Patient"},
        headers=FHIR_JSON,
    )
    assert r.status_code == 200
    assert rules(r.json()) == [("error", "profile-unknown", "Patient")]


async def test_validate_base_errors_and_invariants(pclient: httpx.AsyncClient) -> None:
    body = {"resourceType": "Patient", "contact": [{"gender": "male"}]}
    r = await pclient.post("Patient/$validate", json=body, headers=FHIR_JSON)
    assert r.status_code == 200
    assert rules(r.json()) == [("error", "pat-1", "Patient.contact[0]")]


async def test_validate_a_stored_instance_against_a_profile_with_get(pclient: httpx.AsyncClient) -> None:
    plain = {"resourceType": "Patient", "id": "x1", "gender": "male"}
    assert (await pclient.put("Patient/x1", json=plain, headers=FHIR_JSON)).status_code == 201
    r = await pclient.get(f"Patient/x1/$validate?profile={INSUREE}")
    assert r.status_code == 200
    assert ("error", "cardinality", "Patient.identifier") in rules(r.json())
    r = await pclient.get("Patient/x1/$validate")
    assert r.json()["issue"][0]["severity"] == "information"
    assert (await pclient.get("Patient/nope/$validate")).status_code == 404


async def test_validate_modes_update_and_delete(pclient: httpx.AsyncClient) -> None:
    r = await pclient.post(
        "Patient/a/$validate?mode=update", json={"resourceType": "Patient", "id": "b"}, headers=FHIR_JSON
    )
    assert r.json()["issue"][0]["expression"] == ["Patient.id"]
    r = await pclient.post("Patient/a/$validate?mode=delete")
    assert r.status_code == 200
    assert r.json()["issue"][0]["code"] == "not-found"
    r = await pclient.post(
        "Patient/$validate?mode=bogus", json={"resourceType": "Patient"}, headers=FHIR_JSON
    )
    assert r.json()["issue"][0]["severity"] == "error"


async def test_a_patch_that_breaks_the_claimed_profile_is_refused(pclient: httpx.AsyncClient) -> None:
    assert (
        await pclient.put("Patient/pp", json={**insuree(), "id": "pp"}, headers=FHIR_JSON)
    ).status_code == 201
    patch = [{"op": "remove", "path": "/gender"}]
    r = await pclient.patch("Patient/pp", json=patch, headers={"Content-Type": "application/json-patch+json"})
    assert r.status_code == 422, r.text
    assert rules(r.json()) == [("error", "cardinality", "Patient.gender")]
    assert (await pclient.get("Patient/pp")).json()["gender"] == "female"


async def test_a_batch_entry_breaking_a_profile_fails_alone(pclient: httpx.AsyncClient) -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [
            {"resource": insuree(), "request": {"method": "POST", "url": "Patient"}},
            {"resource": insuree(gender=None), "request": {"method": "POST", "url": "Patient"}},
        ],
    }
    r = await pclient.post("", json=bundle, headers=FHIR_JSON)
    assert r.status_code == 200, r.text
    statuses = [e["response"]["status"] for e in r.json()["entry"]]
    assert statuses[0].startswith("201") and statuses[1].startswith("422")


async def test_profiles_on_the_mongo_backend() -> None:
    from .test_mongo_backend import mongo_store

    app = create_app(Settings(store="mongodb://unused", base_url=BASE), store=mongo_store())
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url=BASE + "/") as c,
    ):
        await _load_profiles(c)
        assert (await c.post("Patient", json=insuree(), headers=FHIR_JSON)).status_code == 201
        r = await c.post("Patient", json=insuree(gender=None), headers=FHIR_JSON)
        assert r.status_code == 422
        assert rules(r.json()) == [("error", "cardinality", "Patient.gender")]


async def test_the_capability_statement_lists_validate(pclient: httpx.AsyncClient) -> None:
    rest = (await pclient.get("metadata")).json()["rest"][0]
    assert {
        "name": "validate",
        "definition": "http://hl7.org/fhir/OperationDefinition/Resource-validate",
    } in rest["operation"]


async def test_a_profile_installed_from_a_package_is_enforced_at_once(tmp_path: Path) -> None:
    """Issue 4: installing an IG package makes its profile enforceable without restart."""
    from fhir_server.packages.build import write_package

    from ..unit.validation.profile_fixtures import INSUREE_SD, PHOTO_CONSENT_SD

    manifest = {"name": "example.insuree", "version": "0.1.0", "fhirVersions": ["4.0.1"]}
    tgz = write_package(
        manifest,
        {
            "StructureDefinition-test-insuree.json": INSUREE_SD,
            "StructureDefinition-test-photo-consent.json": PHOTO_CONSENT_SD,
        },
    )
    app = create_app(make_settings(tmp_path))
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url=BASE + "/") as c,
    ):
        bad = insuree(gender=None)
        r = await c.post("$install-package", content=tgz, headers={"Content-Type": "application/gzip"})
        assert r.status_code == 200, r.text
        r = await c.post("Patient", json=bad, headers=FHIR_JSON)
        assert r.status_code == 422, r.text
        assert rules(r.json()) == [("error", "cardinality", "Patient.gender")]
        assert (await c.post("Patient", json=insuree(), headers=FHIR_JSON)).status_code == 201


async def test_a_valueset_changed_at_run_time_changes_the_binding_at_once(pclient: httpx.AsyncClient) -> None:
    """A profile's bindings are expanded when it is compiled; writing a ValueSet (or CodeSystem,
    or StructureDefinition) drops the compiled profiles, so the next write sees the change."""
    cs = {
        "resourceType": "CodeSystem",
        "id": "tint",
        "url": "https://example.org/fhir/CodeSystem/tint",
        "status": "active",
        "content": "complete",
        "concept": [{"code": "red"}],
    }
    vs = {
        "resourceType": "ValueSet",
        "id": "tint",
        "url": "https://example.org/fhir/ValueSet/tint",
        "status": "active",
        "compose": {"include": [{"system": cs["url"], "concept": [{"code": "red"}]}]},
    }
    sd = {
        **ALL[1],
        "id": "tinted",
        "url": "https://example.org/fhir/StructureDefinition/tinted",
        "differential": {
            "element": [
                {
                    "id": "Patient.maritalStatus",
                    "path": "Patient.maritalStatus",
                    "binding": {"strength": "required", "valueSet": vs["url"]},
                }
            ]
        },
    }
    for r in (cs, vs, sd):
        assert (await pclient.put(f"{r['resourceType']}/{r['id']}", json=r, headers=FHIR_JSON)).is_success
    blue = {
        "resourceType": "Patient",
        "meta": {"profile": [sd["url"]]},
        "maritalStatus": {"coding": [{"system": cs["url"], "code": "blue"}]},
    }
    r = await pclient.post("Patient", json=blue, headers=FHIR_JSON)
    assert r.status_code == 422 and rules(r.json())[0][1] == "binding", r.text
    cs["concept"] = [{"code": "red"}, {"code": "blue"}]
    vs["compose"] = {"include": [{"system": cs["url"]}]}
    for r in (cs, vs):
        assert (await pclient.put(f"{r['resourceType']}/{r['id']}", json=r, headers=FHIR_JSON)).is_success
    r = await pclient.post("Patient", json=blue, headers=FHIR_JSON)
    assert r.status_code == 201, r.text
