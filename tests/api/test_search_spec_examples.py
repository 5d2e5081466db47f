"""The examples and described behaviours of the R4 search page (http://hl7.org/fhir/R4/search.html),
one test each, over the real ASGI app on a real SQLite file.

Each test is named after the section of search.html it pins (its anchor: ``#token``,
``#prefix``, ``#has``, ...) and quotes the sentence in its docstring. Where the specification
leaves the server a choice, the docstring says what we chose. ``near``, ``_contained``, token
``:in``/``:not-in``/``:above``/``:below`` and custom SearchParameters are covered elsewhere.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx

from .conftest import FHIR_JSON, issue_codes

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"
SUBSETTED = "SUBSETTED"


# ---------------------------------------------------------------------------- helpers


async def put(client: httpx.AsyncClient, *bodies: dict[str, Any]) -> None:
    for body in bodies:
        r = await client.put(f"{body['resourceType']}/{body['id']}", json=body, headers=FHIR_JSON)
        assert r.status_code in (200, 201), r.text


async def searchset(
    client: httpx.AsyncClient, path: str, params: Any = None, **headers: str
) -> dict[str, Any]:
    r = await client.get(path, params=params, headers=headers)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    assert body["resourceType"] == "Bundle" and body["type"] == "searchset"
    return body


def matches(body: dict[str, Any]) -> list[str]:
    """The ids (``Type/id`` when several types) of the match entries, in Bundle order."""
    out = []
    for e in body.get("entry", []):
        if e["search"]["mode"] == "match":
            res = e["resource"]
            out.append(f"{res['resourceType']}/{res['id']}")
    return out


def included(body: dict[str, Any]) -> list[str]:
    return sorted(
        f"{e['resource']['resourceType']}/{e['resource']['id']}"
        for e in body.get("entry", [])
        if e["search"]["mode"] == "include"
    )


async def found(client: httpx.AsyncClient, path: str, params: Any = None, **headers: str) -> set[str]:
    """The ids of the matches (without type) of a type search."""
    return {m.split("/", 1)[1] for m in matches(await searchset(client, path, params, **headers))}


def outcome_issues(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        i for e in body.get("entry", []) if e["search"]["mode"] == "outcome" for i in e["resource"]["issue"]
    ]


def link(body: dict[str, Any], relation: str) -> str | None:
    return next((lk["url"] for lk in body.get("link", []) if lk["relation"] == relation), None)


def query_of(url: str) -> list[tuple[str, str]]:
    return parse_qsl(urlsplit(url).query, keep_blank_values=True)


async def refused(
    client: httpx.AsyncClient, path: str, params: Any = None, *, status: int = 400, **headers: str
) -> dict[str, Any]:
    r = await client.get(path, params=params, headers=headers)
    assert r.status_code == status, r.text
    body: dict[str, Any] = r.json()
    assert body["resourceType"] == "OperationOutcome"
    return body


def pat(id: str, family: str = "Chalmers", *given: str, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "resourceType": "Patient",
        "id": id,
        "name": [{"family": family, "given": list(given)}],
    }
    body.update(extra)
    return body


def obs(id: str, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "resourceType": "Observation",
        "id": id,
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": "15074-8"}]},
    }
    body.update(extra)
    return body


def qty(value: float | int | str, code: str = "mg", system: str = UCUM) -> dict[str, Any]:
    return {"value": value, "unit": code, "system": system, "code": code}


async def put_risk(client: httpx.AsyncClient, id: str, probability: str) -> None:
    """A RiskAssessment whose prediction probability is the decimal ``probability`` as written."""
    text = (
        f'{{"resourceType": "RiskAssessment", "id": "{id}", "status": "final", '
        f'"subject": {{"reference": "Patient/p1"}}, "prediction": [{{"probabilityDecimal": {probability}}}]}}'
    )
    r = await client.put(f"RiskAssessment/{id}", content=text, headers=FHIR_JSON)
    assert r.status_code in (200, 201), r.text


def condition(
    id: str,
    code: str,
    text: str | None = None,
    system: str = "http://acme.org/conditions/codes",
    **extra: Any,
) -> dict[str, Any]:
    cc: dict[str, Any] = {"coding": [{"system": system, "code": code}]}
    if text:
        cc["text"] = text
    body: dict[str, Any] = {
        "resourceType": "Condition",
        "id": id,
        "subject": {"reference": "Patient/p1"},
        "code": cc,
    }
    body.update(extra)
    return body


# ---------------------------------------------------------------------------- search contexts


async def test_searchcontexts_type_search_returns_a_searchset(client: httpx.AsyncClient) -> None:
    """search.html#searchcontexts: "A specified resource type: GET [base]/[type]?parameter(s)";
    search.html#return: "Search responses are always returned as a Bundle" of type searchset."""
    await put(client, pat("p1"), pat("p2", "Other"))
    body = await searchset(client, "Patient", {"family": "Chalmers"})
    assert matches(body) == ["Patient/p1"]


