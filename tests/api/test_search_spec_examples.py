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
    coding = {"system": system, "code": code} if system else {"code": code}
    cc: dict[str, Any] = {"coding": [coding]}
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
    GET [base]/Condition?onset:text=1995" and "Where the content of the parameter is
    syntactically incorrect, servers SHOULD return an error". Refused in lenient handling too:
    ignoring the modifier would widen the search."""
    await put(client, pat("p1"), condition("c1", "x", onsetDateTime="1995-04-01"))
    for prefer in ("handling=lenient", "handling=strict"):
        out = await refused(client, "Condition", {"onset-date:text": "1995"}, prefer=prefer)
        assert issue_codes(out) == ["not-supported"]
        assert out["issue"][0]["expression"] == ["onset-date:text"]


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


# ---------------------------------------------------------------------------- AND / OR


async def names(client: httpx.AsyncClient) -> None:
    await put(
        client,
        pat("a", "valueFamily", "valueGivenA"),
        pat("b", "valueFamily", "valueGivenB"),
        pat("ab", "valueFamily", "valueGivenA", "valueGivenB"),
        pat("c", "otherFamily", "valueGivenA"),
    )


async def test_multivalue_and(client: httpx.AsyncClient) -> None:
    """search.html#multivalue: "GET [base]/Patient?given=valueGiven&family=valueFamily will return
    only Patient records with a family name of "valueFamily" and a given name of "valueGiven"";
    repeating a parameter ANDs it too."""
    await names(client)
    assert await found(client, "Patient", {"given": "valueGivenA", "family": "valueFamily"}) == {"a", "ab"}
    assert await found(client, "Patient", [("given", "valueGivenA"), ("given", "valueGivenB")]) == {"ab"}


async def test_multivalue_or_with_commas(client: httpx.AsyncClient) -> None:
    """search.html#multivalue: "GET [base]/Patient?given=valueGivenA,valueGivenB will return
    Patient records with EITHER ... This includes patient record that have BOTH"."""
    await names(client)
    assert await found(client, "Patient", {"given": "valueGivenA,valueGivenB"}) == {"a", "b", "ab", "c"}


async def test_multivalue_and_and_or_combined(client: httpx.AsyncClient) -> None:
    """search.html#multivalue: "GET [base]/Patient?given=valueGivenA,valueGivenB&family=valueFamily
    will return records that match a family name of "valueFamily" AND a given name of either"."""
    await names(client)
    got = await found(client, "Patient", {"given": "valueGivenA,valueGivenB", "family": "valueFamily"})
    assert got == {"a", "b", "ab"}


# ---------------------------------------------------------------------------- escaping


async def test_escaping_comma_pipe_dollar_and_backslash(client: httpx.AsyncClient) -> None:
    """search.html#escaping: "When any of these characters appear in an actual parameter value,
    they must be prepended by the character \\ ... code=a,b is a request for any resource with
    'code' having a value of a or b, whereas code=a\\,b is a request for any resource with 'code'
    having a value of 'a,b'"; likewise ``\\|``, ``\\$`` and ``\\\\``."""
    sys_ = "urn:ids"
    await put(
        client,
        pat("ab", identifier=[{"system": sys_, "value": "a,b"}]),
        pat("a", identifier=[{"system": sys_, "value": "a"}]),
        pat("b", identifier=[{"system": sys_, "value": "b"}]),
        pat("pipe", identifier=[{"system": sys_, "value": "x|y"}]),
        pat("dollar", identifier=[{"system": sys_, "value": "xx$xx"}]),
        pat("slash", identifier=[{"system": sys_, "value": "xx\\xx"}]),
    )
    assert await found(client, "Patient", {"identifier": "a,b"}) == {"a", "b"}
    assert await found(client, "Patient", {"identifier": "a\\,b"}) == {"ab"}
    assert await found(client, "Patient", {"identifier": f"{sys_}|x\\|y"}) == {"pipe"}
    assert await found(client, "Patient", {"identifier": "xx\\$xx"}) == {"dollar"}
    assert await found(client, "Patient", {"identifier": "xx\\\\xx"}) == {"slash"}


async def test_escaping_in_strings(client: httpx.AsyncClient) -> None:
    """search.html#escaping applies to every parameter type: ``family=Smith\\,Jones`` is one
    value ("Smith,Jones"), ``family=Smith,Jones`` two."""
    await put(client, pat("sj", "Smith,Jones"), pat("s", "Smith"), pat("j", "Jones"))
    assert await found(client, "Patient", {"family": "Smith\\,Jones"}) == {"sj"}
    assert await found(client, "Patient", {"family": "Smith,Jones"}) == {"sj", "s", "j"}


# ---------------------------------------------------------------------------- number


async def put_factor(client: httpx.AsyncClient, id: str, factor: str) -> None:
    """A ChargeItem whose ``factorOverride`` (search parameter ``factor-override``) is the
    decimal ``factor`` as written. (The examples need values above 100, which a
    RiskAssessment probability may not have: ras-2 "Must be <= 100".)"""
    text = (
        f'{{"resourceType": "ChargeItem", "id": "{id}", "status": "billable", "code": {{"text": "x"}}, '
        f'"subject": {{"reference": "Patient/p1"}}, "factorOverride": {factor}}}'
    )
    r = await client.put(f"ChargeItem/{id}", content=text, headers=FHIR_JSON)
    assert r.status_code in (200, 201), r.text


async def probabilities(client: httpx.AsyncClient) -> None:
    await put(client, pat("p1"))
    for id, value in {
        "v94": "94.9",
        "v99-4": "99.4",
        "v99-5": "99.5",
        "v99-996": "99.996",
        "v100": "100",
        "v100-4": "100.4",
        "v100-5": "100.5",
        "v104": "104.9",
        "v105": "105",
    }.items():
        await put_factor(client, id, value)


async def test_number_implicit_range_from_significant_figures(client: httpx.AsyncClient) -> None:
    """search.html#number: "[parameter]=100 Values that equal 100, to 3 significant figures
    precision, so this is actually searching for values in the range [99.5 ... 100.5)"."""
    await probabilities(client)
    assert await found(client, "ChargeItem", {"factor-override": "100"}) == {
        "v99-5",
        "v99-996",
        "v100",
        "v100-4",
    }


async def test_number_more_significant_figures_narrow_the_range(client: httpx.AsyncClient) -> None:
    """search.html#number: "[parameter]=100.00 Values that equal 100, to 5 significant figures
    precision, so this is actually searching for values in the range [99.995 ... 100.005)"."""
    await probabilities(client)
    assert await found(client, "ChargeItem", {"factor-override": "100.00"}) == {"v99-996", "v100"}


async def test_number_exponent_form(client: httpx.AsyncClient) -> None:
    """search.html#number: "[parameter]=1e2 Values that equal 100, to 1 significant figures
    precision, so this is actually searching for values in the range [95 ... 105)". R4 contradicts
    itself here (1 significant figure is half a hundred either side; R5 corrected the range to
    [50 ... 150)). Our choice: the rule, consistently: ``1e2`` is ``[50, 150)``, so it matches
    more than ``100`` does and ``150`` is outside."""
    await probabilities(client)
    await put_factor(client, "v150", "150")
    await put_factor(client, "v49", "49.9")
    got = await found(client, "ChargeItem", {"factor-override": "1e2"})
    assert got == await found(client, "ChargeItem", {"factor-override": "ge50"}) - {"v150"}
    assert {"v94", "v105", "v99-4", "v100-5"} <= got and not {"v150", "v49"} & got


