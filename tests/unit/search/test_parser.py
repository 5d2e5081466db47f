"""parse_search (search/parser.py): query strings to the IR, per search.html (R4)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from fhir_server.errors import InvalidError
from fhir_server.search.index import MAX_INSTANT
from fhir_server.search.ir import (
    Chain,
    Clause,
    DateValue,
    IdClause,
    Include,
    LastUpdatedClause,
    MissingValue,
    NumberValue,
    ParamRef,
    QuantityValue,
    ReferenceValue,
    SearchQuery,
    SortKey,
    StringValue,
    TokenValue,
    UriValue,
)
from fhir_server.search.types.date import date_range

Parse = Callable[..., SearchQuery]


def only(q: SearchQuery) -> Clause:
    (c,) = q.criteria
    assert isinstance(c, Clause)
    return c


def test_string_default_exact_contains(parse: Parse) -> None:
    c = only(parse("Patient", "name=Évé"))
    assert c == Clause(ParamRef("name", "string"), None, (StringValue("eve", "Évé"),))
    assert only(parse("Patient", "name:exact=Eve")).modifier == "exact"
    assert only(parse("Patient", "name:contains=ev")).modifier == "contains"


def test_multivalue_and_or(parse: Parse) -> None:
    """search.html 3.1.1.4.1 Composite/multiple values: repeated parameters AND, commas OR."""
    q = parse("Patient", "given=a,b&given=c")
    assert [len(c.values) for c in q.criteria] == [2, 1]  # type: ignore[union-attr]


def test_escaping_commas_pipes(parse: Parse) -> None:
    """search.html "Escaping Search Parameters": \\, \\| \\$."""
    c = only(parse("Patient", r"name=a\,b,c"))
    assert [v.raw for v in c.values] == ["a,b", "c"]  # type: ignore[union-attr]
    c = only(parse("Patient", r"identifier=http://x|a\|b"))
    assert c.values == (TokenValue("http://x", "a|b"),)


def test_token_forms(parse: Parse) -> None:
    """search.html 3.1.1.4.8 token: [code], [system]|[code], |[code], [system]|."""
    assert only(parse("Patient", "identifier=123")).values == (TokenValue(None, "123"),)
    assert only(parse("Patient", "identifier=http://acme.org|123")).values == (
        TokenValue("http://acme.org", "123"),
    )
    assert only(parse("Patient", "identifier=|123")).values == (TokenValue("", "123"),)
    assert only(parse("Patient", "identifier=http://acme.org|")).values == (
        TokenValue("http://acme.org", None),
    )
    c = only(parse("Condition", "code:text=Héart  Attack"))
    assert c.modifier == "text" and c.values == (TokenValue(None, None, "heart attack"),)
    assert only(parse("Patient", "gender:not=male")).modifier == "not"


def test_missing_on_every_type(parse: Parse) -> None:
    for q in (
        "name:missing=true",
        "gender:missing=false",
        "birthdate:missing=true",
        "organization:missing=true",
    ):
        c = only(parse("Patient", q))
        assert c.modifier == "missing"
        assert isinstance(c.values[0], MissingValue)
    with pytest.raises(InvalidError) as exc:
        parse("Patient", "name:missing=maybe")
    assert exc.value.expression == ("name:missing",)


def test_date_prefixes_and_precisions(parse: Parse) -> None:
    """search.html 3.1.1.4.2 date: every value is a range from its precision."""
    for prefix in ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap"):
        (v,) = only(parse("Patient", f"birthdate={prefix}2013-01")).values
        assert isinstance(v, DateValue) and v.prefix == prefix
        assert (v.lo, v.hi) == date_range("2013-01")
    (v,) = only(parse("Patient", "birthdate=2013-01-14T10:00")).values
    assert isinstance(v, DateValue)
    assert v.hi - v.lo == 60_000_000 - 1
    (v,) = only(parse("Observation", "date=2013-01-14T10:00:00.25+01:00")).values
    assert isinstance(v, DateValue)
    assert v.lo == date_range("2013-01-14T09:00:00.25Z")[0]
    assert v.hi - v.lo == 10_000 - 1


def test_last_updated_and_id(parse: Parse) -> None:
    q = parse("Patient", "_id=a,b&_lastUpdated=gt2020-01-01")
    assert q.criteria[0] == IdClause(("a", "b"))
    lu = q.criteria[1]
    assert isinstance(lu, LastUpdatedClause) and lu.values[0].prefix == "gt"


@pytest.mark.parametrize(
    "query",
    [
        "birthdate=notadate",
        "birthdate=2021-02-30",
        "birthdate=2021-13",
        "birthdate=xx2021",
        "birthdate=2021-01-01T25:00",
        "_lastUpdated=yesterday",
        "probability=abc",
        "probability=1.2.3",
        "value-quantity=5.4|mg",
        "_count=abc",
        "_count=-1",
        "_total=all",
        "_summary=maybe",
        "subject=Foo/1",
        "subject:Patient=Group/1",
        "identifier=|",
    ],
)
def test_bad_values_are_invalid(parse: Parse, query: str) -> None:
    rtype = (
        "RiskAssessment"
        if query.startswith("probability")
        else "Observation"
        if "quantity" in query
        else "Patient"
    )
    if query.startswith("subject"):
        rtype = "Observation"
    with pytest.raises(InvalidError) as exc:
        parse(rtype, query)
    err = exc.value
    assert err.status == 400 and err.issue_code in ("invalid", "value")
    assert err.expression == (query.split("=")[0],)


def test_unknown_and_unsupported_lenient_vs_strict(parse: Parse) -> None:
    """Unknown parameters are ignored (lenient) or refused (strict); a known parameter with a
    modifier it does not take is refused either way (ignoring it would widen the search)."""
    q = parse("Patient", "foo=1&_has:Observation:patient:zz=x&_text=a&name=x")
    assert q.ignored == ("foo", "_has:Observation:patient:zz", "_text")
    assert len(q.criteria) == 1
    for bad in ("foo=1", "name:sounds=x", "gender:exact=x", "_content=x"):
        with pytest.raises(InvalidError) as exc:
            parse("Patient", bad, strict=True)
        assert exc.value.expression == (bad.split("=")[0],)
    for bad in ("name:sounds=x", "gender:exact=x", "_id:exact=1", "_lastUpdated:missing=true"):
        with pytest.raises(InvalidError) as exc:
            parse("Patient", bad)
        assert exc.value.expression == (bad.split("=")[0],) and exc.value.issue_code == "not-supported"


def test_number_implicit_range(parse: Parse) -> None:
    """search.html 3.1.1.4.4 number: 100 -> [99.5, 100.5); 100.00 -> [99.995, 100.005)."""
    (v,) = only(parse("RiskAssessment", "probability=100")).values
    assert v == NumberValue("eq", 100.0, 99.5, 100.5)
    (v,) = only(parse("RiskAssessment", "probability=100.00")).values
    assert isinstance(v, NumberValue) and (v.lo, v.hi) == (99.995, 100.005)
    (v,) = only(parse("RiskAssessment", "probability=1e2")).values
    assert v == NumberValue("eq", 100.0, 50.0, 150.0)  # 1 significant figure (R5 wording)
    (v,) = only(parse("RiskAssessment", "probability=lt100")).values
    assert isinstance(v, NumberValue) and v.prefix == "lt"


def test_quantity_forms(parse: Parse) -> None:
    """search.html 3.1.1.4.5 quantity: 5.4|http://unitsofmeasure.org|mg, 5.4||mg, 5.4."""
    (v,) = only(parse("Observation", "value-quantity=5.4|http://unitsofmeasure.org|mg")).values
    assert isinstance(v, QuantityValue)  # (+ the UCUM canonical form when ucumvert is installed)
    assert (v.prefix, v.value, v.lo, v.hi, v.system, v.code) == (
        "eq",
        5.4,
        5.35,
        5.45,
        "http://unitsofmeasure.org",
        "mg",
    )
    (v,) = only(parse("Observation", "value-quantity=le5.4||mg")).values
    assert isinstance(v, QuantityValue) and (v.prefix, v.system, v.code) == ("le", None, "mg")
    (v,) = only(parse("Observation", "value-quantity=5.4")).values
    assert isinstance(v, QuantityValue) and v.system is None and v.code is None


