"""Registry lifecycle (check, add, remove), our profiles/ loader, the SearchParameter checks
and the pending-reindex warnings, without a store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fhir_server.definitions import load
from fhir_server.errors import InvalidError, UnprocessableError
from fhir_server.search.pending_reindex import Pending, PendingReindex
from fhir_server.search.profiles import DEFAULT_CANONICAL_BASE, load_search_parameters
from fhir_server.search.registry import SearchRegistry
from fhir_server.search.search_parameter_check import check_search_parameter, unknown_element
from fhir_server.validation import raise_if_invalid

PROFILES = Path(__file__).resolve().parents[3] / "profiles"

NICK = {
    "resourceType": "SearchParameter",
    "url": "urn:test:nick",
    "code": "nick",
    "base": ["Patient"],
    "type": "string",
    "expression": "Patient.name.where(use='nickname').given",
}


def test_remove_unregisters_and_brings_back_what_it_displaced() -> None:
    reg = SearchRegistry.from_definitions()
    official = reg.get("Patient", "name")
    assert official is not None
    generation = reg.generation
    reg.add({**NICK, "code": "name"})  # the registry allows an override; the API refuses it
    assert reg.get("Patient", "name") is not official
    assert reg.remove("urn:test:nick") is not None and reg.generation > generation
    assert reg.get("Patient", "name") is official
    assert reg.remove("urn:test:nick") is None
    assert reg.check(NICK).code == "nick" and reg.get("Patient", "nick") is None  # check registers nothing


def test_replacing_a_parameter_with_another_code_restores_the_displaced_one() -> None:
    reg = SearchRegistry.from_definitions()
    official = reg.get("Patient", "name")
    reg.add({**NICK, "code": "name"})
    reg.add(NICK)  # same url, code changed
    assert reg.get("Patient", "name") is official and reg.get("Patient", "nick") is not None


def test_our_profiles_are_valid_active_and_registrable() -> None:
    defs = load()
    reg = SearchRegistry.from_definitions(defs)
    files = sorted(PROFILES.glob("SearchParameter-*.json"))
    loaded = load_search_parameters(PROFILES)
    assert len(loaded) == len(files) >= 8
    for path, sp in zip(files, loaded, strict=True):
        raise_if_invalid(json.loads(path.read_text()), expected_type="SearchParameter")
        assert path.name == f"SearchParameter-{sp['id']}.json"
        assert (
            sp["url"] == f"{DEFAULT_CANONICAL_BASE}/SearchParameter/{sp['id']}" and sp["status"] == "active"
        )
        check_search_parameter(sp, reg, defs)
        reg.add(sp)


def test_the_loader_rewrites_the_canonical_base(tmp_path: Path) -> None:
    sp = {**NICK, "url": f"{DEFAULT_CANONICAL_BASE}/SearchParameter/x", "status": "active"}
    (tmp_path / "SearchParameter-x.json").write_text(json.dumps(sp))
    (tmp_path / "SearchParameter-y.json").write_text(json.dumps({**sp, "status": "draft"}))
    (out,) = load_search_parameters(tmp_path, "https://insurer.example/fhir/")
    assert out["url"] == "https://insurer.example/fhir/SearchParameter/x"
    assert load_search_parameters(tmp_path)[0]["url"] == sp["url"]


@pytest.mark.parametrize(
    ("branch", "problem"),
    [
        ("Patient.name.given", None),
        ("Patient.identifer", "Patient has no element 'identifer'"),
        ("Observation.value.as(Quantity).value", None),
        ("Observation.value.as(Quantity).nope", "Quantity has no element 'nope'"),
        ("Claim.extension('urn:x').value.coding", None),
        ("Bundle.entry.resource.name", None),  # a resource as value: not typed further
        ("Patient.name.exists() and Patient.active", None),  # fhirpathpy: not checked here
    ],
)
def test_unknown_elements(branch: str, problem: str | None) -> None:
    assert unknown_element(load(), branch) == problem


def test_check_refuses_with_the_element_in_the_expression() -> None:
    defs = load()
    reg = SearchRegistry.from_definitions(defs)
    with pytest.raises(UnprocessableError) as info:
        check_search_parameter({**NICK, "expression": "Patient.nick"}, reg, defs)
    assert info.value.status == 422 and info.value.expression == ("SearchParameter.expression",)
    with pytest.raises(InvalidError):
        check_search_parameter({**NICK, "type": "text"}, reg, defs)
    with pytest.raises(UnprocessableError) as info:
        check_search_parameter({**NICK, "code": "_nick"}, reg, defs)
    assert info.value.expression == ("SearchParameter.code",)
    with pytest.raises(UnprocessableError):
        check_search_parameter({**NICK, "expression": None}, reg, defs)


def test_pending_issues_name_the_parameter_type_and_count() -> None:
    pending = PendingReindex()
    pending.put(Pending("Patient", "nick", "urn:test:nick", 3, 100))
    pending.put(Pending("Resource", "tagged", "urn:test:t", 9, 200))
    (issue,) = pending.issues(("Patient",), {"nick", "name"})
    assert issue.severity == "warning" and issue.expression == ("nick",)
    assert "'nick' was added after 3 resources of type Patient" in issue.diagnostics
    assert pending.issues(("Group",), {"nick"}) == []
    assert len(pending.issues((), {"nick", "tagged"})) == 2
    assert [p.code for p in pending.covered(("Patient",), 150)] == ["nick"]
    assert [p.code for p in pending.covered(None, 150)] == ["nick"]  # added after the job started: stays
    assert Pending.from_json(pending.entries[("Patient", "nick")].to_json()).count == 3