async def test_number_comparators_are_exact(client: httpx.AsyncClient) -> None:
    """search.html#number: "lt100 Values that are less than exactly 100", "le100 ... less or
    equal to exactly 100", "gt100 ... greater than exactly 100", "ge100 ... greater or equal to
    exactly 100"."""
    await probabilities(client)
    low = {"v94", "v99-4", "v99-5", "v99-996"}
    high = {"v100-4", "v100-5", "v104", "v105"}
    assert await found(client, "ChargeItem", {"factor-override": "lt100"}) == low
    assert await found(client, "ChargeItem", {"factor-override": "le100"}) == low | {"v100"}
    assert await found(client, "ChargeItem", {"factor-override": "gt100"}) == high
    assert await found(client, "ChargeItem", {"factor-override": "ge100"}) == high | {"v100"}


async def test_number_ne_excludes_the_implicit_range(client: httpx.AsyncClient) -> None:
    """search.html#number: "ne100 Values that are not equal to 100 (actually, in the range 99.5
    to 100.5)"."""
    await probabilities(client)
    got = await found(client, "ChargeItem", {"factor-override": "ne100"})
    assert got == {"v94", "v99-4", "v100-5", "v104", "v105"}


async def test_number_example_probability_gt(client: httpx.AsyncClient) -> None:
    """search.html#number: "GET [base]/RiskAssessment?probability=gt0.8" finds the assessments
    with a probability above 0.8."""
    await put(client, pat("p1"))
    await put_risk(client, "hi", "0.9")
    await put_risk(client, "edge", "0.8")
    await put_risk(client, "lo", "0.5")
    assert await found(client, "RiskAssessment", {"probability": "gt0.8"}) == {"hi"}


# ---------------------------------------------------------------------------- date


def enc(id: str, start: str, end: str | None = None) -> dict[str, Any]:
    period = {"start": start, **({"end": end} if end else {})}
    return {
        "resourceType": "Encounter",
        "id": id,
        "status": "finished",
        "class": {"code": "AMB"},
        "period": period,
    }


async def test_date_eq_is_containment_of_the_implicit_range(client: httpx.AsyncClient) -> None:
    """search.html#date: "eq2013-01-14: 2013-01-14T00:00 matches (obviously), 2013-01-14T10:00
    matches, 2013-01-15T00:00 does not match - it's not in the range"."""
    await put(
        client,
        obs("midnight", effectiveDateTime="2013-01-14T00:00:00Z"),
        obs("ten", effectiveDateTime="2013-01-14T10:00:00Z"),
        obs("next", effectiveDateTime="2013-01-15T00:00:00Z"),
    )
    assert await found(client, "Observation", {"date": "eq2013-01-14"}) == {"midnight", "ten"}
    assert await found(client, "Observation", {"date": "2013-01-14"}) == {"midnight", "ten"}


async def test_date_ne(client: httpx.AsyncClient) -> None:
    """search.html#date: "ne2013-01-14: 2013-01-15T00:00 matches - it's not in the range,
    2013-01-14T00:00 does not match ... 2013-01-14T10:00 does not match"."""
    await put(
        client,
        obs("midnight", effectiveDateTime="2013-01-14T00:00:00Z"),
        obs("ten", effectiveDateTime="2013-01-14T10:00:00Z"),
        obs("next", effectiveDateTime="2013-01-15T00:00:00Z"),
    )
    assert await found(client, "Observation", {"date": "ne2013-01-14"}) == {"next"}


async def test_date_lt_and_gt_with_a_time(client: httpx.AsyncClient) -> None:
    """search.html#date: "lt2013-01-14T10:00: 2013-01-14 matches, because it includes the part of
    14-Jan 2013 before 10am" and "gt2013-01-14T10:00: 2013-01-14 matches, because it includes the
    part of 14-Jan 2013 after 10am"."""
    await put(
        client,
        obs("day", effectiveDateTime="2013-01-14"),
        obs("before", effectiveDateTime="2013-01-14T09:00:00Z"),
        obs("after", effectiveDateTime="2013-01-14T11:00:00Z"),
    )
    assert await found(client, "Observation", {"date": "lt2013-01-14T10:00:00Z"}) == {"day", "before"}
    assert await found(client, "Observation", {"date": "gt2013-01-14T10:00:00Z"}) == {"day", "after"}


async def test_date_ge_and_le_on_periods(client: httpx.AsyncClient) -> None:
    """search.html#date: "ge2013-03-14: "from 21-Jan 2013 onwards" is included because that period
    may include times after 14-Mar 2013"; "le2013-03-14: "from 21-Jan 2013 onwards" is included
    because that period may include times before 14-Mar 2013"."""
    await put(
        client,
        enc("open", "2013-01-21"),
        enc("early", "2012-01-01", "2012-12-31"),
        enc("late", "2014-01-01", "2014-02-01"),
    )
    assert await found(client, "Encounter", {"date": "ge2013-03-14"}) == {"open", "late"}
    assert await found(client, "Encounter", {"date": "le2013-03-14"}) == {"open", "early"}


async def test_date_sa_and_eb(client: httpx.AsyncClient) -> None:
    """search.html#date: "sa2013-03-14: "from 15-Mar 2013 onwards" is included because that period
    starts after 14-Mar 2013; "from 21-Jan 2013 onwards" is not included because that period
    starts before 14-Mar 2013; "before and including 21-Jan 2013" is not included"; "eb2013-03-14"
    is the mirror: "the range below the search value contains the range of the target value"."""
    await put(
        client,
        enc("from15mar", "2013-03-15"),
        enc("from21jan", "2013-01-21"),
        enc("jan", "2013-01-01", "2013-01-21"),
        enc("around", "2013-03-01", "2013-03-20"),
    )
    assert await found(client, "Encounter", {"date": "sa2013-03-14"}) == {"from15mar"}
    assert await found(client, "Encounter", {"date": "eb2013-03-14"}) == {"jan"}


async def test_date_ap_is_approximate(client: httpx.AsyncClient) -> None:
    """search.html#date: "ap2013-03-14: 14-Mar 2013 is included - as it exactly matches; 21-Jan 2013
    is not included because that is near 14-Mar 2013 ... 15-Jun 2015 is not included". Our
    choice (the spec leaves the width to the server): 10% of the gap between the value and now."""
    await put(
        client,
        obs("exact", effectiveDateTime="2013-03-14"),
        obs("week", effectiveDateTime="2013-03-21"),
        obs("far", effectiveDateTime="2015-06-15"),
        obs("older", effectiveDateTime="2005-01-01"),
    )
    got = await found(client, "Observation", {"date": "ap2013-03-14"})
    assert {"exact", "week"} <= got and not {"far", "older"} & got