def test_reference_forms(parse: Parse) -> None:
    """search.html 3.1.1.4.9 reference: [id], [type]/[id], [url], :[type], :identifier."""
    assert only(parse("Observation", "subject=23")).values == (ReferenceValue(None, None, "23"),)
    assert only(parse("Observation", "subject=Patient/23")).values == (
        ReferenceValue("Patient/23", "Patient"),
    )
    c = only(parse("Observation", "subject:Patient=23"))
    assert (c.modifier, c.values) == ("type", (ReferenceValue("Patient/23", "Patient"),))
    assert only(parse("Observation", "subject=http://example.org/fhir/Patient/23")).values == (
        ReferenceValue("Patient/23", "Patient"),
    )
    assert only(parse("Observation", "subject=http://other/fhir/Patient/23")).values == (
        ReferenceValue("http://other/fhir/Patient/23"),
    )
    assert only(parse("Observation", "subject=Patient/23/_history/2")).values == (
        ReferenceValue("Patient/23", "Patient", None, "2"),
    )
    c = only(parse("Observation", "subject:identifier=urn:npi|42"))
    assert (c.modifier, c.values) == ("identifier", (TokenValue("urn:npi", "42"),))
    assert only(parse("PlanDefinition", "depends-on=http://x.org/Library/l|1.0")).values == (
        ReferenceValue("http://x.org/Library/l", None, None, "1.0"),
    )


