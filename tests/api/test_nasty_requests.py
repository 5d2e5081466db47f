"""Nasty requests never give a 500: every error is an OperationOutcome with a 4xx status."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .conftest import FHIR_JSON, patient

NASTY: list[tuple[str, str, dict[str, Any]]] = [
    ("GET", "Patient?_sort=unknownparam", {"headers": {"Prefer": "handling=strict"}}),
    ("GET", "Patient?_count=-1", {}),
    ("GET", "Patient?_count=\u00b2", {}),  # a Unicode digit that int() refuses (found by hypothesis)
    ("GET", "Patient/x/_history?_count=\u00b2", {}),
    ("GET", "Patient/x/_history/\u00b2", {}),
    ("GET", "Patient?_cursor=!!!notacursor", {}),
    ("GET", "Patient?_cursor=WzEsMiwzLDQsNSw2XQ", {}),
    ("GET", "Patient?birthdate=ge", {}),
    ("GET", "Patient?birthdate=2020-13-45", {}),
    ("GET", "Patient?name:nonsense=x", {"headers": {"Prefer": "handling=strict"}}),
    ("GET", "Patient?general-practitioner:Unicorn=1", {"headers": {"Prefer": "handling=strict"}}),
    ("GET", "Patient?_total=maybe", {}),
    ("GET", "Patient?_summary=sometimes", {}),
    ("GET", "Observation?value-quantity=abc", {}),
    ("GET", "Observation?value-quantity=5|||", {}),
    ("GET", "Patient/x/_history/abc", {}),
    ("GET", "Patient/x/_history/1/extra", {}),
    ("GET", "Patient/_history?_since=2020-13-45", {}),
    ("GET", "Patient/_history?_count=x", {}),
    ("GET", "_history?_at=tomorrow", {}),
    ("PUT", "Patient/ok", {"json": ["array"]}),
    ("PUT", "Patient/ok", {"json": patient(id="ok"), "headers": {"If-Match": "garbage"}}),
    (
        "PATCH",
        "Patient/ok",
        {"json": {"op": "not a list"}, "headers": {"Content-Type": "application/json-patch+json"}},
    ),
    (
        "PATCH",
        "Patient/ok",
        {
            "json": [{"op": "explode", "path": "/x"}],
            "headers": {"Content-Type": "application/json-patch+json"},
        },
    ),
    ("PATCH", "Patient/ok", {"json": {"resourceType": "Patient"}}),
    ("DELETE", "Patient?", {}),
    ("DELETE", "Patient?unknown=1", {}),
    (
        "POST",
        "",
        {
            "json": {
                "resourceType": "Bundle",
                "type": "transaction",
                "entry": [
                    {"request": {"method": "POST", "url": "Unicorn"}, "resource": {"resourceType": "Unicorn"}}
                ],
            }
        },
    ),
    (
        "POST",
        "",
        {
            "json": {
                "resourceType": "Bundle",
                "type": "transaction",
                "entry": [{"request": {"method": "FLY", "url": "Patient"}}],
            }
        },
    ),
    ("POST", "", {"json": {"resourceType": "Bundle", "type": "batch", "entry": "nope"}}),
    (
        "POST",
        "",
        {
            "json": {
                "resourceType": "Bundle",
                "type": "transaction",
                "entry": [
                    {
                        "request": {"method": "POST", "url": "Patient"},
                        "resource": patient(),
                        "fullUrl": "urn:uuid:1",
                    },
                    {
                        "request": {"method": "POST", "url": "Coverage"},
                        "resource": {
                            "resourceType": "Coverage",
                            "status": "active",
                            "beneficiary": {"reference": "Patient?identifier=none"},
                            "payor": [{"reference": "urn:uuid:1"}],
                        },
                    },
                ],
            }
        },
    ),
    ("POST", "Patient", {"content": b"\xff\xfe\x00garbage", "headers": FHIR_JSON}),
    (
        "POST",
        "Patient",
        {"content": b'{"resourceType":"Patient","name":[{"family":"a"}],"name":[]}', "headers": FHIR_JSON},
    ),
    ("POST", "Patient", {"content": b'{"resourceType":"Patient","birthDate":1974}', "headers": FHIR_JSON}),
    ("POST", "Patient", {"content": b'{"resourceType":"Patient","active":"yes"}', "headers": FHIR_JSON}),
    (
        "POST",
        "Patient",
        {
            "content": b'{"resourceType":"Patient","deceasedBoolean":true,"deceasedDateTime":"2020"}',
            "headers": FHIR_JSON,
        },
    ),
    (
        "POST",
        "Patient/_search",
        {"content": b"\xff=\xfe", "headers": {"Content-Type": "application/x-www-form-urlencoded"}},
    ),
    ("POST", "Patient/_search", {"json": {"a": 1}}),
    ("GET", "Patient/%00", {}),
    ("PUT", "Patient/" + "x" * 300, {"json": patient(id="x" * 300)}),
]


@pytest.mark.parametrize(("method", "path", "kwargs"), NASTY, ids=[f"{m} {p[:40]}" for m, p, _ in NASTY])
async def test_nasty_request_gives_an_operation_outcome(
    client: httpx.AsyncClient, method: str, path: str, kwargs: dict[str, Any]
) -> None:
    kwargs = dict(kwargs)
    headers = {**FHIR_JSON, **kwargs.pop("headers", {})}
    await client.put("Patient/ok", json=patient(id="ok"), headers=FHIR_JSON)
    r = await client.request(method, path, headers=headers, **kwargs)
    assert 400 <= r.status_code < 500, (r.status_code, r.text[:300])
    body = r.json()
    assert body["resourceType"] == "OperationOutcome"
    assert body["issue"][0]["severity"] in ("error", "fatal")
    assert (await client.get("Patient/ok")).json()["meta"]["versionId"] == "1"


query_text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30)
names = st.sampled_from(
    [
        "name",
        "birthdate",
        "identifier",
        "gender",
        "_id",
        "_lastUpdated",
        "general-practitioner",
        "_sort",
        "_count",
        "address-city",
        "telecom",
        "name:exact",
        "birthdate:missing",
        "gender:not",
        "_elements",
        "organization:Organization.name",
        "deceased",
        "_summary",
        "link",
        "phone",
    ]
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(params=st.lists(st.tuples(names, query_text), max_size=4))
async def test_random_search_queries_never_fail_with_a_500(
    client: httpx.AsyncClient, params: list[tuple[str, str]]
) -> None:
    r = await client.get("Patient", params=params)
    assert r.status_code in (200, 400), (params, r.status_code, r.text[:300])
    assert r.json()["resourceType"] in ("Bundle", "OperationOutcome")