async def test_date_precision_of_the_search_value(client: httpx.AsyncClient) -> None:
    """search.html#date: "Date parameters may be used with the date and dateTime data types ...
    the search value is implicitly a range" (``birthdate=1974`` is the year 1974,
    ``birthdate=1974-12`` its December)."""
    await put(
        client,
        pat("xmas", birthDate="1974-12-25"),
        pat("june", birthDate="1974-06-01"),
        pat("other", birthDate="1975-01-01"),
    )
    assert await found(client, "Patient", {"birthdate": "1974"}) == {"xmas", "june"}
    assert await found(client, "Patient", {"birthdate": "1974-12"}) == {"xmas"}
    assert await found(client, "Patient", {"birthdate": "1974-12-25"}) == {"xmas"}


async def test_date_timezones_compare_instants(client: httpx.AsyncClient) -> None:
    """search.html#date: "Where both search parameters and resource element date times do not have
    time zones, the servers local time zone should be assumed"; with zones, instants compare:
    ``2013-01-14T10:00:00+02:00`` is 08:00Z."""
    await put(client, obs("tz", effectiveDateTime="2013-01-14T10:00:00+02:00"))
    assert await found(client, "Observation", {"date": "lt2013-01-14T09:00:00Z"}) == {"tz"}
    assert await found(client, "Observation", {"date": "gt2013-01-14T09:00:00Z"}) == set()


async def test_date_bad_prefix_or_value_is_refused(client: httpx.AsyncClient) -> None:
    """search.html#prefix lists eq ne gt lt ge le sa eb ap; anything else is a syntax error
    (search.html#errors: "servers SHOULD return an error")."""
    out = await refused(client, "Observation", {"date": "xx2013-01-14"})
    assert issue_codes(out) == ["value"] and out["issue"][0]["expression"] == ["date"]
    out = await refused(client, "Observation", {"date": "2013-02-30"})
    assert out["issue"][0]["expression"] == ["date"]


# ---------------------------------------------------------------------------- string


async def givens(client: httpx.AsyncClient) -> None:
    await put(
        client,
        pat("eve", "Smith", "Eve"),
        pat("evelyn", "Smith", "Evelyn"),
        pat("accent", "Smith", "Ève"),
        pat("severine", "Smith", "Severine"),
        pat("adam", "Smith", "Adam"),
    )


async def test_string_default_is_case_and_accent_insensitive_starts_with(client: httpx.AsyncClient) -> None:
    """search.html#string: "By default, a field matches a string query if the value of the field
    equals or starts with the supplied parameter value, after both have been normalized by case and
    accent" (``GET [base]/Patient?given=eve``: "Eve", "Evelyn")."""
    await givens(client)
    assert await found(client, "Patient", {"given": "eve"}) == {"eve", "evelyn", "accent"}


async def test_string_contains(client: httpx.AsyncClient) -> None:
    """search.html#string: "The :contains modifier returns results that include the supplied
    parameter value anywhere within the field being searched" (``given:contains=eve`` also finds
    "Severine")."""
    await givens(client)
    assert await found(client, "Patient", {"given:contains": "eve"}) == {
        "eve",
        "evelyn",
        "accent",
        "severine",
    }


async def test_string_exact(client: httpx.AsyncClient) -> None:
    """search.html#string: "The :exact modifier returns results that match the entire supplied
    parameter, including casing and accents" (``given:exact=Eve``)."""
    await givens(client)
    assert await found(client, "Patient", {"given:exact": "Eve"}) == {"eve"}
    assert await found(client, "Patient", {"given:exact": "eve"}) == set()
    assert await found(client, "Patient", {"given:exact": "Ève"}) == {"accent"}


async def test_string_over_several_elements(client: httpx.AsyncClient) -> None:
    """search.html#string: a string parameter may search several elements; "name" matches any part
    of a HumanName (family, given, text, ...), and "address" any part of an Address."""
    await put(
        client,
        pat("p1", "Chalmers", "Peter", address=[{"line": ["534 Erewhon St"], "city": "PleasantVille"}]),
        pat("p2", "Windsor", "Peter"),
    )
    assert await found(client, "Patient", {"name": "chal"}) == {"p1"}
    assert await found(client, "Patient", {"name": "pet"}) == {"p1", "p2"}
    assert await found(client, "Patient", {"address": "pleasant"}) == {"p1"}
    assert await found(client, "Patient", {"address": "534"}) == {"p1"}


# ---------------------------------------------------------------------------- uri


def vs(id: str, url: str) -> dict[str, Any]:
    return {"resourceType": "ValueSet", "id": id, "url": url, "status": "active"}


async def test_uri_exact_match(client: httpx.AsyncClient) -> None:
    """search.html#uri: "GET [base]/ValueSet?url=http://acme.org/fhir/ValueSet/123" - the uri
    matches exactly (case and all)."""
    await put(
        client,
        vs("a", "http://acme.org/fhir/ValueSet/123"),
        vs("b", "http://acme.org/fhir/ValueSet/1234"),
        vs("c", "http://acme.org/fhir/ValueSet/123/_history/5"),
    )
    assert await found(client, "ValueSet", {"url": "http://acme.org/fhir/ValueSet/123"}) == {"a"}


async def test_uri_below(client: httpx.AsyncClient) -> None:
    """search.html#uri: "GET [base]/ValueSet?url:below=http://acme.org/fhir/ ... would match any
    value set with a URL that starts with http://acme.org/fhir/"."""
    await put(
        client,
        vs("a", "http://acme.org/fhir/ValueSet/123"),
        vs("b", "http://acme.org/other/ValueSet/1"),
    )
    assert await found(client, "ValueSet", {"url:below": "http://acme.org/fhir/"}) == {"a"}


async def test_uri_above(client: httpx.AsyncClient) -> None:
    """search.html#uri: "GET [base]/ValueSet?url:above=http://acme.org/fhir/ValueSet/123/_history/5
    ... would match any value set URL that is a parent of the given URL"."""
    await put(
        client,
        vs("root", "http://acme.org/fhir/"),
        vs("vs", "http://acme.org/fhir/ValueSet/123"),
        vs("other", "http://acme.org/other/ValueSet/123"),
    )
    got = await found(client, "ValueSet", {"url:above": "http://acme.org/fhir/ValueSet/123/_history/5"})
    assert "vs" in got and "other" not in got


# ---------------------------------------------------------------------------- token


async def test_token_system_and_code(client: httpx.AsyncClient) -> None:
    """search.html#token: "[parameter]=[system]|[code]: the value of [code] matches a
    Coding.code or Identifier.value, and the value of [system] matches the system property"
    (``GET [base]/Patient?identifier=http://acme.org/patient|2345``)."""
    await put(
        client,
        pat("a", identifier=[{"system": "http://acme.org/patient", "value": "2345"}]),
        pat("b", identifier=[{"system": "http://other.org/patient", "value": "2345"}]),
        pat("c", identifier=[{"value": "2345"}]),
    )
    assert await found(client, "Patient", {"identifier": "http://acme.org/patient|2345"}) == {"a"}


async def test_token_code_only_any_system(client: httpx.AsyncClient) -> None:
    """search.html#token: "[parameter]=[code]: the value of [code] matches a Coding.code or
    Identifier.value irrespective of the value of the system property"
    (``GET [base]/Condition?code=ha125``)."""
    await put(
        client,
        pat("p1"),
        condition("acme", "ha125"),
        condition("other", "ha125", system="http://other.org/codes"),
        condition("nosys", "ha125", system=""),
        condition("no", "ha126"),
    )
    assert await found(client, "Condition", {"code": "ha125"}) == {"acme", "other", "nosys"}
    assert await found(client, "Condition", {"code": "http://acme.org/conditions/codes|ha125"}) == {"acme"}


