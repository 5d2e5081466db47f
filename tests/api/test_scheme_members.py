"""Members and families over HTTP (scheme/insuree.py, scheme/family.py; DOMAIN.md §1.6, §6):
insurance numbers (format, uniqueness, the concurrent race), families (head, members,
quantity, one family per head, moves, removals), the Patient → Group loading order,
transaction and batch Bundles in any order, the ``imported`` tag, status changes, and
the official R4 example Patients and Groups left alone."""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from fhir_server.app import create_app
from fhir_server.insurance.insurance_number import with_checksum
from tests.conftest import EXAMPLES, require_r4_examples

from .conftest import BASE, FHIR_JSON, make_settings

SD = "https://openimis.org/fhir/StructureDefinition/"
INS = "https://openimis.org/fhir/insurance-number"
RULE = "https://openimis.org/fhir/CodeSystem/scheme-rule"
IMPORTED = {"system": "https://openimis.org/fhir/CodeSystem/scheme-tag", "code": "imported"}


@pytest.fixture
async def scheme(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """The scheme's legacy numbering: 9 characters, modulo-7 check digit."""
    settings = make_settings(
        tmp_path, insuree_number_length=9, insuree_number_modulo=7, max_body_bytes=200_000
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE + "/") as c:
            yield c


def number(n: int) -> str:
    """A valid number (8 digits + mod-7 check digit)."""
    return with_checksum(f"{n:08d}", 7)


def insuree(no: str, *, family: str | None = None, head: bool | None = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "resourceType": "Patient",
        "meta": {"profile": [SD + "insuree"]},
        "identifier": [
            {
                "type": {
                    "coding": [
                        {"system": "https://openimis.org/fhir/CodeSystem/identifier-type", "code": "Code"}
                    ]
                },
                "system": INS,
                "value": no,
            }
        ],
        "name": [{"family": "Mollel", "given": ["Neema"]}],
        "gender": "female",
        "birthDate": "1984-02-29",
    }
    exts: list[dict[str, Any]] = []
    if family is not None:
        exts.append({"url": SD + "insuree-family", "valueReference": {"reference": f"Group/{family}"}})
    if head is not None:
        exts.append({"url": SD + "insuree-is-head", "valueBoolean": head})
    if exts:
        body["extension"] = exts
    body.update(extra)
    return body


def family(head: str, members: list[str], *, no: str = "000000000", quantity: bool = True) -> dict[str, Any]:
    body: dict[str, Any] = {
        "resourceType": "Group",
        "meta": {"profile": [SD + "family"]},
        "extension": [
            {"url": SD + "family-head", "valueReference": {"reference": f"Patient/{head}"}},
            {
                "url": SD + "family-address",
                "valueAddress": {"use": "home", "type": "physical", "city": "Singa", "state": "Kilimanjaro"},
            },
        ],
        "identifier": [{"system": INS, "value": no}],
        "type": "person",
        "actual": True,
        "member": [{"entity": {"reference": f"Patient/{m}"}} for m in members],
    }
    if quantity:
        body["quantity"] = len(members)
    return body


async def put(c: httpx.AsyncClient, resource: dict[str, Any], id: str) -> httpx.Response:
    return await c.put(f"{resource['resourceType']}/{id}", json={**resource, "id": id}, headers=FHIR_JSON)


async def get(c: httpx.AsyncClient, path: str) -> dict[str, Any]:
    r = await c.get(path)
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out


def refusal(r: httpx.Response, status: int = 422) -> tuple[str, str | None, list[str], str]:
    """(issue code, scheme reason, expression, diagnostics) of a refused write."""
    assert r.status_code == status, r.text
    issue = r.json()["issue"][0]
    codings = (issue.get("details") or {}).get("coding") or [{}]
    reason = codings[0].get("code") if codings[0].get("system") == RULE else None
    return issue["code"], reason, issue.get("expression", []), issue.get("diagnostics", "")


def ext(resource: dict[str, Any], name: str) -> Any:
    for e in resource.get("extension", []):
        if e["url"] == SD + name:
            return e.get("valueReference", e.get("valueBoolean"))
    return None


def members_of(group: dict[str, Any]) -> list[str]:
    return [m["entity"]["reference"] for m in group.get("member", [])]


async def household(c: httpx.AsyncClient, fid: str, head: str, others: list[str], base: int) -> None:
    """Insurees ``head`` + ``others`` then their family ``fid``."""
    for k, pid in enumerate([head, *others]):
        assert (await put(c, insuree(number(base + k)), pid)).status_code == 201
    r = await put(c, family(head, [head, *others], no=number(base)), fid)
    assert r.status_code == 201, r.text


# ------------------------------------------------------------------ insurance numbers


async def test_insurance_number_format_is_refused_with_the_rule_and_openimis_error(
    scheme: httpx.AsyncClient,
) -> None:
    code, reason, expr, text = refusal(
        await scheme.post("Patient", json=insuree("12345678"), headers=FHIR_JSON)
    )
    assert (code, reason, expr) == ("business-rule", "length", ["Patient.identifier[0].value"])
    assert "openIMIS error 3" in text
    bad = number(1)[:-1] + str((int(number(1)[-1]) + 1) % 7)
    code, reason, expr, text = refusal(await scheme.post("Patient", json=insuree(bad), headers=FHIR_JSON))
    assert (reason, expr) == ("checksum", ["Patient.identifier[0].value"]) and "openIMIS error 4" in text
    # the neighbour: a well-formed number
    assert (await scheme.post("Patient", json=insuree(number(1)), headers=FHIR_JSON)).status_code == 201


async def test_insurance_number_is_unique_among_current_insurees(scheme: httpx.AsyncClient) -> None:
    n, m = number(10), number(11)
    assert (await put(scheme, insuree(n), "a")).status_code == 201
    code, reason, expr, text = refusal(await put(scheme, insuree(n), "b"))
    assert (code, reason, expr) == ("duplicate", "insurance-number-taken", ["Patient.identifier[0].value"])
    assert "openIMIS error 1" in text
    assert (await scheme.get("Patient/b")).status_code == 404  # nothing half-written
    # the same insuree keeps its number on update
    assert (await put(scheme, insuree(n, gender="male"), "a")).status_code == 200
    # a changed number frees the old one
    assert (await put(scheme, insuree(m), "a")).status_code == 200
    assert (await put(scheme, insuree(n), "b")).status_code == 201
    assert refusal(await put(scheme, insuree(m), "c"))[1] == "insurance-number-taken"
    # a deleted insuree frees its number
    assert (await scheme.delete("Patient/a")).status_code in (200, 204)
    assert (await put(scheme, insuree(m), "c")).status_code == 201
    # a Patient without our profile but with an insurance number is an insuree too
    plain = {"resourceType": "Patient", "identifier": [{"system": INS, "value": m}]}
    assert refusal(await scheme.post("Patient", json=plain, headers=FHIR_JSON))[1] == "insurance-number-taken"


async def test_two_concurrent_creates_with_one_number_give_one_insuree(scheme: httpx.AsyncClient) -> None:
    n = number(20)
    answers = await asyncio.gather(
        *(scheme.post("Patient", json=insuree(n), headers=FHIR_JSON) for _ in range(2))
    )
    assert sorted(r.status_code for r in answers) == [201, 422], [r.text for r in answers]
    loser = next(r for r in answers if r.status_code == 422)
    assert refusal(loser)[1] == "insurance-number-taken"
    found = await get(scheme, f"Patient?identifier={INS}|{n}")
    assert len(found.get("entry", [])) == 1


async def test_concurrent_updates_to_one_number_give_one_holder(scheme: httpx.AsyncClient) -> None:
    n = number(21)
    for pid, k in (("x", 22), ("y", 23)):
        assert (await put(scheme, insuree(number(k)), pid)).status_code == 201
    answers = await asyncio.gather(put(scheme, insuree(n), "x"), put(scheme, insuree(n), "y"))
    assert sorted(r.status_code for r in answers) == [200, 422], [r.text for r in answers]


# ------------------------------------------------------------------ families


async def test_a_family_links_its_members_and_counts_them(scheme: httpx.AsyncClient) -> None:
    for k, pid in enumerate(("ali", "bea", "cid")):
        assert (await put(scheme, insuree(number(30 + k)), pid)).status_code == 201
    r = await put(scheme, family("ali", ["ali", "bea", "cid"], no=number(30), quantity=False), "fam")
    assert r.status_code == 201, r.text
    assert r.json()["quantity"] == 3  # computed by the server
    ali, bea = await get(scheme, "Patient/ali"), await get(scheme, "Patient/bea")
    assert ext(ali, "insuree-family") == {"reference": "Group/fam"} and ext(ali, "insuree-is-head") is True
    assert ext(bea, "insuree-family") == {"reference": "Group/fam"} and ext(bea, "insuree-is-head") is False
    # a Patient rewritten without its family extension keeps it: membership lives on the Group
    r = await put(scheme, insuree(number(31)), "bea")
    assert r.status_code == 200 and ext(r.json(), "insuree-family") == {"reference": "Group/fam"}


async def test_the_head_must_be_a_member(scheme: httpx.AsyncClient) -> None:
    for k, pid in enumerate(("h1", "m1")):
        await put(scheme, insuree(number(40 + k)), pid)
    # a Group naming a head without claiming the profile is a family too: our rule answers
    group = family("h1", ["m1"])
    del group["meta"]
    _code, reason, expr, _ = refusal(await put(scheme, group, "f1"))
    assert (reason, expr) == ("head-not-member", ["Group.extension[0].valueReference"])
    assert (await put(scheme, family("h1", ["h1", "m1"]), "f1")).status_code == 201


async def test_every_member_is_an_existing_insuree(scheme: httpx.AsyncClient) -> None:
    await put(scheme, insuree(number(50)), "head")
    await put(scheme, insuree(number(51)), "gone")
    await scheme.delete("Patient/gone")
    other = {"resourceType": "Patient", "name": [{"family": "NotInsured"}]}
    assert (await put(scheme, other, "outsider")).status_code == 201
    for who, what in (("ghost", "does not exist"), ("gone", "is deleted"), ("outsider", "is not an insuree")):
        _code, reason, expr, text = refusal(await put(scheme, family("head", ["head", who]), "f"))
        assert (reason, expr) == ("member-not-insuree", ["Group.member[1].entity"]) and what in text
    # the neighbour: members that are insurees
    await put(scheme, insuree(number(52)), "kid")
    assert (await put(scheme, family("head", ["head", "kid"]), "f")).status_code == 201


async def test_one_family_per_head(scheme: httpx.AsyncClient) -> None:
    await household(scheme, "f1", "boss", ["kid"], 60)
    await put(scheme, insuree(number(62)), "friend")
    _code, reason, expr, _ = refusal(await put(scheme, family("boss", ["boss", "friend"]), "f2"))
    assert (reason, expr) == ("head-has-family", ["Group.extension[0].valueReference"])
    assert (await put(scheme, family("friend", ["friend"]), "f2")).status_code == 201


async def test_moving_a_member_takes_it_out_of_its_family(scheme: httpx.AsyncClient) -> None:
    await household(scheme, "fa", "a1", ["a2", "a3"], 70)
    await household(scheme, "fb", "b1", [], 80)
    r = await put(scheme, family("b1", ["b1", "a2"]), "fb")
    assert r.status_code == 200, r.text
    fa = await get(scheme, "Group/fa")
    assert members_of(fa) == ["Patient/a1", "Patient/a3"] and fa["quantity"] == 2
    assert ext(await get(scheme, "Patient/a2"), "insuree-family") == {"reference": "Group/fb"}
    # a head cannot be moved out without naming a new head
    _code, reason, expr, text = refusal(await put(scheme, family("b1", ["b1", "a2", "a1"]), "fb"))
    assert (reason, expr) == ("family-head-move", ["Group.member[2].entity"]) and "Group/fa" in text
    assert members_of(await get(scheme, "Group/fa")) == ["Patient/a1", "Patient/a3"]
    # ... it can once its family names another head
    assert (await put(scheme, family("a3", ["a1", "a3"]), "fa")).status_code == 200
    assert ext(await get(scheme, "Patient/a1"), "insuree-is-head") is False
    assert (await put(scheme, family("b1", ["b1", "a2", "a1"]), "fb")).status_code == 200
    assert members_of(await get(scheme, "Group/fa")) == ["Patient/a3"]


async def test_a_member_dropped_from_the_family_no_longer_names_it(scheme: httpx.AsyncClient) -> None:
    await household(scheme, "fam", "h", ["m"], 90)
    assert (await put(scheme, family("h", ["h"]), "fam")).status_code == 200
    assert ext(await get(scheme, "Patient/m"), "insuree-family") is None
    # the head cannot be dropped (it must stay a member)
    refusal(await put(scheme, family("h", ["m"]), "fam"))


async def test_a_patient_joins_an_existing_family_by_naming_it(scheme: httpx.AsyncClient) -> None:
    await household(scheme, "fam", "h", [], 100)
    await household(scheme, "old", "oh", ["mover"], 110)
    _code, reason, expr, _ = refusal(await put(scheme, insuree(number(101), family="fam", head=True), "p"))
    assert (reason, expr) == ("family-head-join", ["Patient.extension[1].valueBoolean"])
    r = await put(scheme, insuree(number(101), family="fam"), "p")
    assert r.status_code == 201 and ext(r.json(), "insuree-is-head") is False
    # a member of another family moves by naming its new family
    assert (await put(scheme, insuree(number(111), family="fam"), "mover")).status_code == 200
    fam, old = await get(scheme, "Group/fam"), await get(scheme, "Group/old")
    assert members_of(fam) == ["Patient/h", "Patient/p", "Patient/mover"] and fam["quantity"] == 3
    assert members_of(old) == ["Patient/oh"] and old["quantity"] == 1


async def test_patient_then_group_loading_order(scheme: httpx.AsyncClient) -> None:
    prefer = {**FHIR_JSON, "Prefer": "return=OperationOutcome"}
    body = {**insuree(number(120), family="later", head=True), "id": "first"}
    r = await scheme.put("Patient/first", json=body, headers=prefer)
    assert r.status_code == 201, r.text
    pending = [i for i in r.json()["issue"] if i["severity"] == "warning"]
    assert [i["details"]["coding"][0]["code"] for i in pending] == ["family-pending"]
    assert pending[0]["expression"] == ["Patient.extension[0].valueReference"]
    assert (await put(scheme, family("first", ["first"]), "later")).status_code == 201
    # naming a family that does not exist is refused for a member of another family
    _code, reason, expr, _ = refusal(await put(scheme, insuree(number(120), family="nowhere"), "first"))
    assert (reason, expr) == ("family-unknown", ["Patient.extension[0].valueReference"])
    # ... and a deleted family cannot be named
    await household(scheme, "short", "sh", [], 130)
    await put(scheme, family("first", ["first"]), "later")
    assert (await scheme.delete("Group/short")).status_code in (200, 204)
    assert ext(await get(scheme, "Patient/sh"), "insuree-family") is None  # detached
    assert refusal(await put(scheme, insuree(number(130), family="short"), "sh"))[1] == "family-unknown"


async def test_deleting_insurees(scheme: httpx.AsyncClient) -> None:
    await household(scheme, "fam", "h", ["m"], 140)
    _code, reason, _, _ = refusal(await scheme.delete("Patient/h"))
    assert reason == "family-head-move"
    assert (await scheme.delete("Patient/m")).status_code in (200, 204)
    fam = await get(scheme, "Group/fam")
    assert members_of(fam) == ["Patient/h"] and fam["quantity"] == 1


# ------------------------------------------------------------------ Bundles


def _entry(resource: dict[str, Any], full_url: str, method: str = "POST") -> dict[str, Any]:
    return {
        "fullUrl": full_url,
        "resource": resource,
        "request": {"method": method, "url": resource["resourceType"]},
    }


def _bundle_family(kind: str, group_first: bool) -> dict[str, Any]:
    urn = "urn:uuid:0b6c9a3e-6a5e-4f2e-9b1d-00000000000"
    head = insuree(number(150))
    kid = insuree(number(151))
    group = family(f"{urn}1", [f"{urn}1", f"{urn}2"])
    group["extension"][0]["valueReference"]["reference"] = f"{urn}1"
    group["member"] = [{"entity": {"reference": f"{urn}{k}"}} for k in (1, 2)]
    entries = [_entry(head, f"{urn}1"), _entry(kid, f"{urn}2")]
    g = _entry(group, f"{urn}3")
    return {
        "resourceType": "Bundle",
        "type": kind,
        "entry": [g, *entries] if group_first else [*entries, g],
    }


@pytest.mark.parametrize("group_first", [False, True])
async def test_a_transaction_enrols_a_family_in_any_order(
    scheme: httpx.AsyncClient, group_first: bool
) -> None:
    r = await scheme.post("", json=_bundle_family("transaction", group_first), headers=FHIR_JSON)
    assert r.status_code == 200, r.text
    locations = [e["response"]["location"].split("/_history")[0] for e in r.json()["entry"]]
    group_loc = next(loc for loc in locations if loc.startswith("Group/"))
    group = await get(scheme, group_loc)
    assert group["quantity"] == 2
    for ref in members_of(group):
        patient = await get(scheme, ref)
        assert ext(patient, "insuree-family") == {"reference": group_loc}
        assert ext(patient, "insuree-is-head") is (
            ref == group["extension"][0]["valueReference"]["reference"]
        )


async def test_a_refused_transaction_writes_nothing(scheme: httpx.AsyncClient) -> None:
    bundle = _bundle_family("transaction", True)
    bundle["entry"][0]["resource"]["member"].append({"entity": {"reference": "Patient/ghost"}})
    del bundle["entry"][0]["resource"]["quantity"]  # the server counts
    code, reason, expr, _ = refusal(await scheme.post("", json=bundle, headers=FHIR_JSON))
    assert (code, reason) == ("business-rule", "member-not-insuree")
    assert expr == ["Group.member[2].entity"]
    found = await get(scheme, f"Patient?identifier={INS}|{number(150)}")
    assert not found.get("entry")


async def test_a_batch_enrols_one_entry_at_a_time(scheme: httpx.AsyncClient) -> None:
    await put(scheme, insuree(number(160)), "bh")
    await put(scheme, insuree(number(161)), "bk")
    bundle = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [
            {
                "resource": {**family("bh", ["bh", "bk"]), "id": "bf"},
                "request": {"method": "PUT", "url": "Group/bf"},
            },
            {"resource": insuree(number(160)), "request": {"method": "POST", "url": "Patient"}},
        ],
    }
    r = await scheme.post("", json=bundle, headers=FHIR_JSON)
    assert r.status_code == 200, r.text
    statuses = [e["response"]["status"] for e in r.json()["entry"]]
    assert statuses[0].startswith("201") and statuses[1].startswith("422")
    assert ext(await get(scheme, "Patient/bk"), "insuree-family") == {"reference": "Group/bf"}