async def test_searchcontexts_no_filter_returns_everything_in_scope(client: httpx.AsyncClient) -> None:
    """search.html#searchcontexts (introduction): "In the absence of any search filters, e.g.
    GET [base]/Patient ... a server SHOULD return all records in scope of the search context"."""
    await put(client, pat("p1"), pat("p2"), obs("o1"))
    assert await found(client, "Patient") == {"p1", "p2"}
    r = await client.post(
        "Patient/_search", content=b"", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert r.status_code == 200 and {e["resource"]["id"] for e in r.json()["entry"]} == {"p1", "p2"}


async def test_searchcontexts_all_types_with_type(client: httpx.AsyncClient) -> None:
    """search.html#searchcontexts: "All resource types: GET [base]?parameter(s) ... if the _type
    parameter is included, all other search parameters SHALL be common to all provided types"
    (search.html#type: ``GET [base]?_type=Observation,Condition&other params``)."""
    await put(
        client,
        pat("p1"),
        obs("o1", subject={"reference": "Patient/p1"}),
        condition("c1", "ha125"),
        {"resourceType": "Encounter", "id": "e1", "status": "finished", "class": {"code": "AMB"}},
    )
    body = await searchset(client, "", {"_type": "Observation,Condition"})
    assert sorted(matches(body)) == ["Condition/c1", "Observation/o1"]
    # code is a token on both types: it applies to each
    body = await searchset(client, "", {"_type": "Observation,Condition", "code": "ha125"})
    assert matches(body) == ["Condition/c1"]
    body = await searchset(client, "", {"_id": "p1,e1"})
    assert sorted(matches(body)) == ["Encounter/e1", "Patient/p1"]


async def test_searchcontexts_all_types_parameter_not_common_is_reported(client: httpx.AsyncClient) -> None:
    """search.html#searchcontexts: "if _type is not included, all parameters SHALL be common to
    all resource types". Our choice: a parameter that is not is ignored and reported in the
    Bundle's OperationOutcome (lenient) or refused with ``Prefer: handling=strict``."""
    await put(client, pat("p1"))
    body = await searchset(client, "", {"family": "Chalmers", "_id": "p1"})
    assert matches(body) == ["Patient/p1"]
    assert any("family" in i["diagnostics"] for i in outcome_issues(body))
    out = await refused(client, "", {"family": "Chalmers"}, prefer="handling=strict")
    assert issue_codes(out) == ["not-supported"]


async def test_searchcontexts_compartment(client: httpx.AsyncClient) -> None:
    """search.html#searchcontexts: "A specified compartment, perhaps with a specified resource
    type in that compartment ... GET [base]/Patient/[id]/[type]?parameter(s)"."""
    await put(
        client,
        pat("p1"),
        pat("p2"),
        obs("o1", subject={"reference": "Patient/p1"}, status="final"),
        obs("o2", subject={"reference": "Patient/p1"}, status="preliminary"),
        obs("o3", subject={"reference": "Patient/p2"}),
    )
    assert await found(client, "Patient/p1/Observation") == {"o1", "o2"}
    assert await found(client, "Patient/p1/Observation", {"status": "final"}) == {"o1"}
    body = await searchset(client, "Patient/p1/*")
    assert {"Observation/o1", "Observation/o2"} <= set(matches(body))
    assert "Observation/o3" not in matches(body)


async def test_searchcontexts_compartment_procedures_over_two_years(client: httpx.AsyncClient) -> None:
    """search.html#date: "To search for all the procedures in a patient compartment that
    occurred over a 2-year period: GET [base]/Patient/23/Procedure?date=ge2010-01-01&date=le2011-12-31"."""

    def proc(id: str, when: str, who: str = "Patient/23") -> dict[str, Any]:
        return {
            "resourceType": "Procedure",
            "id": id,
            "status": "completed",
            "subject": {"reference": who},
            "performedDateTime": when,
        }

    await put(
        client,
        pat("23"),
        pat("24"),
        proc("a", "2009-12-31"),
        proc("b", "2010-01-01"),
        proc("c", "2011-06-15T10:00:00Z"),
        proc("d", "2011-12-31"),
        proc("e", "2012-01-01"),
        proc("f", "2011-01-01", "Patient/24"),
    )
    got = await found(client, "Patient/23/Procedure", [("date", "ge2010-01-01"), ("date", "le2011-12-31")])
    assert got == {"b", "c", "d"}


# ---------------------------------------------------------------------------- transport: POST


async def test_basicspost_form_encoded_body(client: httpx.AsyncClient) -> None:
    """http.html#search / search.html#searchcontexts: "POST [base]/[type]/_search
    Content-Type: application/x-www-form-urlencoded parameter(s)"; the self link is a GET
    ("Self links SHALL be expressed as an HTTP GET-based search")."""
    await put(client, pat("p1", "Chalmers", "Peter"), pat("p2", "Chalmers", "Paul"))
    r = await client.post(
        "Patient/_search",
        content="given=peter&family=chalmers",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert matches(body) == ["Patient/p1"]
    self_url = link(body, "self")
    assert self_url is not None and urlsplit(self_url).path.endswith("/fhir/Patient")
    assert sorted(query_of(self_url)) == [("family", "chalmers"), ("given", "peter")]


async def test_basicspost_parameters_in_url_and_body_are_anded(client: httpx.AsyncClient) -> None:
    """http.html#search: "Note that in the POST variant, parameters may appear in both the URL
    and the body. Parameters have the same meaning in either place"."""
    await put(
        client, pat("p1", "Chalmers", "Peter"), pat("p2", "Chalmers", "Paul"), pat("p3", "Other", "Peter")
    )
    r = await client.post(
        "Patient/_search?family=Chalmers",
        content="given=Peter",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 200, r.text
    assert matches(r.json()) == ["Patient/p1"]


async def test_basicspost_system_and_compartment(client: httpx.AsyncClient) -> None:
    """search.html#searchcontexts: "POST [base]/_search" and "POST [base]/Patient/[id]/[type]/_search"
    with form-encoded parameters."""
    await put(client, pat("p1"), obs("o1", subject={"reference": "Patient/p1"}), obs("o2"))
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    r = await client.post("_search", content="_type=Observation", headers=form)
    assert r.status_code == 200 and sorted(matches(r.json())) == ["Observation/o1", "Observation/o2"]
    r = await client.post("Patient/p1/Observation/_search", content="status=final", headers=form)
    assert r.status_code == 200 and matches(r.json()) == ["Observation/o1"]


# ---------------------------------------------------------------------------- responses, errors


async def test_selflink_echoes_the_parameters_used(client: httpx.AsyncClient) -> None:
    """search.html#selflink: "servers SHALL return the parameters that were actually used to
    process a search ... encoded in the self link of the returned bundle"
    (``"url": "http://example.org/Patient?name=peter"``)."""
    await put(client, pat("p1", "Peter"))
    body = await searchset(client, "Patient", {"name": "peter"})
    self_url = link(body, "self")
    assert self_url == "http://testserver/fhir/Patient?name=peter"


async def test_errors_unknown_parameter_is_ignored_and_reported(client: httpx.AsyncClient) -> None:
    """search.html#errors: "In general, servers SHOULD ignore unknown or unsupported parameters
    ... The client can determine what parameters the server used by examining the self link".
    Our choice: the ignored parameter is also named in an OperationOutcome entry (mode outcome)
    and left out of the self link."""
    await put(client, pat("p1"), condition("c1", "ha125"))
    body = await searchset(client, "Condition", {"myInvalidParameter": "true", "code": "ha125"})
    assert matches(body) == ["Condition/c1"]
    issues = outcome_issues(body)
    assert [i["code"] for i in issues] == ["not-supported"]
    assert issues[0]["expression"] == ["myInvalidParameter"]
    assert query_of(link(body, "self") or "") == [("code", "ha125")]


async def test_errors_prefer_handling_strict_refuses_unknown_parameter(client: httpx.AsyncClient) -> None:
    """search.html#errors: "Prefer: handling=strict: Client requests that the server return an
    error for any unknown or unsupported parameter"; ``handling=lenient`` ignores it."""
    out = await refused(client, "Condition", {"myInvalidParameter": "true"}, prefer="handling=strict")
    assert issue_codes(out) == ["not-supported"]
    assert out["issue"][0]["expression"] == ["myInvalidParameter"]
    body = await searchset(client, "Condition", {"myInvalidParameter": "true"}, prefer="handling=lenient")
    assert outcome_issues(body)


async def test_errors_unsupported_modifier(client: httpx.AsyncClient) -> None:
    """search.html#errors: "A parameter may use an illegal or unacceptable modifier ...
    GET [base]/Condition?onset:text=1995". Our choice: like an unknown parameter, ignored and
    reported (lenient), refused with handling=strict; it never widens silently unreported."""
    await put(client, pat("p1"), condition("c1", "x", onsetDateTime="1995-04-01"))
    body = await searchset(client, "Condition", {"onset-date:text": "1995"})
    assert outcome_issues(body)[0]["expression"] == ["onset-date:text"]
    out = await refused(client, "Condition", {"onset-date:text": "1995"}, prefer="handling=strict")
    assert issue_codes(out) == ["not-supported"]


async def test_errors_syntactically_incorrect_value_is_an_error(client: httpx.AsyncClient) -> None:
    """search.html#errors: "A data time parameter may have incorrect format ...
    GET [base]/Condition?onset=23%20May%202009" and "Where the content of the parameter is
    syntactically incorrect, servers SHOULD return an error"."""
    out = await refused(client, "Condition", {"onset-date": "23 May 2009"})
    assert issue_codes(out) == ["value"]
    assert out["issue"][0]["expression"] == ["onset-date"]


async def test_errors_logical_conditions_give_an_empty_searchset(client: httpx.AsyncClient) -> None:
    """search.html#errors: "where the issue is a logical condition (e.g. unknown subject or code),
    the server SHOULD process the search ... with the result of returning an empty search set"
    (``Observation?_id=101``, ``Observation?patient.identifier=http://example.com/fhir/mrn|1234``,
    ``Observation?code=loinc|1234-1``,
    ``Condition?onset=le1995``); "an empty search result is not an error"."""
    await put(
        client,
        pat("p1"),
        obs("o1", subject={"reference": "Patient/p1"}),
        condition("c1", "x", onsetDateTime="2001-01-01"),
    )
    assert await found(client, "Observation", {"_id": "101"}) == set()
    assert (
        await found(client, "Observation", {"patient.identifier": "http://example.com/fhir/mrn|1234"})
        == set()
    )
    assert await found(client, "Observation", {"code": "loinc|1234-1"}) == set()
    assert await found(client, "Condition", {"onset-date": "le1995"}) == set()


async def test_errors_empty_parameter_is_ignored(client: httpx.AsyncClient) -> None:
    """search.html#errors: "Note: Empty parameters are not an error - they are just ignored by
    the server"."""
    await put(client, pat("p1"), pat("p2", "Other"))
    assert await found(client, "Patient", {"family": ""}) == {"p1", "p2"}