async def test_token_no_system_and_system_only(client: httpx.AsyncClient) -> None:
    """search.html#token: "[parameter]=|[code]: the value of [code] matches a Coding.code or
    Identifier.value, and the Coding/Identifier has no system property" and
    "[parameter]=[system]|: any element where the value of [system] matches the system property"."""
    await put(
        client,
        pat("p1"),
        condition("acme", "ha125"),
        condition("acme2", "ha999"),
        condition("nosys", "ha125", system=""),
    )
    assert await found(client, "Condition", {"code": "|ha125"}) == {"nosys"}
    assert await found(client, "Condition", {"code": "http://acme.org/conditions/codes|"}) == {
        "acme",
        "acme2",
    }


async def test_token_boolean(client: httpx.AsyncClient) -> None:
    """search.html#token: "GET [base]/Patient?active=true" - booleans are tokens."""
    await put(client, pat("on", active=True), pat("off", active=False), pat("unset"))
    assert await found(client, "Patient", {"active": "true"}) == {"on"}
    assert await found(client, "Patient", {"active": "false"}) == {"off"}


async def test_token_not_includes_resources_without_a_value(client: httpx.AsyncClient) -> None:
    """search.html#modifiers / #token: ":not ... GET [base]/Patient?gender:not=male ... Note that
    this includes resources that have no value for the parameter"; ``Composition?section:not=48765-2``
    likewise."""
    await put(client, pat("m", gender="male"), pat("f", gender="female"), pat("u"))
    assert await found(client, "Patient", {"gender:not": "male"}) == {"f", "u"}


async def test_token_text(client: httpx.AsyncClient) -> None:
    """search.html#token: ":text ... the search parameter is tested against the text of the
    CodeableConcept or the display of the Coding" (``GET [base]/Condition?code:text=headache``)."""
    await put(
        client,
        pat("p1"),
        condition("cc", "ha125", text="Headache, tension"),
        condition("disp", "x1"),
        condition("none", "x2", text="Fracture"),
    )
    await put(
        client,
        {
            **condition("disp", "x1"),
            "code": {"coding": [{"system": "urn:c", "code": "x1", "display": "headache (finding)"}]},
        },
    )
    assert await found(client, "Condition", {"code:text": "headache"}) == {"cc", "disp"}


async def test_token_of_type(client: httpx.AsyncClient) -> None:
    """search.html#token: "[parameter]:of-type=[system]|[code]|[value] ... e.g.
    GET [base]/Patient?identifier:of-type=http://terminology.hl7.org/CodeSystem/v2-0203|MR|446053"."""
    mr = {"coding": [{"system": V2_0203, "code": "MR"}]}
    await put(
        client,
        pat("mr", identifier=[{"type": mr, "system": "urn:mrn", "value": "446053"}]),
        pat("plain", identifier=[{"system": "urn:mrn", "value": "446053"}]),
    )
    assert await found(client, "Patient", {"identifier:of-type": f"{V2_0203}|MR|446053"}) == {"mr"}
    out = await refused(client, "Patient", {"identifier:of-type": "MR|446053"})
    assert out["issue"][0]["expression"] == ["identifier:of-type"]


# ---------------------------------------------------------------------------- quantity


async def weights(client: httpx.AsyncClient) -> None:
    await put(
        client,
        obs("mg54", valueQuantity=qty(5.4)),
        obs("mg5", valueQuantity=qty(5)),
        obs("mg6", valueQuantity=qty(6)),
        obs("ug5400", valueQuantity=qty(5400, "ug")),
        obs("mmol", valueQuantity=qty(5.4, "mmol/L")),
        obs(
            "local",
            valueQuantity={"value": 5.4, "unit": "mg", "system": "http://acme.org/units", "code": "mg"},
        ),
        obs("unitonly", valueQuantity={"value": 5.4, "unit": "mg"}),
    )


async def test_quantity_value_system_code(client: httpx.AsyncClient) -> None:
    """search.html#quantity: "GET [base]/Observation?value-quantity=5.4|http://unitsofmeasure.org|mg
    Search for all the observations with a value of 5.4(+/-0.05) mg where mg is understood as a UCUM
    unit (system/code)"; a server that canonicalises UCUM also finds 5400 ug."""
    await weights(client)
    got = await found(client, "Observation", {"value-quantity": f"5.4|{UCUM}|mg"})
    assert got == {"mg54", "ug5400"}


async def test_quantity_any_system(client: httpx.AsyncClient) -> None:
    """search.html#quantity: "GET [base]/Observation?value-quantity=5.4||mg Search for all the
    observations with a value of 5.4(+/-0.05) mg where the unit - either the code (code) or the
    stated human unit (unit) are "mg""."""
    await weights(client)
    got = await found(client, "Observation", {"value-quantity": "5.4||mg"})
    assert {"mg54", "local", "unitonly"} <= got and not {"mg5", "mmol"} & got


async def test_quantity_number_only(client: httpx.AsyncClient) -> None:
    """search.html#quantity: "GET [base]/Observation?value-quantity=5.4 Search for all the
    observations with a value of 5.4(+/-0.05) irrespective of the unit"."""
    await weights(client)
    got = await found(client, "Observation", {"value-quantity": "5.4"})
    assert got == {"mg54", "mmol", "local", "unitonly"}


async def test_quantity_le_prefix(client: httpx.AsyncClient) -> None:
    """search.html#quantity: "GET [base]/Observation?value-quantity=le5.4|http://unitsofmeasure.org|mg
    Search for all the observations where the value of is less than 5.4 mg exactly"."""
    await weights(client)
    got = await found(client, "Observation", {"value-quantity": f"le5.4|{UCUM}|mg"})
    assert got == {"mg54", "mg5", "ug5400"}


async def test_quantity_ap_prefix(client: httpx.AsyncClient) -> None:
    """search.html#quantity: "GET [base]/Observation?value-quantity=ap5.4|http://unitsofmeasure.org|mg
    Search for all the observations where the value of is about 5.4 mg where 'about' is not
    defined"; our choice is the recommended 10%: 5 mg is in, 6 mg is out."""
    await weights(client)
    got = await found(client, "Observation", {"value-quantity": f"ap5.4|{UCUM}|mg"})
    assert {"mg54", "mg5", "ug5400"} <= got and "mg6" not in got


# ---------------------------------------------------------------------------- reference


async def subjects(client: httpx.AsyncClient) -> None:
    await put(
        client,
        pat("23", identifier=[{"system": "http://acme.org/fhir/identifier/mrn", "value": "123456"}]),
        {"resourceType": "Group", "id": "23", "type": "person", "actual": True},
        obs("rel", subject={"reference": "Patient/23"}),
        obs("abs", subject={"reference": "http://testserver/fhir/Patient/23"}),
        obs("grp", subject={"reference": "Group/23"}),
        obs(
            "ident",
            subject={"identifier": {"system": "http://acme.org/fhir/identifier/mrn", "value": "123456"}},
        ),
        obs("ext", subject={"reference": "http://other.org/fhir/Patient/23"}),
    )