async def test_the_enrolment_example_bundle_loads(scheme: httpx.AsyncClient) -> None:
    for prefix in ("Location", "Organization", "Practitioner", "InsurancePlan"):  # what the policy refers to
        for path in sorted(EXAMPLES.glob(f"{prefix}-*.json")):
            resource = json.loads(path.read_text())
            assert (await put(scheme, resource, resource["id"])).status_code == 201, path.name
    bundle = json.loads((EXAMPLES / "Bundle-enrolment-family-massawe.json").read_text())
    r = await scheme.post("", json=bundle, headers=FHIR_JSON)
    assert r.status_code == 200, r.text
    patient_loc, group_loc = (e["response"]["location"].split("/_history")[0] for e in r.json()["entry"][:2])
    patient = await get(scheme, patient_loc)
    assert ext(patient, "insuree-family") == {"reference": group_loc}
    assert ext(patient, "insuree-is-head") is True
    assert (await get(scheme, group_loc))["quantity"] == 1


# ------------------------------------------------------------------ imported, status


async def test_imported_resources_skip_computed_changes_not_checks(scheme: httpx.AsyncClient) -> None:
    for k, pid in enumerate(("ih", "im")):
        await put(scheme, insuree(number(170 + k)), pid)
    group = family("ih", ["ih", "im"], quantity=False)
    group["meta"]["tag"] = [IMPORTED]
    r = await put(scheme, group, "if")
    assert r.status_code == 201 and "quantity" not in r.json()
    assert ext(await get(scheme, "Patient/im"), "insuree-family") is None  # no nested write
    bad = family("ih", ["im"])
    bad["meta"]["tag"] = [IMPORTED]
    del bad["meta"]["profile"]
    assert refusal(await put(scheme, bad, "if"))[1] == "head-not-member"
    dup = insuree(number(170))
    dup["meta"]["tag"] = [IMPORTED]
    assert refusal(await put(scheme, dup, "twin"))[1] == "insurance-number-taken"


