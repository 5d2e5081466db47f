"""Patient-deceased (``Patient.deceased.exists() and Patient.deceased != false``) without fhirpathpy."""

from __future__ import annotations

import pytest

from fhir_server.search.extract import Extractor
from fhir_server.search.fhirpath_paths import _fhirpath_program
from fhir_server.search.index import TokenEntry
from fhir_server.search.registry import SearchRegistry

EXPRESSION = "Patient.deceased.exists() and Patient.deceased != false"


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({}, "false"),
        ({"deceasedBoolean": False}, "false"),
        ({"deceasedBoolean": True}, "true"),
        ({"deceasedDateTime": "2015-02-14T13:42:00+10:00"}, "true"),
    ],
)
def test_deceased_agrees_with_fhirpath(extra: dict[str, object], expected: str) -> None:
    patient = {"resourceType": "Patient", **extra}
    entries = Extractor(SearchRegistry.from_definitions()).extract(patient)["deceased"]
    assert [e.code for e in entries if isinstance(e, TokenEntry)] == [expected]
    assert [str(v[0]).lower() for v in _fhirpath_program(EXPRESSION)(patient)] == [expected]