async def test_reference_type_and_id(client: httpx.AsyncClient) -> None:
    """search.html#reference: "[parameter]=[type]/[id] the logical [id] of a resource of the given
    [type] ... GET [base]/Observation?subject=Patient/23"; absolute references on our own base are
    the same resource."""
    await subjects(client)
    assert await found(client, "Observation", {"subject": "Patient/23"}) == {"rel", "abs"}


async def test_reference_id_only(client: httpx.AsyncClient) -> None:
    """search.html#reference: "[parameter]=[id] the logical [id] of a resource using a local
    reference (i.e. a relative reference)" - any target type (Patient/23 and Group/23 here)."""
    await subjects(client)
    assert await found(client, "Observation", {"subject": "23"}) == {"rel", "abs", "grp"}


async def test_reference_type_modifier(client: httpx.AsyncClient) -> None:
    """search.html#reference: "GET [base]/Observation?subject:Patient=23 ... the [type] modifier
    ... restricts the search to the type given"."""
    await subjects(client)
    assert await found(client, "Observation", {"subject:Patient": "23"}) == {"rel", "abs"}
    assert await found(client, "Observation", {"subject:Group": "23"}) == {"grp"}


async def test_reference_absolute_url(client: httpx.AsyncClient) -> None:
    """search.html#reference: "[parameter]=[url] where the [url] is an absolute URL - a reference
    to a resource by its absolute location" (another server's URL matches only itself)."""
    await subjects(client)
    assert await found(client, "Observation", {"subject": "http://other.org/fhir/Patient/23"}) == {"ext"}
    assert await found(client, "Observation", {"subject": "http://testserver/fhir/Patient/23"}) == {
        "rel",
        "abs",
    }


async def test_reference_identifier_modifier(client: httpx.AsyncClient) -> None:
    """search.html#reference: ":identifier ... GET [base]/Observation?subject:identifier=
    http://acme.org/fhir/identifier/mrn|123456 ... matches Reference.identifier, not the
    identifiers of the referenced resource"."""
    await subjects(client)
    got = await found(
        client, "Observation", {"subject:identifier": "http://acme.org/fhir/identifier/mrn|123456"}
    )
    assert got == {"ident"}


async def test_missing_true_and_false(client: httpx.AsyncClient) -> None:
    """search.html#modifiers: ":missing ... e.g. gender:missing=true (or false). Searching for
    gender:missing=true will return all the resources that don't have a value for the gender
    parameter ... gender:missing=false ... all the resources that have a value"."""
    await put(client, pat("m", gender="male"), pat("u"), pat("b", birthDate="1974-12-25"))
    assert await found(client, "Patient", {"gender:missing": "true"}) == {"u", "b"}
    assert await found(client, "Patient", {"gender:missing": "false"}) == {"m"}
    assert await found(client, "Patient", {"birthdate:missing": "false"}) == {"b"}
    out = await refused(client, "Patient", {"gender:missing": "maybe"})
    assert out["issue"][0]["expression"] == ["gender:missing"]


# ---------------------------------------------------------------------------- composite


def bp(id: str, systolic: float, diastolic: float) -> dict[str, Any]:
    def comp(code: str, value: float) -> dict[str, Any]:
        return {"code": {"coding": [{"system": LOINC, "code": code}]}, "valueQuantity": qty(value, "mm[Hg]")}

    return obs(
        id,
        code={"coding": [{"system": LOINC, "code": "85354-9"}]},
        component=[comp("8480-6", systolic), comp("8462-4", diastolic)],
    )


async def test_composite_component_code_value_quantity(client: httpx.AsyncClient) -> None:
    """search.html#composite: "GET [base]/Observation?component-code-value-quantity=
    http://loinc.org|8480-6$lt60 ... systolic blood pressure less than 60"."""
    await put(client, bp("low", 55, 40), bp("high", 120, 80))
    assert await found(client, "Observation", {"component-code-value-quantity": f"{LOINC}|8480-6$lt60"}) == {
        "low"
    }


async def test_composite_components_match_the_same_element(client: httpx.AsyncClient) -> None:
    """search.html#composite: "the search parameter value ... is a composite value ... which
    applies to the same element": diastolic 55 does not make the systolic component < 60."""
    await put(client, bp("mixed", 120, 55))
    got = await found(client, "Observation", {"component-code-value-quantity": f"{LOINC}|8480-6$lt60"})
    assert got == set()


async def test_composite_code_value_quantity_and_or(client: httpx.AsyncClient) -> None:
    """search.html#composite: "GET [base]/Observation?code-value-quantity=http://loinc.org|
    2823-3$gt5.4|http://unitsofmeasure.org|mmol/L" - potassium above 5.4 mmol/L; commas OR
    whole composite values."""
    k = {"coding": [{"system": LOINC, "code": "2823-3"}]}
    await put(
        client,
        obs("k6", code=k, valueQuantity=qty(6, "mmol/L")),
        obs("k4", code=k, valueQuantity=qty(4, "mmol/L")),
        obs("other", valueQuantity=qty(6, "mmol/L")),
    )
    value = f"{LOINC}|2823-3$gt5.4|{UCUM}|mmol/L"
    assert await found(client, "Observation", {"code-value-quantity": value}) == {"k6"}
    both = f"{value},{LOINC}|2823-3$lt4.5|{UCUM}|mmol/L"
    assert await found(client, "Observation", {"code-value-quantity": both}) == {"k6", "k4"}


async def test_composite_chained(client: httpx.AsyncClient) -> None:
    """search.html#composite: "GET [base]/DiagnosticReport?result.code-value-quantity=
    http://loinc.org|2823-3$gt5.4|http://unitsofmeasure.org|mmol/L" - reports with a potassium
    result above 5.4 mmol/L."""
    k = {"coding": [{"system": LOINC, "code": "2823-3"}]}

    def report(id: str, result: str) -> dict[str, Any]:
        return {
            "resourceType": "DiagnosticReport",
            "id": id,
            "status": "final",
            "code": {"coding": [{"system": LOINC, "code": "24326-1"}]},
            "result": [{"reference": result}],
        }

    await put(
        client,
        obs("k6", code=k, valueQuantity=qty(6, "mmol/L")),
        obs("k4", code=k, valueQuantity=qty(4, "mmol/L")),
        report("r6", "Observation/k6"),
        report("r4", "Observation/k4"),
    )
    value = f"{LOINC}|2823-3$gt5.4|{UCUM}|mmol/L"
    assert await found(client, "DiagnosticReport", {"result.code-value-quantity": value}) == {"r6"}


# ---------------------------------------------------------------------------- chaining


def report(id: str, subject: str) -> dict[str, Any]:
    return {
        "resourceType": "DiagnosticReport",
        "id": id,
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": "24326-1"}]},
        "subject": {"reference": subject},
    }