async def test_a_status_change_resyncs_the_family_policies(
    scheme: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fhir_server.scheme import family as family_module

    calls: list[tuple[str, str]] = []

    async def record(server: object, tx: object, family_id: str, day: Any) -> None:
        calls.append((family_id, day.isoformat()))

    monkeypatch.setattr(family_module, "sync_family_policies", record)
    await household(scheme, "fam", "h", ["m"], 180)
    calls.clear()
    body = insuree(number(181))
    body["extension"] = [
        {
            "url": SD + "insuree-status",
            "valueCodeableConcept": {
                "coding": [{"system": "https://openimis.org/fhir/CodeSystem/insuree-status", "code": "DE"}]
            },
        }
    ]
    body["deceasedDateTime"] = "2024-05-06"
    r = await put(scheme, body, "m")
    assert r.status_code == 200, r.text
    assert calls == [("fam", "2024-05-06")]
    # the neighbour: an update that changes no status syncs nothing
    calls.clear()
    assert (await put(scheme, body, "m")).status_code == 200
    assert calls == []


async def test_membership_changes_resync_the_policies_of_each_family_touched(
    scheme: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fhir_server.scheme import family as family_module

    calls: list[str] = []

    async def record(server: object, tx: object, family_id: str, day: Any) -> None:
        calls.append(family_id)

    monkeypatch.setattr(family_module, "sync_family_policies", record)
    await household(scheme, "fa", "a1", ["a2"], 200)
    await household(scheme, "fb", "b1", [], 210)
    calls.clear()
    assert (await put(scheme, family("b1", ["b1", "a2"]), "fb")).status_code == 200  # a move
    assert sorted(calls) == ["fa", "fb"]
    calls.clear()
    assert (await put(scheme, insuree(number(201), family="fa"), "a2")).status_code == 200  # and back
    assert sorted(calls) == ["fa", "fb"]
    calls.clear()
    assert (await scheme.delete("Patient/a2")).status_code in (200, 204)
    assert calls == ["fa"]


# ------------------------------------------------------------------ others untouched


async def test_official_r4_example_patients_and_groups_are_untouched(scheme: httpx.AsyncClient) -> None:
    package = require_r4_examples()
    for name in ("Patient-example.json", "Patient-f001.json", "Group-101.json", "Group-102.json"):
        resource = json.loads((package / name).read_text())
        r = await put(scheme, resource, resource["id"])
        assert r.status_code == 201, (name, r.text)
        stored = r.json()
        sent = copy.deepcopy(resource)
        for key in ("meta", "text"):
            stored.pop(key, None)
            sent.pop(key, None)
        assert stored == sent, name
    # two ordinary Patients may share an identifier: no insurance number, no rule
    twin = json.loads((package / "Patient-example.json").read_text())
    assert (await put(scheme, twin, "example-twin")).status_code == 201


# ------------------------------------------------------------------ MongoDB without transactions


async def test_without_transactions_uniqueness_is_searched_and_nested_writes_refused(tmp_path: Path) -> None:
    from .test_custom_search_params import make_app, running

    async with running(make_app("mongo", tmp_path)) as c:
        server = c._transport.app.state.server  # type: ignore[attr-defined]
        if server.store.supports_transactions:
            pytest.skip("a replica set: the markers apply (tests above)")
        assert (await put(c, insuree(number(190)), "a")).status_code == 201
        assert refusal(await put(c, insuree(number(190)), "b"))[1] == "insurance-number-taken"
        assert (await put(c, insuree(number(190), gender="male"), "a")).status_code == 200
        # linking the members would change other resources in the same unit: refused, not half-done
        code, _, _, text = refusal(await put(c, family("a", ["a"]), "fam"), 400)
        assert code == "not-supported" and "replica set" in text
        assert (await c.get("Group/fam")).status_code == 404