def test_uri_modifiers(parse: Parse) -> None:
    c = only(parse("ValueSet", "url:below=http://acme.org/fhir/"))
    assert (c.modifier, c.values) == ("below", (UriValue("http://acme.org/fhir/"),))
    assert only(parse("ValueSet", "url:above=http://acme.org/fhir/ValueSet/1")).modifier == "above"


def test_common_parameters(parse: Parse) -> None:
    q = parse("Patient", "_tag=urn:t|a&_profile=http://p&_security=R&_source=urn:s")
    assert [c.param for c in q.criteria] == [  # type: ignore[union-attr]
        ParamRef("_tag", "token"),
        ParamRef("_profile", "uri"),
        ParamRef("_security", "token"),
        ParamRef("_source", "uri"),
    ]


def test_chaining(parse: Parse) -> None:
    """search.html 3.1.1.6 Chained parameters."""
    c = only(parse("Observation", "subject:Patient.name=peter"))
    assert c.chain == Chain(
        "Patient", Clause(ParamRef("name", "string"), None, (StringValue("peter", "peter"),))
    )
    assert c.values == () and c.param.code == "subject"
    c = only(parse("Encounter", "patient.name=peter"))  # one target type
    assert c.chain is not None and c.chain.target_type == "Patient"
    c = only(parse("DiagnosticReport", "subject:Patient.organization.name=acme"))  # two levels
    assert c.chain is not None and c.chain.clause.chain is not None
    assert c.chain.clause.chain.target_type == "Organization"
    c = only(parse("Observation", "subject:Patient._id=1,2"))
    assert c.chain is None and c.values == (
        ReferenceValue("Patient/1", "Patient"),
        ReferenceValue("Patient/2", "Patient"),
    )
    c = only(parse("Observation", "subject.birthdate=ge2000"))  # only Patient has birthdate
    assert c.chain is not None and c.chain.target_type == "Patient"


def test_ambiguous_chain_is_refused(parse: Parse) -> None:
    with pytest.raises(InvalidError) as exc:
        parse("Observation", "subject.name=peter")
    assert "ambiguous" in exc.value.diagnostics and "subject:" in exc.value.diagnostics
    assert exc.value.expression == ("subject.name",)
    with pytest.raises(InvalidError):
        parse("Patient", "name.family=x")  # not a reference parameter


def test_result_parameters(parse: Parse) -> None:
    q = parse(
        "Patient",
        "_count=10&_sort=-birthdate,name,_id&_total=accurate&_summary=count&_elements=name,gender"
        "&_cursor=abc&_format=json&_pretty=true",
    )
    assert q.count == 10
    assert q.sort == (SortKey("birthdate", "date", True), SortKey("name", "string"), SortKey("_id", "_id"))
    assert (q.total, q.summary, q.elements, q.cursor) == ("accurate", "count", ("name", "gender"), "abc")
    assert q.criteria == () and q.ignored == ()
    assert parse("Patient", "").count == 50
    assert parse("Patient", "_count=5000").count == 1000
    assert parse("Patient", "_count=0").count == 0
    assert parse("Patient", "_sort=-_lastUpdated").sort == (SortKey("_lastUpdated", "_lastUpdated", True),)
    assert parse("Patient", "_sort=nope").ignored == ("_sort=nope",)
    with pytest.raises(InvalidError):
        parse("Patient", "_sort=nope", strict=True)


def test_includes(parse: Parse) -> None:
    q = parse(
        "MedicationRequest",
        "_include=MedicationRequest:patient&_revinclude:iterate=Provenance:target&_include=*",
    )
    assert q.includes == (
        Include("MedicationRequest", "patient"),
        Include("Provenance", "target", None, True, True),
        Include("MedicationRequest", "*"),
    )
    with pytest.raises(InvalidError):
        parse("MedicationRequest", "_include=MedicationRequest:status")


def test_system_search_only_common_parameters(parse: Parse) -> None:
    q = parse((), "_id=1&_tag=x&name=y")
    assert q.ignored == ("name",)
    assert len(q.criteria) == 2
    q = parse(("Patient", "Practitioner"), "name=y&gender=male")
    assert len(q.criteria) == 2  # both types define them with the same type
    q = parse((), "_type=Patient,Practitioner&family=x")
    assert q.resource_types == ("Patient", "Practitioner") and len(q.criteria) == 1
    with pytest.raises(InvalidError):
        parse((), "_type=Nope")


def test_empty_value_is_ignored(parse: Parse) -> None:
    assert parse("Patient", "name=").ignored == ("name",)


def test_date_ranges_clamp_to_instant_limits(parse: Parse) -> None:
    (v,) = only(parse("Patient", "birthdate=9999")).values
    assert isinstance(v, DateValue) and v.hi == MAX_INSTANT
