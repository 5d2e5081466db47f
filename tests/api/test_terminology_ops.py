"""Terminology operations over HTTP (terminology-service.html): CodeSystem/$lookup,
CodeSystem/$validate-code, CodeSystem/$subsumes, ValueSet/$expand, ValueSet/$validate-code,
ConceptMap/$translate, on the shipped R4 core, our ``terminology/`` folder and resources
created at run time; GET and POST forms; bad input as OperationOutcomes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from fhir_server.app import create_app

from .conftest import BASE, FHIR_JSON, issue_codes, make_settings
from .test_mongo_backend import mclient  # noqa: F401  (fixture: the app on the MongoDB backend)

GENDER = "http://hl7.org/fhir/administrative-gender"
GENDER_VS = "http://hl7.org/fhir/ValueSet/administrative-gender"
CLAIM_USE = "http://hl7.org/fhir/claim-use"
CLAIM_USE_VS = "http://hl7.org/fhir/ValueSet/claim-use"
ADJUDICATION = "http://terminology.hl7.org/CodeSystem/adjudication"
ADJUDICATION_VS = "http://hl7.org/fhir/ValueSet/adjudication"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
V2_SEX = "http://terminology.hl7.org/CodeSystem/v2-0001"
GENDER_V2_MAP = "http://hl7.org/fhir/ConceptMap/cm-administrative-gender-v2"
CLAIM_STATUS = "https://openimis.org/fhir/CodeSystem/claim-status"
CLAIM_STATUS_VS = "https://openimis.org/fhir/ValueSet/claim-status"

LOCAL_CS = "https://example.org/fhir/CodeSystem/visit-kind"
LOCAL_VS = "https://example.org/fhir/ValueSet/visit-kind"
LOCAL_MAP = "https://example.org/fhir/ConceptMap/visit-kind-to-claim-use"


def param(body: dict[str, Any], name: str) -> Any:
    """The value[x] of the first parameter ``name`` of a Parameters resource (None: absent)."""
    assert body["resourceType"] == "Parameters", body
    for p in body.get("parameter", []):
        if p["name"] == name:
            return next(v for k, v in p.items() if k.startswith("value"))
    return None


def parts(body: dict[str, Any], name: str) -> list[dict[str, Any]]:
    """The parts of every parameter ``name``, each as {part name: value}."""
    out = []
    for p in body.get("parameter", []):
        if p["name"] == name:
            out.append(
                {q["name"]: next(v for k, v in q.items() if k.startswith("value")) for q in p.get("part", [])}
            )
    return out


def parameters(*items: tuple[str, str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "Parameters",
        "parameter": [
            {"name": n, "resource" if kind == "resource" else f"value{kind}": v} for n, kind, v in items
        ],
    }


async def get(client: httpx.AsyncClient, path: str, **params: Any) -> dict[str, Any]:
    r = await client.get(path, params=params)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def post(client: httpx.AsyncClient, path: str, *items: tuple[str, str, Any]) -> dict[str, Any]:
    r = await client.post(path, json=parameters(*items), headers=FHIR_JSON)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def error(
    client: httpx.AsyncClient, method: str, path: str, status: int, code: str, expression: str, **kw: Any
) -> dict[str, Any]:
    r = await client.request(method, path, **kw)
    assert r.status_code == status, r.text
    body: dict[str, Any] = r.json()
    assert code in issue_codes(body), body
    assert body["issue"][0].get("expression") == [expression], body
    return body


@pytest.fixture
async def local(client: httpx.AsyncClient) -> httpx.AsyncClient:
    """A CodeSystem, ValueSet and ConceptMap created through the API."""
    return await seed_local(client)


async def seed_local(client: httpx.AsyncClient) -> httpx.AsyncClient:
    cs = {
        "resourceType": "CodeSystem",
        "id": "visit-kind",
        "url": LOCAL_CS,
        "name": "VisitKind",
        "status": "active",
        "content": "complete",
        "property": [{"code": "weight", "type": "integer"}],
        "concept": [
            {
                "code": "E",
                "display": "Emergency",
                "designation": [{"language": "fr", "value": "Urgence"}],
                "property": [{"code": "weight", "valueInteger": 3}],
            },
            {"code": "R", "display": "Referral"},
            {"code": "O", "display": "Other", "concept": [{"code": "O-home", "display": "Home visit"}]},
        ],
    }
    vs = {
        "resourceType": "ValueSet",
        "id": "visit-kind",
        "url": LOCAL_VS,
        "status": "draft",
        "compose": {"include": [{"system": LOCAL_CS, "concept": [{"code": "E"}, {"code": "R"}]}]},
    }
    cm = {
        "resourceType": "ConceptMap",
        "id": "visit-kind-to-claim-use",
        "url": LOCAL_MAP,
        "status": "active",
        "sourceUri": LOCAL_VS,
        "targetUri": CLAIM_USE_VS,
        "group": [
            {
                "source": LOCAL_CS,
                "target": CLAIM_USE,
                "element": [
                    {"code": "E", "target": [{"code": "claim", "equivalence": "wider"}]},
                    {"code": "R", "target": [{"code": "preauthorization", "equivalence": "disjoint"}]},
                ],
            }
        ],
    }
    for body in (cs, vs, cm):
        r = await client.put(f"{body['resourceType']}/{body['id']}", json=body, headers=FHIR_JSON)
        assert r.status_code in (200, 201), r.text
    return client


# ----------------------------------------------------------------------------- $lookup


async def test_lookup_core_code_get_and_post(client: httpx.AsyncClient) -> None:
    body = await get(client, "CodeSystem/$lookup", system=GENDER, code="female")
    assert param(body, "display") == "Female"
    assert param(body, "name") == "AdministrativeGender"
    assert param(body, "version") == "4.0.1"
    body = await post(
        client, "CodeSystem/$lookup", ("coding", "Coding", {"system": ADJUDICATION, "code": "eligible"})
    )
    assert param(body, "display") == "Eligible Amount"


async def test_lookup_hierarchy_properties_and_designations(client: httpx.AsyncClient) -> None:
    body = await get(client, "CodeSystem/$lookup", system=ACT_CODE, code="CASH")
    props = parts(body, "property")
    assert {"code": "parent", "value": "_ActAccountCode"} in props
    top = await get(client, "CodeSystem/$lookup", system=ACT_CODE, code="_ActAccountCode")
    children = {p["value"] for p in parts(top, "property") if p["code"] == "child"}
    assert {"CASH", "ACCTRECEIVABLE", "PBILLACCT"} <= children
    assert {"code": "notSelectable", "value": True} in parts(top, "property")
    only = await get(client, "CodeSystem/$lookup", system=ACT_CODE, code="_ActAccountCode", property="parent")
    assert parts(only, "property") == []  # a top concept has no parent; children not asked for
    status = await get(
        client, "CodeSystem/$lookup", system="http://hl7.org/fhir/publication-status", code="draft"
    )
    assert {"language": "nl", "value": "ontwerp"} in parts(status, "designation")


async def test_lookup_run_time_codesystem_and_instance(local: httpx.AsyncClient) -> None:
    body = await get(local, "CodeSystem/$lookup", system=LOCAL_CS, code="E")
    assert param(body, "name") == "VisitKind"
    assert param(body, "display") == "Emergency"
    assert {"code": "weight", "value": 3} in parts(body, "property")
    assert {"language": "fr", "value": "Urgence"} in parts(body, "designation")
    inst = await get(local, "CodeSystem/visit-kind/$lookup", code="O-home")
    assert {"code": "parent", "value": "O"} in parts(inst, "property")


async def test_lookup_our_claim_status(client: httpx.AsyncClient) -> None:
    body = await get(client, "CodeSystem/$lookup", system=CLAIM_STATUS, code="16")
    assert param(body, "display") == "Valuated"
    definition = [p["value"] for p in parts(body, "property") if p["code"] == "definition"]
    assert definition == ["Valued: the amounts to pay are known."]


async def test_lookup_bad_input(client: httpx.AsyncClient) -> None:
    await error(client, "GET", "CodeSystem/$lookup", 400, "required", "code", params={"system": GENDER})
    await error(client, "GET", "CodeSystem/$lookup", 400, "required", "system", params={"code": "male"})
    await error(
        client, "GET", "CodeSystem/$lookup", 404, "not-found", "code",
        params={"system": "http://example.org/no-such-system", "code": "x"},
    )  # fmt: skip
    await error(
        client,
        "GET",
        "CodeSystem/$lookup",
        400,
        "code-invalid",
        "code",
        params={"system": GENDER, "code": "nope"},
    )
    await error(
        client,
        "GET",
        "CodeSystem/$lookup",
        400,
        "not-supported",
        "code",
        params={"system": "http://snomed.info/sct", "code": "22298006"},
    )  # SNOMED CT is shipped without its content: no answer rather than a wrong one
    await error(
        client, "GET", "CodeSystem/$lookup", 400, "not-supported", "coding",
        params={"coding": f"{GENDER}|male"},
    )  # fmt: skip
    await error(
        client, "GET", "CodeSystem/$lookup", 400, "invalid", "code",
        params=[("system", GENDER), ("code", "male"), ("code", "female")],
    )  # fmt: skip
    r = await client.get("CodeSystem/no-such/$lookup", params={"code": "x"})
    assert r.status_code == 404 and "not-found" in issue_codes(r.json())
    r = await client.post("CodeSystem/$lookup", json={"resourceType": "Patient"}, headers=FHIR_JSON)
    assert r.status_code == 400 and r.json()["resourceType"] == "OperationOutcome"
    r = await client.delete("CodeSystem/$lookup")
    assert r.status_code == 405


# --------------------------------------------------------------------- $validate-code


async def test_codesystem_validate_code(client: httpx.AsyncClient) -> None:
    ok = await get(client, "CodeSystem/$validate-code", url=CLAIM_USE, code="claim")
    assert param(ok, "result") is True and param(ok, "display") == "Claim"
    bad = await get(client, "CodeSystem/$validate-code", url=CLAIM_USE, code="bill")
    assert param(bad, "result") is False and "bill" in param(bad, "message")
    wrong = await get(client, "CodeSystem/$validate-code", url=GENDER, code="male", display="Man")
    assert param(wrong, "result") is False and param(wrong, "display") == "Male"
    case = await get(client, "CodeSystem/$validate-code", url=GENDER, code="male", display=" male ")
    assert param(case, "result") is True
    cc = await post(
        client,
        "CodeSystem/$validate-code",
        ("url", "Uri", ADJUDICATION),
        (
            "codeableConcept",
            "CodeableConcept",
            {"coding": [{"system": ADJUDICATION, "code": "nope"}, {"system": ADJUDICATION, "code": "copay"}]},
        ),
    )
    assert param(cc, "result") is True
    coding = await post(
        client, "CodeSystem/$validate-code", ("coding", "Coding", {"system": ADJUDICATION, "code": "benefit"})
    )
    assert param(coding, "result") is True  # the coding names its system when there is no url


async def test_codesystem_validate_code_instance_and_inline(local: httpx.AsyncClient) -> None:
    inst = await get(local, "CodeSystem/visit-kind/$validate-code", code="O-home")
    assert param(inst, "result") is True
    inline = await post(
        local,
        "CodeSystem/$validate-code",
        ("codeSystem", "resource", {"resourceType": "CodeSystem", "url": "urn:x", "status": "draft",
                                    "content": "complete", "concept": [{"code": "a", "display": "A"}]}),
        ("code", "Code", "b"),
    )  # fmt: skip
    assert param(inline, "result") is False
    await error(
        local,
        "GET",
        "CodeSystem/$validate-code",
        404,
        "not-found",
        "url",
        params={"url": "urn:nope", "code": "x"},
    )
    await error(local, "GET", "CodeSystem/$validate-code", 400, "required", "url", params={"code": "x"})


async def test_valueset_validate_code(client: httpx.AsyncClient) -> None:
    ok = await get(client, "ValueSet/$validate-code", url=GENDER_VS, system=GENDER, code="unknown")
    assert param(ok, "result") is True and param(ok, "display") == "Unknown"
    out = await get(client, "ValueSet/$validate-code", url=GENDER_VS, system=CLAIM_USE, code="claim")
    assert param(out, "result") is False and GENDER_VS in param(out, "message")
    disp = await get(
        client,
        "ValueSet/$validate-code",
        url=ADJUDICATION_VS,
        system=ADJUDICATION,
        code="copay",
        display="Co-pay",
    )
    assert param(disp, "result") is False and param(disp, "display") == "CoPay"
    ours = await get(client, "ValueSet/$validate-code", url=CLAIM_STATUS_VS, system=CLAIM_STATUS, code="4")
    assert param(ours, "result") is True
    cc = await post(
        client,
        "ValueSet/$validate-code",
        ("url", "Uri", CLAIM_USE_VS),
        (
            "codeableConcept",
            "CodeableConcept",
            {"coding": [{"system": CLAIM_USE, "code": "predetermination"}]},
        ),
    )
    assert param(cc, "result") is True


async def test_valueset_validate_code_run_time_and_instance(local: httpx.AsyncClient) -> None:
    body = await get(local, "ValueSet/$validate-code", url=LOCAL_VS, system=LOCAL_CS, code="E")
    assert param(body, "result") is True
    body = await get(local, "ValueSet/visit-kind/$validate-code", system=LOCAL_CS, code="O")
    assert param(body, "result") is False  # in the CodeSystem, not in the ValueSet
    # a change to the ValueSet takes effect at once
    vs = (await local.get("ValueSet/visit-kind")).json()
    vs["compose"]["include"][0]["concept"].append({"code": "O"})
    r = await local.put("ValueSet/visit-kind", json=vs, headers=FHIR_JSON)
    assert r.status_code == 200
    body = await get(local, "ValueSet/visit-kind/$validate-code", system=LOCAL_CS, code="O")
    assert param(body, "result") is True


async def test_valueset_validate_code_bad_input(client: httpx.AsyncClient) -> None:
    await error(client, "GET", "ValueSet/$validate-code", 400, "required", "url", params={"code": "male"})
    await error(
        client,
        "GET",
        "ValueSet/$validate-code",
        400,
        "required",
        "system",
        params={"url": GENDER_VS, "code": "male"},
    )
    await error(
        client, "GET", "ValueSet/$validate-code", 404, "not-found", "url",
        params={"url": "urn:no-such-vs", "system": GENDER, "code": "male"},
    )  # fmt: skip
    vs = {"resourceType": "ValueSet", "status": "draft", "compose": {"include": [{"system": GENDER}]}}
    r = await client.post(
        "ValueSet/$validate-code",
        json=parameters(("url", "Uri", GENDER_VS), ("valueSet", "resource", vs), ("code", "Code", "male")),
        headers=FHIR_JSON,
    )
    assert r.status_code == 400 and r.json()["issue"][0]["expression"] == ["valueSet"]
    r = await client.get("ValueSet/no-such/$validate-code", params={"system": GENDER, "code": "male"})
    assert r.status_code == 404


# --------------------------------------------------------------------------- $expand


async def test_expand_core_by_url(client: httpx.AsyncClient) -> None:
    body = await get(client, "ValueSet/$expand", url=GENDER_VS)
    assert body["resourceType"] == "ValueSet" and body["url"] == GENDER_VS
    assert (body["name"], body["status"], body["version"]) == ("AdministrativeGender", "active", "4.0.1")
    exp = body["expansion"]
    assert exp["total"] == 4 and exp["offset"] == 0
    assert exp["identifier"].startswith("urn:uuid:") and exp["timestamp"]
    assert [(c["system"], c["code"], c["display"]) for c in exp["contains"]] == [
        (GENDER, "male", "Male"),
        (GENDER, "female", "Female"),
        (GENDER, "other", "Other"),
        (GENDER, "unknown", "Unknown"),
    ]
    adj = await get(client, "ValueSet/$expand", url=ADJUDICATION_VS)
    assert adj["expansion"]["total"] == 8
    use = await get(client, "ValueSet/$expand", url=CLAIM_USE_VS)
    assert {c["code"] for c in use["expansion"]["contains"]} == {
        "claim",
        "preauthorization",
        "predetermination",
    }


async def test_expand_filter_count_offset(client: httpx.AsyncClient) -> None:
    full = await get(client, "ValueSet/$expand", url=ADJUDICATION_VS)
    codes = [c["code"] for c in full["expansion"]["contains"]]
    page1 = await get(client, "ValueSet/$expand", url=ADJUDICATION_VS, count=3, offset=0)
    page2 = await get(client, "ValueSet/$expand", url=ADJUDICATION_VS, count=3, offset=3)
    page3 = await get(client, "ValueSet/$expand", url=ADJUDICATION_VS, count=3, offset=6)
    got = [c["code"] for p in (page1, page2, page3) for c in p["expansion"]["contains"]]
    assert got == codes and len(codes) == 8
    assert page2["expansion"]["total"] == 8 and page2["expansion"]["offset"] == 3
    assert {"name": "count", "valueInteger": 3} in page2["expansion"]["parameter"]
    assert {"name": "offset", "valueInteger": 3} in page2["expansion"]["parameter"]
    size = await get(client, "ValueSet/$expand", url=ADJUDICATION_VS, count=0)
    assert size["expansion"]["total"] == 8 and "contains" not in size["expansion"]
    filtered = await get(client, "ValueSet/$expand", url=ADJUDICATION_VS, filter="AMOUNT")
    assert {c["code"] for c in filtered["expansion"]["contains"]} == {"submitted", "eligible", "benefit"}
    assert {"name": "filter", "valueString": "AMOUNT"} in filtered["expansion"]["parameter"]
    two = await get(client, "ValueSet/$expand", url=ADJUDICATION_VS, filter="amount", count=2, offset=1)
    assert two["expansion"]["total"] == 3 and len(two["expansion"]["contains"]) == 2
    words = await get(client, "ValueSet/$expand", url=ADJUDICATION_VS, filter="elig amo")
    assert [c["code"] for c in words["expansion"]["contains"]] == ["eligible"]
    by_code = await get(client, "ValueSet/$expand", url=GENDER_VS, filter="unk")
    assert [c["code"] for c in by_code["expansion"]["contains"]] == ["unknown"]


async def test_expand_post_inline_valueset_and_designations(client: httpx.AsyncClient) -> None:
    vs = {
        "resourceType": "ValueSet",
        "url": "urn:example:vs",
        "status": "draft",
        "compose": {"include": [{"system": "http://hl7.org/fhir/publication-status"}]},
    }
    body = await post(
        client, "ValueSet/$expand", ("valueSet", "resource", vs), ("includeDesignations", "Boolean", True)
    )
    draft = next(c for c in body["expansion"]["contains"] if c["code"] == "draft")
    assert {"language": "nl", "value": "ontwerp"} in draft["designation"]
    assert body["status"] == "draft" and body["url"] == "urn:example:vs"
    plain = await post(client, "ValueSet/$expand", ("valueSet", "resource", vs))
    assert all("designation" not in c for c in plain["expansion"]["contains"])


async def test_expand_run_time_and_instance(local: httpx.AsyncClient) -> None:
    body = await get(local, "ValueSet/$expand", url=LOCAL_VS)
    assert [c["code"] for c in body["expansion"]["contains"]] == ["E", "R"]
    inst = await get(local, "ValueSet/visit-kind/$expand")
    assert inst["id"] == "visit-kind" and inst["expansion"]["total"] == 2
    assert inst["status"] == "draft" and inst["url"] == LOCAL_VS
    assert (await get(local, "ValueSet/$expand", url=LOCAL_VS))["status"] == "draft"
    ours = await get(local, "ValueSet/$expand", url=CLAIM_STATUS_VS)
    assert ours["expansion"]["total"] == 5


async def test_expand_bad_input(client: httpx.AsyncClient) -> None:
    await error(client, "GET", "ValueSet/$expand", 400, "required", "url")
    await error(client, "GET", "ValueSet/$expand", 404, "not-found", "url", params={"url": "urn:no-such-vs"})
    await error(
        client, "GET", "ValueSet/$expand", 400, "invalid", "count", params={"url": GENDER_VS, "count": "x"}
    )
    await error(
        client, "GET", "ValueSet/$expand", 400, "invalid", "offset", params={"url": GENDER_VS, "offset": "-1"}
    )
    await error(
        client, "GET", "ValueSet/$expand", 400, "not-supported", "valueSet", params={"valueSet": "{}"}
    )
    await error(
        client,
        "GET",
        "ValueSet/$expand",
        400,
        "not-supported",
        "url",
        params={"url": "http://hl7.org/fhir/ValueSet/observation-codes"},
    )  # fmt: skip  (all of LOINC: not enumerable here)
    vs = {"resourceType": "ValueSet", "status": "draft", "compose": {"include": [{"system": GENDER}]}}
    r = await client.post(
        "ValueSet/$expand",
        json=parameters(("url", "Uri", GENDER_VS), ("valueSet", "resource", vs)),
        headers=FHIR_JSON,
    )
    assert r.status_code == 400 and r.json()["issue"][0]["expression"] == ["valueSet"]
    r = await client.get("ValueSet/no-such/$expand")
    assert r.status_code == 404


async def test_expand_too_costly(tmp_path: Path) -> None:
    """Over the expansion limit the whole expansion is refused, even for one page of it."""
    app = create_app(make_settings(tmp_path, expansion_limit=5))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE + "/") as c:
            await error(
                c,
                "GET",
                "ValueSet/$expand",
                400,
                "too-costly",
                "url",
                params={"url": ADJUDICATION_VS, "count": 2},
            )
            ok = await get(c, "ValueSet/$expand", url=GENDER_VS)
            assert ok["expansion"]["total"] == 4


# ------------------------------------------------------------------------- $subsumes


async def test_subsumes_hierarchical(client: httpx.AsyncClient) -> None:
    async def outcome(a: str, b: str) -> str:
        body = await get(client, "CodeSystem/$subsumes", system=ACT_CODE, codeA=a, codeB=b)
        return str(param(body, "outcome"))

    assert await outcome("_ActAccountCode", "CASH") == "subsumes"
    assert await outcome("CASH", "_ActAccountCode") == "subsumed-by"
    assert await outcome("CASH", "CASH") == "equivalent"
    assert await outcome("CASH", "PBILLACCT") == "not-subsumed"
    body = await post(
        client,
        "CodeSystem/$subsumes",
        ("codingA", "Coding", {"system": GENDER, "code": "male"}),
        ("codingB", "Coding", {"system": GENDER, "code": "female"}),
    )
    assert param(body, "outcome") == "not-subsumed"


async def test_subsumes_instance_and_errors(local: httpx.AsyncClient) -> None:
    body = await get(local, "CodeSystem/visit-kind/$subsumes", codeA="O", codeB="O-home")
    assert param(body, "outcome") == "subsumes"
    await error(
        local, "GET", "CodeSystem/$subsumes", 400, "required", "system", params={"codeA": "a", "codeB": "b"}
    )
    await error(
        local,
        "GET",
        "CodeSystem/$subsumes",
        400,
        "required",
        "codeB",
        params={"system": GENDER, "codeA": "male"},
    )
    await error(
        local, "GET", "CodeSystem/$subsumes", 400, "code-invalid", "codeB",
        params={"system": GENDER, "codeA": "male", "codeB": "nope"},
    )  # fmt: skip
    await error(
        local, "GET", "CodeSystem/$subsumes", 404, "not-found", "system",
        params={"system": "urn:nope", "codeA": "a", "codeB": "b"},
    )  # fmt: skip


# ------------------------------------------------------------------------ $translate


async def test_translate_core_conceptmap(client: httpx.AsyncClient) -> None:
    body = await get(client, "ConceptMap/$translate", url=GENDER_V2_MAP, system=GENDER, code="male")
    assert param(body, "result") is True
    assert parts(body, "match") == [
        {
            "equivalence": "equal",
            "concept": {"system": V2_SEX, "code": "M", "display": "Male"},
            "source": GENDER_V2_MAP,
        }
    ]
    other = await get(client, "ConceptMap/$translate", system=GENDER, code="other", targetsystem=V2_SEX)
    assert {m["concept"]["code"] for m in parts(other, "match")} == {"A", "O"}
    assert {m["equivalence"] for m in parts(other, "match")} == {"wider"}
    reverse = await get(
        client, "ConceptMap/$translate", url=GENDER_V2_MAP, system=V2_SEX, code="F", reverse="true"
    )
    assert [m["concept"]["code"] for m in parts(reverse, "match")] == ["female"]
    none = await get(client, "ConceptMap/$translate", url=GENDER_V2_MAP, system=GENDER, code="nope")
    assert param(none, "result") is False and param(none, "message")


async def test_translate_run_time_conceptmap(local: httpx.AsyncClient) -> None:
    body = await post(
        local,
        "ConceptMap/$translate",
        ("coding", "Coding", {"system": LOCAL_CS, "code": "E"}),
        ("target", "Uri", CLAIM_USE_VS),
    )
    assert param(body, "result") is True
    assert parts(body, "match")[0]["concept"]["code"] == "claim"
    assert parts(body, "match")[0]["source"] == LOCAL_MAP
    disjoint = await get(local, "ConceptMap/visit-kind-to-claim-use/$translate", system=LOCAL_CS, code="R")
    assert param(disjoint, "result") is False and parts(disjoint, "match")[0]["equivalence"] == "disjoint"
    elsewhere = await get(local, "ConceptMap/$translate", system=LOCAL_CS, code="E", target=GENDER_VS)
    assert param(elsewhere, "result") is False and parts(elsewhere, "match") == []


async def test_translate_bad_input(client: httpx.AsyncClient) -> None:
    await error(client, "GET", "ConceptMap/$translate", 400, "required", "code", params={"system": GENDER})
    await error(client, "GET", "ConceptMap/$translate", 400, "required", "system", params={"code": "male"})
    await error(
        client, "GET", "ConceptMap/$translate", 404, "not-found", "url",
        params={"url": "urn:no-such-map", "system": GENDER, "code": "male"},
    )  # fmt: skip
    await error(
        client, "GET", "ConceptMap/$translate", 400, "not-supported", "dependency",
        params={"system": GENDER, "code": "male", "dependency": "x"},
    )  # fmt: skip


# -------------------------------------------------------------------- CapabilityStatement


async def test_capability_statement_lists_terminology_operations(client: httpx.AsyncClient) -> None:
    cap = (await client.get("metadata")).json()
    ops = {
        r["type"]: {(o["name"], o["definition"]) for o in r.get("operation", [])}
        for r in cap["rest"][0]["resource"]
    }
    assert ("expand", "http://hl7.org/fhir/OperationDefinition/ValueSet-expand") in ops["ValueSet"]
    assert ("validate-code", "http://hl7.org/fhir/OperationDefinition/ValueSet-validate-code") in ops[
        "ValueSet"
    ]
    assert ("lookup", "http://hl7.org/fhir/OperationDefinition/CodeSystem-lookup") in ops["CodeSystem"]
    assert ("subsumes", "http://hl7.org/fhir/OperationDefinition/CodeSystem-subsumes") in ops["CodeSystem"]
    assert ("validate-code", "http://hl7.org/fhir/OperationDefinition/CodeSystem-validate-code") in ops[
        "CodeSystem"
    ]
    assert ("translate", "http://hl7.org/fhir/OperationDefinition/ConceptMap-translate") in ops["ConceptMap"]
    assert "Patient" not in ops or not ops["Patient"]


async def test_post_forms_with_primitive_parameters(local: httpx.AsyncClient) -> None:
    body = await post(
        local,
        "ValueSet/$expand",
        ("url", "Uri", ADJUDICATION_VS),
        ("filter", "String", "amount"),
        ("count", "Integer", 1),
        ("offset", "Integer", 2),
    )
    assert body["expansion"]["total"] == 3 and [c["code"] for c in body["expansion"]["contains"]] == [
        "benefit"
    ]
    inst = await post(local, "CodeSystem/visit-kind/$lookup", ("code", "Code", "R"))
    assert param(inst, "display") == "Referral"
    by_url = await post(
        local,
        "ConceptMap/$translate",
        ("url", "Uri", LOCAL_MAP),
        ("system", "Uri", LOCAL_CS),
        ("code", "Code", "E"),
    )
    assert param(by_url, "result") is True
    assert parts(by_url, "match")[0]["concept"] == {"system": CLAIM_USE, "code": "claim", "display": "Claim"}
    r = await local.post(
        "ValueSet/$expand",
        json=parameters(("count", "String", "x"), ("url", "Uri", GENDER_VS)),
        headers=FHIR_JSON,
    )
    assert r.status_code == 400 and r.json()["issue"][0]["expression"] == ["count"]
    r = await local.post(
        "ValueSet/$expand",
        json={"resourceType": "Parameters", "parameter": [{"valueUri": "x"}]},
        headers=FHIR_JSON,
    )
    assert r.status_code == 400 and r.json()["resourceType"] == "OperationOutcome"


async def test_expand_sees_a_run_time_change_at_once(local: httpx.AsyncClient) -> None:
    before = await get(local, "ValueSet/$expand", url=LOCAL_VS)
    assert before["expansion"]["total"] == 2
    vs = (await local.get("ValueSet/visit-kind")).json()
    vs["compose"]["include"][0].pop("concept")  # the whole CodeSystem
    assert (await local.put("ValueSet/visit-kind", json=vs, headers=FHIR_JSON)).status_code == 200
    after = await get(local, "ValueSet/$expand", url=LOCAL_VS)
    assert [c["code"] for c in after["expansion"]["contains"]] == ["E", "R", "O", "O-home"]
    assert (await local.delete("ValueSet/visit-kind")).status_code in (200, 204)
    r = await local.get("ValueSet/$expand", params={"url": LOCAL_VS})
    assert r.status_code == 404


async def test_operations_on_the_mongodb_backend(mclient: httpx.AsyncClient) -> None:  # noqa: F811
    """Run-time CodeSystem/ValueSet/ConceptMap found by url, by id and by source-system on MongoDB."""
    client = await seed_local(mclient)
    assert [
        c["code"] for c in (await get(client, "ValueSet/$expand", url=LOCAL_VS))["expansion"]["contains"]
    ] == [
        "E",
        "R",
    ]
    assert (
        param(await get(client, "ValueSet/visit-kind/$validate-code", system=LOCAL_CS, code="R"), "result")
        is True
    )
    assert (
        param(await get(client, "CodeSystem/$lookup", system=LOCAL_CS, code="O-home"), "display")
        == "Home visit"
    )
    body = await get(client, "ConceptMap/$translate", system=LOCAL_CS, code="E", targetsystem=CLAIM_USE)
    assert [m["concept"]["code"] for m in parts(body, "match")] == ["claim"]
    body = await get(
        client, "ConceptMap/$translate", url=LOCAL_MAP, system=CLAIM_USE, code="claim", reverse="true"
    )
    assert [m["concept"]["code"] for m in parts(body, "match")] == ["E"]
