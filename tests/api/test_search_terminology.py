"""Token search modifiers :in, :not-in, :below, :above over HTTP (search.html, R4
search-modifier-code), with ValueSets from the store (created at run time), the
``terminology/`` folder and the R4 core."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from fhir_server.app import create_app

from .conftest import BASE, FHIR_JSON, issue_codes, make_settings

CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"


async def ids(client: httpx.AsyncClient, path: str, params: list[tuple[str, str]]) -> set[str]:
    r = await client.get(path, params=params)
    assert r.status_code == 200, r.text
    return {e["resource"]["id"] for e in r.json().get("entry", []) if e["search"]["mode"] == "match"}


async def put(client: httpx.AsyncClient, body: dict[str, Any]) -> None:
    r = await client.put(f"{body['resourceType']}/{body['id']}", json=body, headers=FHIR_JSON)
    assert r.status_code in (200, 201), r.text


def condition(id: str, status: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "resourceType": "Condition",
        "id": id,
        "subject": {"reference": "Patient/p"},
        "code": {"text": "x"},
    }
    if status:
        body["clinicalStatus"] = {"coding": [{"system": CLINICAL, "code": status}]}
    return body


def claim(id: str, status: str) -> dict[str, Any]:
    """An Observation coded with an openIMIS claim status (a token from our terminology/ folder)."""
    return {
        "resourceType": "Observation",
        "id": id,
        "status": "final",
        "code": {"coding": [{"system": "https://openimis.org/fhir/CodeSystem/claim-status", "code": status}]},
    }


async def outcome_of(client: httpx.AsyncClient, path: str, params: list[tuple[str, str]]) -> tuple[int, Any]:
    r = await client.get(path, params=params)
    return r.status_code, r.json()


@pytest.fixture
async def conditions(client: httpx.AsyncClient) -> httpx.AsyncClient:
    for id, status in [
        ("active", "active"),
        ("relapse", "relapse"),
        ("resolved", "resolved"),
        ("inactive", "inactive"),
        ("none", None),
    ]:
        await put(client, condition(id, status))
    return client


async def test_in_core_valueset_and_not_in(conditions: httpx.AsyncClient) -> None:
    vs = "http://hl7.org/fhir/ValueSet/condition-clinical"
    everything = {"active", "relapse", "resolved", "inactive"}
    assert await ids(conditions, "Condition", [("clinical-status:in", vs)]) == everything
    # :not-in is :not over the set: resources without the element match too
    assert await ids(conditions, "Condition", [("clinical-status:not-in", vs)]) == {"none"}


async def test_below_and_above_on_a_hierarchical_core_codesystem(conditions: httpx.AsyncClient) -> None:
    # condition-clinical: active > (recurrence, relapse); inactive > (remission, resolved)
    assert await ids(conditions, "Condition", [("clinical-status:below", f"{CLINICAL}|active")]) == {
        "active",
        "relapse",
    }
    assert await ids(conditions, "Condition", [("clinical-status:below", f"{CLINICAL}|inactive")]) == {
        "inactive",
        "resolved",
    }
    assert await ids(conditions, "Condition", [("clinical-status:above", f"{CLINICAL}|relapse")]) == {
        "active",
        "relapse",
    }
    both = f"{CLINICAL}|relapse,{CLINICAL}|resolved"
    assert await ids(conditions, "Condition", [("clinical-status:above", both)]) == {
        "active",
        "relapse",
        "inactive",
        "resolved",
    }


async def test_valueset_created_at_run_time_is_used_at_once(conditions: httpx.AsyncClient) -> None:
    url = "https://openimis.org/fhir/ValueSet/test-chronic"
    vs: dict[str, Any] = {
        "resourceType": "ValueSet",
        "id": "chronic",
        "url": url,
        "status": "active",
        "compose": {"include": [{"system": CLINICAL, "concept": [{"code": "relapse"}]}]},
    }
    await put(conditions, vs)
    assert await ids(conditions, "Condition", [("clinical-status:in", url)]) == {"relapse"}
    assert await ids(conditions, "Condition", [("clinical-status:in", "ValueSet/chronic")]) == {"relapse"}
    assert await ids(conditions, "Condition", [("clinical-status:in", f"{BASE}/ValueSet/chronic")]) == {
        "relapse"
    }
    # changed: the cached expansion is not used any more
    vs["compose"] = {
        "include": [
            {"system": CLINICAL, "filter": [{"property": "concept", "op": "is-a", "value": "inactive"}]}
        ]
    }
    await put(conditions, vs)
    assert await ids(conditions, "Condition", [("clinical-status:in", url)]) == {"inactive", "resolved"}
    assert await ids(conditions, "Condition", [("clinical-status:in", "ValueSet/chronic")]) == {
        "inactive",
        "resolved",
    }
    # deleted: unknown again
    assert (await conditions.delete("ValueSet/chronic")).status_code in (200, 204)
    status, body = await outcome_of(conditions, "Condition", [("clinical-status:in", url)])
    assert status == 400 and issue_codes(body) == ["not-found"]
    assert body["issue"][0]["expression"] == ["clinical-status:in"]


async def test_codesystem_created_at_run_time_gives_a_hierarchy(client: httpx.AsyncClient) -> None:
    system = "https://openimis.org/fhir/CodeSystem/test-levels"
    await put(
        client,
        {
            "resourceType": "CodeSystem",
            "id": "levels",
            "url": system,
            "status": "active",
            "content": "complete",
            "concept": [{"code": "top", "concept": [{"code": "mid", "concept": [{"code": "leaf"}]}]}],
        },
    )
    for code in ("top", "mid", "leaf"):
        await put(
            client,
            {
                "resourceType": "Observation",
                "id": code,
                "status": "final",
                "code": {"coding": [{"system": system, "code": code}]},
            },
        )
    assert await ids(client, "Observation", [("code:below", f"{system}|mid")]) == {"mid", "leaf"}
    assert await ids(client, "Observation", [("code:above", f"{system}|mid")]) == {"top", "mid"}


async def test_folder_valueset_openimis_claim_status(client: httpx.AsyncClient) -> None:
    for id, status in [("r", "1"), ("e", "2"), ("c", "4"), ("p", "8"), ("v", "16")]:
        await put(client, claim(id, status))
    open_vs = "https://openimis.org/fhir/ValueSet/claim-status-open"
    assert await ids(client, "Observation", [("code:in", open_vs)]) == {"e", "c", "p"}
    assert await ids(client, "Observation", [("code:not-in", open_vs)]) == {"r", "v"}
    assert await ids(
        client, "Observation", [("code:in", "https://openimis.org/fhir/ValueSet/claim-status")]
    ) == {
        "r",
        "e",
        "c",
        "p",
        "v",
    }


async def test_in_inside_a_chain_and_has(conditions: httpx.AsyncClient) -> None:
    await put(conditions, {"resourceType": "Patient", "id": "p"})
    vs = "http://hl7.org/fhir/ValueSet/condition-clinical"
    assert await ids(conditions, "Patient", [("_has:Condition:subject:clinical-status:in", vs)]) == {"p"}
    await put(
        conditions,
        {
            "resourceType": "Encounter",
            "id": "e",
            "status": "finished",
            "class": {"code": "AMB"},
            "subject": {"reference": "Patient/p"},
            "diagnosis": [{"condition": {"reference": "Condition/relapse"}}],
        },
    )
    assert await ids(
        conditions, "Encounter", [("diagnosis:Condition.clinical-status:below", f"{CLINICAL}|active")]
    ) == {"e"}
    assert (
        await ids(
            conditions, "Encounter", [("diagnosis:Condition.clinical-status:below", f"{CLINICAL}|inactive")]
        )
        == set()
    )


async def test_conditional_update_with_in(conditions: httpx.AsyncClient) -> None:
    body = condition("new", "remission")
    del body["id"]
    r = await conditions.put(
        "Condition",
        params={"clinical-status:below": f"{CLINICAL}|active", "subject": "Patient/nobody"},
        json=body,
        headers=FHIR_JSON,
    )
    assert r.status_code == 201, r.text
    r = await conditions.put(
        "Condition", params={"clinical-status:in": "urn:unknown:vs"}, json=body, headers=FHIR_JSON
    )
    assert r.status_code == 400 and issue_codes(r.json()) == ["not-found"]


@pytest.mark.parametrize(
    ("params", "code", "expression"),
    [
        ([("clinical-status:in", "http://example.org/ValueSet/none")], "not-found", "clinical-status:in"),
        ([("clinical-status:not-in", "ValueSet/none")], "not-found", "clinical-status:not-in"),
        # LOINC has no content here: its codes cannot be enumerated
        ([("code:in", "http://hl7.org/fhir/ValueSet/observation-codes")], "not-supported", "code:in"),
        # not hierarchical / unknown code systems
        ([("code:below", "http://loinc.org|1234-5")], "not-supported", "code:below"),
        ([("clinical-status:above", f"{CATEGORY}|exam")], "not-supported", "clinical-status:above"),
        ([("clinical-status:below", f"{CLINICAL}|nonsense")], "code-invalid", "clinical-status:below"),
        ([("clinical-status:below", "active")], "value", "clinical-status:below"),
        # :in on a string parameter is refused, not ignored
        (
            [("abatement-string:in", "http://hl7.org/fhir/ValueSet/condition-clinical")],
            "not-supported",
            "abatement-string:in",
        ),
    ],
)
async def test_refused(
    client: httpx.AsyncClient, params: list[tuple[str, str]], code: str, expression: str
) -> None:
    resource = "Observation" if params[0][0].startswith("code") else "Condition"
    status, body = await outcome_of(client, resource, params)
    assert status == 400, body
    assert issue_codes(body) == [code], body
    assert body["issue"][0]["expression"] == [expression]


async def test_over_the_expansion_bound_is_refused(tmp_path: Path) -> None:
    app = create_app(make_settings(tmp_path, expansion_limit=50))
    act = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE + "/") as c:
            # 11 codes: under the bound
            small = await c.get(
                "Encounter", params={"class:in": "http://terminology.hl7.org/ValueSet/v3-ActEncounterCode"}
            )
            assert small.status_code == 200, small.text
            # all 1,116 v3 ActCodes: over it, refused whole (never a partial answer)
            r = await c.get(
                "Encounter", params={"class:in": "http://terminology.hl7.org/ValueSet/v3-ActCode"}
            )
            assert r.status_code == 400 and issue_codes(r.json()) == ["too-costly"], r.text
            assert r.json()["issue"][0]["expression"] == ["class:in"]
            r = await c.get("Encounter", params={"class:below": f"{act}|_ObservationType"})
            assert r.status_code == 400 and issue_codes(r.json()) == ["too-costly"], r.text
            assert r.json()["issue"][0]["expression"] == ["class:below"]


async def test_explain_shows_the_expanded_set(conditions: httpx.AsyncClient) -> None:
    r = await conditions.get(
        "Condition", params={"clinical-status:below": f"{CLINICAL}|active", "_explain": "true"}
    )
    assert r.status_code == 200, r.text
    text = r.text
    assert "relapse" in text and "recurrence" in text and "resolved" not in text