async def test_chaining_with_the_type_named(client: httpx.AsyncClient) -> None:
    """search.html#chaining: "GET [base]/DiagnosticReport?subject:Patient.name=peter ... the
    parameter name can be qualified with a type" - reports about a patient named peter."""
    await put(
        client,
        pat("peter", "Chalmers", "Peter"),
        pat("paul", "Chalmers", "Paul"),
        {"resourceType": "Location", "id": "peter", "name": "Peterborough"},
        report("r1", "Patient/peter"),
        report("r2", "Patient/paul"),
        report("r3", "Location/peter"),
    )
    assert await found(client, "DiagnosticReport", {"subject:Patient.name": "peter"}) == {"r1"}


async def test_chaining_ambiguous_target_is_refused(client: httpx.AsyncClient) -> None:
    """search.html#chaining: "DiagnosticReport?subject.name=peter" where subject may be a Patient,
    Group, Device or Location: "the parameter chain may end up referring to search parameters with
    the same name on more than one kind of resource". Our choice: refuse (400, the chain named)
    and say how to qualify it, rather than search several types silently."""
    out = await refused(client, "DiagnosticReport", {"subject.name": "peter"})
    assert issue_codes(out) == ["value"]
    assert out["issue"][0]["expression"] == ["subject.name"]
    assert (
        "subject:Location.name" in out["issue"][0]["diagnostics"]
        or "subject:Patient" in out["issue"][0]["diagnostics"]
    )


async def test_chaining_single_target_needs_no_type(client: httpx.AsyncClient) -> None:
    """search.html#chaining: "GET [base]/DiagnosticReport?subject.name=peter" - where the
    reference has one possible target with that parameter no type is needed (``Claim?patient.name``)."""
    await put(
        client,
        pat("p1", "Massawe"),
        pat("p2", "Kimaro"),
        {**_claim("c1", "Patient/p1")},
        {**_claim("c2", "Patient/p2")},
    )
    assert await found(client, "Claim", {"patient.name": "massawe"}) == {"c1"}


def _claim(id: str, patient: str, provider: str = "Organization/o1") -> dict[str, Any]:
    return {
        "resourceType": "Claim",
        "id": id,
        "status": "active",
        "type": {
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/claim-type", "code": "professional"}]
        },
        "use": "claim",
        "patient": {"reference": patient},
        "created": "2024-03-01",
        "provider": {"reference": provider},
        "priority": {"coding": [{"code": "normal"}]},
        "insurance": [{"sequence": 1, "focal": True, "coverage": {"reference": "Coverage/x"}}],
    }


async def test_chaining_each_chain_is_evaluated_separately(client: httpx.AsyncClient) -> None:
    """search.html#chaining: "GET [base]/Patient?general-practitioner.name=Joe&
    general-practitioner.address-state=MN ... may return Patients cared for by Joe from CA and
    Jane from MN: no one practitioner need satisfy both" (here with the type named, as
    general-practitioner may be a Practitioner or an Organization)."""

    def gp(id: str, name: str, state: str) -> dict[str, Any]:
        return {
            "resourceType": "Practitioner",
            "id": id,
            "name": [{"family": name}],
            "address": [{"state": state}],
        }

    await put(
        client,
        gp("joe", "Joe", "CA"),
        gp("jane", "Jane", "MN"),
        pat(
            "both",
            generalPractitioner=[{"reference": "Practitioner/joe"}, {"reference": "Practitioner/jane"}],
        ),
        pat("joeonly", generalPractitioner=[{"reference": "Practitioner/joe"}]),
    )
    params = {
        "general-practitioner:Practitioner.name": "Joe",
        "general-practitioner:Practitioner.address-state": "MN",
    }
    assert await found(client, "Patient", params) == {"both"}


async def test_chaining_several_levels(client: httpx.AsyncClient) -> None:
    """search.html#chaining: chains can be repeated: "patient.organization.name" follows Claim ->
    Patient -> Organization (``Claim?patient.organization.name=x``)."""
    await put(
        client,
        {"resourceType": "Organization", "id": "o1", "name": "NHIF"},
        {"resourceType": "Organization", "id": "o2", "name": "Other"},
        pat("p1", managingOrganization={"reference": "Organization/o1"}),
        pat("p2", managingOrganization={"reference": "Organization/o2"}),
        _claim("c1", "Patient/p1"),
        _claim("c2", "Patient/p2"),
    )
    assert await found(client, "Claim", {"patient.organization.name": "nhif"}) == {"c1"}


async def test_chaining_on_a_non_reference_is_refused(client: httpx.AsyncClient) -> None:
    """search.html#chaining: "chaining ... is only possible with reference search parameters";
    ``Patient?name.given=x`` is a 400 naming the parameter."""
    out = await refused(client, "Patient", {"name.family": "x"})
    assert out["issue"][0]["expression"] == ["name.family"]


# ---------------------------------------------------------------------------- reverse chaining


def loinc_obs(id: str, code: str, patient: str) -> dict[str, Any]:
    return obs(id, code={"coding": [{"system": LOINC, "code": code}]}, subject={"reference": patient})


async def test_has_reverse_chaining(client: httpx.AsyncClient) -> None:
    """search.html#has: "GET [base]/Patient?_has:Observation:patient:code=1234-5 ... requests the
    server to return Patient resources, where the patient resource is referred to by at least one
    Observation where the observation has a code of 1234"."""
    await put(
        client,
        pat("p1"),
        pat("p2"),
        pat("p3"),
        loinc_obs("o1", "1234-5", "Patient/p1"),
        loinc_obs("o2", "9999-9", "Patient/p2"),
    )
    assert await found(client, "Patient", {"_has:Observation:patient:code": "1234-5"}) == {"p1"}


