"""Reference values (search/types/reference.py)."""

from __future__ import annotations

import pytest

from fhir_server.definitions import load
from fhir_server.search.index import Entry, ReferenceEntry, TokenEntry
from fhir_server.search.ir import ReferenceValue
from fhir_server.search.types import ExtractContext, ParseContext, ValueParseError
from fhir_server.search.types.reference import extract, match_value, parse, reference_type, split_reference

TYPES = load().resource_types
BASE = "http://example.org/fhir"
CTX = ParseContext("subject", ("Patient", "Group"), BASE, 0, TYPES)
XCTX = ExtractContext(BASE, {}, TYPES)


def ex(value: object, fhir_type: str | None = "Reference") -> tuple[list[Entry], list[Entry]]:
    out: list[Entry] = []
    idents: list[Entry] = []
    extract((value, fhir_type, None), XCTX, out, idents)
    return out, idents


def test_split_reference() -> None:
    assert split_reference("Patient/1", None, TYPES) == ("Patient/1", "Patient", None)
    assert split_reference("Patient/1/_history/2", None, TYPES) == ("Patient/1", "Patient", "2")
    assert split_reference(f"{BASE}/Patient/1", BASE, TYPES) == ("Patient/1", "Patient", None)
    assert split_reference("http://o.org/Patient/1/_history/3", BASE, TYPES) == (
        "http://o.org/Patient/1",
        "Patient",
        "3",
    )
    assert split_reference("#c1", None, TYPES) is None
    assert split_reference("", None, TYPES) is None
    assert split_reference("urn:uuid:1", None, TYPES) == ("urn:uuid:1", None, None)


def test_extraction() -> None:
    assert ex({"reference": "Patient/1"}) == ([ReferenceEntry("Patient/1", "Patient")], [])
    assert ex({"reference": "http://o.org/Patient/1"}) == (
        [ReferenceEntry("http://o.org/Patient/1", None)],
        [],
    )
    assert ex({"reference": "#x"}) == ([], [])
    assert ex({"identifier": {"system": "s", "value": "v", "type": {"text": "NPI"}}}) == (
        [],
        [TokenEntry("s", "v", "npi")],
    )
    assert ex("http://x.org/ValueSet/v|1", "canonical") == (
        [ReferenceEntry("http://x.org/ValueSet/v", None, "1")],
        [],
    )
    assert ex("http://x.org/vs", "uri") == ([ReferenceEntry("http://x.org/vs", None)], [])
    assert ex({"resourceType": "Composition", "id": "c"}, "Composition") == (
        [ReferenceEntry("Composition/c", "Composition")],
        [],
    )


def test_reference_type_for_resolve_is() -> None:
    assert reference_type({"reference": "Patient/1"}, "Reference", XCTX) == "Patient"
    assert reference_type({"reference": "http://o.org/Group/1"}, "Reference", XCTX) == "Group"
    assert reference_type({"identifier": {"value": "1"}, "type": "Patient"}, "Reference", XCTX) == "Patient"
    assert reference_type({"display": "x"}, "Reference", XCTX) is None


def rm(query: str, entry: ReferenceEntry, type_modifier: str | None = None) -> bool:
    return match_value(parse(query, None, CTX, type_modifier), entry)


def test_search_html_reference_examples() -> None:
    """search.html 3.1.1.4.9 reference: "[parameter]=[id] the logical [id] of a resource using a
    local reference (i.e. a relative reference)"; "[parameter]=[type]/[id]"; "[parameter]=[url]
    where the [url] is an absolute URL"; "subject:Patient=23" equals "subject=Patient/23"."""
    local = ReferenceEntry("Patient/23", "Patient")
    remote = ReferenceEntry("http://other.org/fhir/Patient/23", None)
    assert rm("23", local) and not rm("23", remote)
    assert rm("Patient/23", local) and not rm("Group/23", local) and not rm("Patient/24", local)
    assert rm("23", local, "Patient") and not rm("23", local, "Group")
    assert rm("http://other.org/fhir/Patient/23", remote) and not rm(
        "http://other.org/fhir/Patient/23", local
    )
    assert rm(f"{BASE}/Patient/23", local)  # our own base is local
    assert rm("Patient/23/_history/2", ReferenceEntry("Patient/23", "Patient", "2"))
    assert not rm("Patient/23/_history/2", ReferenceEntry("Patient/23", "Patient", "3"))
    assert rm("Patient/23", ReferenceEntry("Patient/23", "Patient", "3"))  # versionless query matches any
    canon = ReferenceEntry("http://x.org/Library/l", None, "1.0")
    assert rm("http://x.org/Library/l", canon) and rm("http://x.org/Library/l|1.0", canon)
    assert not rm("http://x.org/Library/l|2.0", canon)


@pytest.mark.parametrize("bad", ["", "Foo/1", "Patient/", "Patient/1/2", "Patient/1/_history/"])
def test_invalid_references(bad: str) -> None:
    with pytest.raises(ValueParseError):
        parse(bad, None, CTX)
    assert parse("Patient/1", None, CTX) == ReferenceValue("Patient/1", "Patient")