async def test_has_nested(client: httpx.AsyncClient) -> None:
    """search.html#has: "_has:Observation:patient:_has:AuditEvent:entity:user=MyUserId ... Patient
    resources, where the patient resource is referred to by at least one Observation ... that is
    referred to by an AuditEvent" (R4's AuditEvent has ``agent``, not ``user``)."""

    def audit(id: str, entity: str, who: str) -> dict[str, Any]:
        return {
            "resourceType": "AuditEvent",
            "id": id,
            "type": {"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "110110"},
            "recorded": "2024-01-01T00:00:00Z",
            "agent": [{"who": {"reference": who}, "requestor": True}],
            "source": {"observer": {"reference": "Device/d1"}},
            "entity": [{"what": {"reference": entity}}],
        }

    await put(
        client,
        pat("p1"),
        pat("p2"),
        {"resourceType": "Practitioner", "id": "MyUserId"},
        loinc_obs("o1", "1234-5", "Patient/p1"),
        loinc_obs("o2", "1234-5", "Patient/p2"),
        audit("a1", "Observation/o1", "Practitioner/MyUserId"),
        audit("a2", "Observation/o2", "Practitioner/someone"),
    )
    params = {"_has:Observation:patient:_has:AuditEvent:entity:agent": "Practitioner/MyUserId"}
    assert await found(client, "Patient", params) == {"p1"}


async def test_has_on_system_search_is_refused_clearly(client: httpx.AsyncClient) -> None:
    """search.html#has defines _has by its examples on one resource type ("return Patient
    resources, where the patient resource is referred to by ...") and does not say what the
    candidate type is in a search across all types. Our choice: refuse it (400 not-supported,
    the parameter named, in lenient mode too); ``_type`` naming one type makes it a type search."""
    await put(client, pat("p1"), loinc_obs("o1", "1234-5", "Patient/p1"))
    out = await refused(client, "", {"_has:Observation:patient:code": "1234-5"})
    assert issue_codes(out) == ["not-supported"]
    assert out["issue"][0]["expression"] == ["_has:Observation:patient:code"]
    out = await refused(client, "", {"_type": "Patient,Group", "_has:Observation:patient:code": "1234-5"})
    assert issue_codes(out) == ["not-supported"]
    body = await searchset(client, "", {"_type": "Patient", "_has:Observation:patient:code": "1234-5"})
    assert matches(body) == ["Patient/p1"]


async def test_has_bad_forms_are_refused(client: httpx.AsyncClient) -> None:
    """search.html#has: the form is ``_has:[type]:[reference parameter]:[parameter]``; a reference
    parameter that cannot point to the searched type, or a missing part, is a 400."""
    out = await refused(client, "Patient", {"_has:Observation:code": "1234-5"})
    assert out["issue"][0]["expression"] == ["_has:Observation:code"]
    out = await refused(client, "Patient", {"_has:Claim:provider:use": "claim"})
    assert out["issue"][0]["expression"] == ["_has:Claim:provider:use"]


# ---------------------------------------------------------------------------- _include / _revinclude


def medreq(id: str, patient: str, requester: str = "Practitioner/dr1") -> dict[str, Any]:
    return {
        "resourceType": "MedicationRequest",
        "id": id,
        "status": "active",
        "intent": "order",
        "medicationCodeableConcept": {"text": "aspirin"},
        "subject": {"reference": patient},
        "requester": {"reference": requester},
    }


def prov(id: str, target: str) -> dict[str, Any]:
    return {
        "resourceType": "Provenance",
        "id": id,
        "target": [{"reference": target}],
        "recorded": "2024-03-01T10:00:00Z",
        "agent": [{"who": {"reference": "Practitioner/dr1"}}],
    }


async def pharmacy(client: httpx.AsyncClient) -> None:
    await put(
        client,
        pat("p1"),
        pat("p2"),
        {"resourceType": "Practitioner", "id": "dr1"},
        medreq("m1", "Patient/p1"),
        medreq("m2", "Patient/p2"),
        prov("pv1", "MedicationRequest/m1"),
        {
            "resourceType": "MedicationDispense",
            "id": "d1",
            "status": "completed",
            "medicationCodeableConcept": {"text": "aspirin"},
            "authorizingPrescription": [{"reference": "MedicationRequest/m1"}],
        },
        {
            "resourceType": "Encounter",
            "id": "e1",
            "status": "finished",
            "class": {"code": "AMB"},
            "subject": {"reference": "Patient/p1"},
        },
    )


async def test_include_patient_of_each_match(client: httpx.AsyncClient) -> None:
    """search.html#include: "GET [base]/MedicationRequest?_include=MedicationRequest:patient ...
    requests all matching MedicationRequests, to include any patient that the medication
    prescriptions in the result set refer to", with search.mode include."""
    await pharmacy(client)
    body = await searchset(
        client, "MedicationRequest", {"_id": "m1", "_include": "MedicationRequest:patient"}
    )
    assert matches(body) == ["MedicationRequest/m1"] and included(body) == ["Patient/p1"]


async def test_revinclude_provenance_target(client: httpx.AsyncClient) -> None:
    """search.html#include: "GET [base]/MedicationRequest?_revinclude=Provenance:target ... return
    all the provenance resources that refer to them"."""
    await pharmacy(client)
    body = await searchset(client, "MedicationRequest", {"_revinclude": "Provenance:target"})
    assert sorted(matches(body)) == ["MedicationRequest/m1", "MedicationRequest/m2"]
    assert included(body) == ["Provenance/pv1"]


async def test_include_iterate(client: httpx.AsyncClient) -> None:
    """search.html#include: "The inclusion process can be iterative, if (and only if) the modifier
    :iterate is included ... GET [base]/MedicationDispense?_include=MedicationDispense:prescription
    &_include:iterate=MedicationRequest:performer" (R4's parameter is ``requester``); without
    :iterate the second step does not happen."""
    await pharmacy(client)
    params = [
        ("_include", "MedicationDispense:prescription"),
        ("_include:iterate", "MedicationRequest:requester"),
    ]
    body = await searchset(client, "MedicationDispense", params)
    assert included(body) == ["MedicationRequest/m1", "Practitioner/dr1"]
    params = [("_include", "MedicationDispense:prescription"), ("_include", "MedicationRequest:requester")]
    body = await searchset(client, "MedicationDispense", params)
    assert included(body) == ["MedicationRequest/m1"]


async def test_include_wildcard_parameter(client: httpx.AsyncClient) -> None:
    """search.html#include: "Both _include and _revinclude use the wild card "*" for the search
    parameter name, indicating that any search parameter of type=reference be included"
    (``_include=MedicationRequest:*``, ``_include=*``)."""
    await pharmacy(client)
    body = await searchset(client, "MedicationRequest", {"_id": "m1", "_include": "MedicationRequest:*"})
    assert included(body) == ["Patient/p1", "Practitioner/dr1"]
    body = await searchset(client, "MedicationRequest", {"_id": "m1", "_include": "*"})
    assert included(body) == ["Patient/p1", "Practitioner/dr1"]


async def test_revinclude_wildcard_parameter_of_a_source_type(client: httpx.AsyncClient) -> None:
    """search.html#include: "[_include|_revinclude]=[resource]:* ... requesting all supported
    reference type search parameters for that resource" (``Patient?_revinclude=Encounter:*``)."""
    await pharmacy(client)
    body = await searchset(client, "Patient", {"_id": "p1", "_revinclude": "Encounter:*"})
    assert included(body) == ["Encounter/e1"]


async def test_revinclude_wildcard_any_source(client: httpx.AsyncClient) -> None:
    """search.html#include: "[_include|_revinclude]=* : the wildcard literal * (asterisk) is
    requesting all resources and references supported by the server": ``_revinclude=*`` adds every
    resource, of any type, that refers to a match."""
    await pharmacy(client)
    body = await searchset(client, "Patient", {"_id": "p1", "_revinclude": "*"})
    assert included(body) == ["Encounter/e1", "MedicationRequest/m1"]
    assert outcome_issues(body) == []
    body = await searchset(client, "MedicationRequest", {"_id": "m1", "_revinclude": "*"})
    assert included(body) == ["MedicationDispense/d1", "Provenance/pv1"]


async def test_revinclude_wildcard_iterate_and_system_search(client: httpx.AsyncClient) -> None:
    """search.html#include: ``_revinclude:iterate=*`` repeats on what was included; on a search
    across types (``[base]?_type=Patient&_revinclude=*``) it works the same."""
    await pharmacy(client)
    body = await searchset(client, "Patient", {"_id": "p1", "_revinclude:iterate": "*"})
    assert included(body) == [
        "Encounter/e1",
        "MedicationDispense/d1",
        "MedicationRequest/m1",
        "Provenance/pv1",
    ]
    body = await searchset(client, "", {"_type": "Patient", "_id": "p2", "_revinclude": "*"})
    assert matches(body) == ["Patient/p2"] and included(body) == ["MedicationRequest/m2"]


async def test_include_per_page(client: httpx.AsyncClient) -> None:
    """search.html#include: "When search results are paged, each page of search results should
    include the matching includes for the resources in each page, so that each page stands alone
    as a coherent package"."""
    await pharmacy(client)
    body = await searchset(
        client, "MedicationRequest", {"_count": "1", "_sort": "_id", "_include": "MedicationRequest:patient"}
    )
    assert matches(body) == ["MedicationRequest/m1"] and included(body) == ["Patient/p1"]
    nxt = link(body, "next")
    assert nxt is not None
    body = await searchset(client, nxt)
    assert matches(body) == ["MedicationRequest/m2"] and included(body) == ["Patient/p2"]


# ---------------------------------------------------------------------------- common parameters


async def test_id(client: httpx.AsyncClient) -> None:
    """search.html#id: "GET [base]/Patient?_id=23 ... This search finds the patient resource with the
    given id (there can only be one resource for a given id)"; ids are case sensitive."""
    await put(client, pat("23"), pat("24"), pat("ab"))
    assert await found(client, "Patient", {"_id": "23"}) == {"23"}
    assert await found(client, "Patient", {"_id": "AB"}) == set()


async def test_lastupdated(client: httpx.AsyncClient) -> None:
    """search.html#lastUpdated: "GET [base]/Observation?_lastUpdated=gt2010-10-01 ... finds any
    observations changed since 1-Oct 2010"."""
    await put(client, obs("o1"))
    assert await found(client, "Observation", {"_lastUpdated": "gt2010-10-01"}) == {"o1"}
    assert await found(client, "Observation", {"_lastUpdated": "lt2010-10-01"}) == set()


async def test_tag_profile_security(client: httpx.AsyncClient) -> None:
    """search.html#tag: "GET [base]/Condition?_tag=http://acme.org/codes|needs-review ...
    GET [base]/DiagnosticReport?_profile=http://hl7.org/fhir/StructureDefinition/lipid ..."
    and ``_security`` - tokens and a uri on Resource.meta."""
    meta = {
        "tag": [{"system": "http://acme.org/codes", "code": "needs-review"}],
        "security": [{"system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "code": "R"}],
        "profile": ["http://hl7.org/fhir/StructureDefinition/lipid"],
    }
    await put(client, pat("p1"), condition("tagged", "x", meta=meta), condition("plain", "x"))
    assert await found(client, "Condition", {"_tag": "http://acme.org/codes|needs-review"}) == {"tagged"}
    assert await found(
        client, "Condition", {"_profile": "http://hl7.org/fhir/StructureDefinition/lipid"}
    ) == {"tagged"}
    assert await found(client, "Condition", {"_security": "R"}) == {"tagged"}


async def test_list(client: httpx.AsyncClient) -> None:
    """search.html#list: "GET [base]/Patient?_list=42 ... returns all the Patient resources
    referred to from the list 42"."""
    await put(
        client,
        pat("p1"),
        pat("p2"),
        pat("p3"),
        {
            "resourceType": "List",
            "id": "42",
            "status": "current",
            "mode": "working",
            "entry": [{"item": {"reference": "Patient/p1"}}, {"item": {"reference": "Patient/p3"}}],
        },
    )
    assert await found(client, "Patient", {"_list": "42"}) == {"p1", "p3"}


# ---------------------------------------------------------------------------- result parameters


async def test_sort_several_keys_and_descending(client: httpx.AsyncClient) -> None:
    """search.html#sort: "GET [base]/Observation?_sort=status,-date,category ... Each item in the
    comma separated list is a search parameter, optionally with a '-' prefix ... descending"."""
    await put(
        client,
        obs("a", status="final", effectiveDateTime="2020-01-01"),
        obs("b", status="final", effectiveDateTime="2021-01-01"),
        obs("c", status="amended", effectiveDateTime="2019-01-01"),
        obs("d", status="preliminary", effectiveDateTime="2022-01-01"),
    )
    body = await searchset(client, "Observation", {"_sort": "status,-date,category"})
    assert matches(body) == ["Observation/c", "Observation/b", "Observation/a", "Observation/d"]
    body = await searchset(client, "Observation", {"_sort": "-date"})
    assert matches(body) == ["Observation/d", "Observation/b", "Observation/a", "Observation/c"]


async def test_count_and_paging_links(client: httpx.AsyncClient) -> None:
    """search.html#count: "_count=[number] ... the number of results per page"; search.html#paginglinks
    / http.html#paging: the "next" link fetches the following page; pages never repeat nor skip."""
    await put(client, *(pat(f"p{i}") for i in range(5)))
    seen: list[str] = []
    body = await searchset(client, "Patient", {"_count": "2"})
    while True:
        page = matches(body)
        assert len(page) <= 2
        seen += page
        nxt = link(body, "next")
        if nxt is None:
            break
        assert nxt.startswith("http://testserver/fhir/Patient?")
        body = await searchset(client, nxt)
    assert sorted(seen) == [f"Patient/p{i}" for i in range(5)]


async def test_total(client: httpx.AsyncClient) -> None:
    """search.html#total: "_total=none ... accurate ... estimate"; our default is none (no total)."""
    await put(client, pat("p1"), pat("p2"), pat("p3"))
    body = await searchset(client, "Patient", {"_count": "1"})
    assert "total" not in body
    body = await searchset(client, "Patient", {"_count": "1", "_total": "accurate"})
    assert body["total"] == 3
    out = await refused(client, "Patient", {"_total": "some"})
    assert out["issue"][0]["expression"] == ["_total"]


async def test_summary_true_and_count(client: httpx.AsyncClient) -> None:
    """search.html#summary: "_summary=true ... Return a limited subset of elements from the
    resource" marked SUBSETTED; "_summary=count: Search only: just return a count of the matching
    resources, without returning the actual matches"."""
    await put(
        client,
        pat(
            "p1",
            text={"status": "generated", "div": '<div xmlns="http://www.w3.org/1999/xhtml">x</div>'},
            maritalStatus={"text": "married"},
        ),
    )
    body = await searchset(client, "Patient", {"_summary": "true"})
    res = body["entry"][0]["resource"]
    assert "maritalStatus" not in res and "name" in res
    assert SUBSETTED in [t.get("code") for t in res["meta"]["tag"]]
    body = await searchset(client, "Patient", {"_summary": "count"})
    assert body["total"] == 1 and not body.get("entry")


async def test_elements(client: httpx.AsyncClient) -> None:
    """search.html#elements: "GET [base]/Patient?_elements=identifier,active,link ... Only elements
    that are listed are to be returned", marked SUBSETTED."""
    await put(client, pat("p1", active=True, identifier=[{"value": "1"}], gender="male"))
    body = await searchset(client, "Patient", {"_elements": "identifier,active,link"})
    res = body["entry"][0]["resource"]
    assert res["active"] is True and res["identifier"] == [{"value": "1"}]
    assert "name" not in res and "gender" not in res
    assert SUBSETTED in [t.get("code") for t in res["meta"]["tag"]]


async def test_type_on_system_search_only(client: httpx.AsyncClient) -> None:
    """search.html#type: "_type ... GET [base]?_type=Observation,Condition"; an unknown type is a 400."""
    out = await refused(client, "", {"_type": "Observation,Nothing"})
    assert out["issue"][0]["expression"] == ["_type"]
