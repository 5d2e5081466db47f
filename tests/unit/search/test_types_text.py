"""String, token and uri values (search/types/string.py, token.py, uri.py) and normalize."""

from __future__ import annotations

from typing import Any

import pytest

from fhir_server.search.index import Entry, StringEntry, TokenEntry, UriEntry
from fhir_server.search.normalize import norm
from fhir_server.search.types import ExtractContext, ParseContext, ValueParseError, split_unescaped, unescape
from fhir_server.search.types import string as string_t
from fhir_server.search.types import token as token_t
from fhir_server.search.types import uri as uri_t

CTX = ParseContext("p")
XCTX = ExtractContext()


def test_norm() -> None:
    assert norm("  Éve   SMITH ") == "eve smith"
    assert norm("Ångström") == "angstrom"
    assert norm("Straße") == "strasse"  # casefold
    assert norm("ﬁne") == "fine"  # NFKD compatibility
    assert norm("a\t\nb") == "a b"


def test_escapes() -> None:
    assert split_unescaped(r"a\,b,c", ",") == [r"a\,b", "c"]
    assert split_unescaped(r"s|c\|d", "|", 1) == ["s", r"c\|d"]
    assert unescape(r"a\,b\|c\$d\\e") == "a,b|c$d\\e"
    assert unescape(r"a\b") == r"a\b"


def sm(query: str, value: str, modifier: str | None = None) -> bool:
    v = string_t.parse(query, modifier, CTX)
    return string_t.match_value(v, modifier, StringEntry(norm(value), value))


def test_search_html_string_examples() -> None:
    """search.html 3.1.1.4.7 string: "given=eve: any patients with a name containing a given
    part with "eve" at the start of the name. This would include patients with the given name
    "Eve", "Evelyn""; "given:contains=eve: ... "Eve", "Evelyn", and also "Severine""; "given:exact=Eve:
    ... "Eve", but not "eve" or "Evelyn"" (and accents: "Évé" matches given=eve)."""
    assert sm("eve", "Eve") and sm("eve", "Evelyn") and not sm("eve", "Severine")
    assert sm("eve", "Évelyne")
    assert all(sm("eve", n, "contains") for n in ("Eve", "Evelyn", "Severine"))
    assert sm("Eve", "Eve", "exact") and not sm("Eve", "eve", "exact") and not sm("Eve", "Evelyn", "exact")


def test_string_extraction() -> None:
    out: list[Entry] = []
    string_t.extract(
        (
            {"family": "Van Dyke", "given": ["A", "B"], "prefix": ["Dr"], "text": "Dr A B Van Dyke"},
            "HumanName",
            None,
        ),
        XCTX,
        out,
    )
    string_t.extract(
        ({"line": ["1 Main St"], "city": "Springfield", "postalCode": "12345"}, "Address", None), XCTX, out
    )
    string_t.extract(("Plain", "markdown", None), XCTX, out)
    string_t.extract(({"family": "Untyped"}, None, None), XCTX, out)
    assert [e.exact for e in out] == [  # type: ignore[union-attr]
        "Van Dyke",
        "A",
        "B",
        "Dr",
        "Dr A B Van Dyke",
        "1 Main St",
        "Springfield",
        "12345",
        "Plain",
        "Untyped",
    ]
    with pytest.raises(ValueParseError):
        string_t.parse("", None, CTX)


def tok(
    node: Any, fhir_type: str | None, binding: str | None = None, ctx: ExtractContext = XCTX
) -> list[Entry]:
    out: list[Entry] = []
    token_t.extract((node, fhir_type, binding), ctx, out)
    return out


def test_token_extraction() -> None:
    cc = {
        "coding": [{"system": "http://loinc.org", "code": "1", "display": "Héart"}, {"code": "2"}],
        "text": "Heart Rate",
    }
    assert tok(cc, "CodeableConcept") == [
        TokenEntry("http://loinc.org", "1", "heart"),
        TokenEntry(None, "2"),
        TokenEntry(None, None, "heart rate"),
    ]
    assert tok({"system": "s", "code": "c"}, "Coding") == [TokenEntry("s", "c")]
    ident = {"system": "urn:x", "value": "9", "type": {"text": "MRN"}}
    assert tok(ident, "Identifier") == [TokenEntry("urn:x", "9", "mrn")]
    assert tok({"system": "phone", "value": "555"}, "ContactPoint") == [TokenEntry(None, "555")]
    assert tok(True, "boolean") == [TokenEntry(None, "true")]
    assert tok("abc", "id") == [TokenEntry(None, "abc")]
    vs = {
        "http://hl7.org/fhir/ValueSet/administrative-gender": {
            "http://hl7.org/fhir/administrative-gender": frozenset({"male"})
        }
    }
    ctx = ExtractContext(valuesets=vs)
    assert tok("male", "code", "http://hl7.org/fhir/ValueSet/administrative-gender", ctx) == [
        TokenEntry("http://hl7.org/fhir/administrative-gender", "male")
    ]
    assert tok("nope", "code", "http://hl7.org/fhir/ValueSet/administrative-gender", ctx) == [
        TokenEntry(None, "nope")
    ]
    # untyped (fhirpathpy) values are recognised by shape
    assert tok({"coding": [{"code": "x"}]}, None) == [TokenEntry(None, "x")]
    assert tok({"system": "urn:x", "value": "1"}, None) == [TokenEntry("urn:x", "1")]
    assert tok({"system": "email", "value": "a@b"}, None) == [TokenEntry(None, "a@b")]


def tm(query: str, entry: TokenEntry, modifier: str | None = None) -> bool:
    return token_t.match_value(token_t.parse(query, modifier, CTX), modifier, entry)


def test_search_html_token_examples() -> None:
    """search.html 3.1.1.4.8 token: "[code]: the value of [code] matches a Coding.code or
    Identifier.value irrespective of the value of the system property"; "[system]|[code]: ...
    and the value of [system] matches the system property"; "|[code]: ... and the
    Coding/Identifier has no system property"; "[system]|: any element where the value of
    [system] matches the system property"."""
    acme = TokenEntry("http://acme.org/patient", "2345")
    bare = TokenEntry(None, "2345")
    assert tm("2345", acme) and tm("2345", bare)
    assert tm("http://acme.org/patient|2345", acme) and not tm("http://acme.org/patient|2345", bare)
    assert tm("|2345", bare) and not tm("|2345", acme)
    assert tm("http://acme.org/patient|", acme) and not tm("http://acme.org/patient|", bare)
    assert not tm("2346", acme) and not tm("2345", TokenEntry("http://acme.org/patient", None, "2345"))


def test_search_html_token_text_example() -> None:
    """ "GET [base]/Condition?code:text=headache: Search for any condition with a code that has a
    text "headache" associated with it (either in the text, or a display)"."""
    assert tm("headache", TokenEntry(None, None, "headache, severe"), "text")
    assert tm("HEADACHE", TokenEntry("s", "c", "headache"), "text")
    assert not tm("headache", TokenEntry(None, "headache"), "text")


def um(query: str, value: str, modifier: str | None = None) -> bool:
    return uri_t.match_value(uri_t.parse(query, modifier, CTX), modifier, UriEntry(value))


def test_search_html_uri_examples() -> None:
    """search.html 3.1.1.4.10 uri: "url=http://acme.org/fhir/ValueSet/123"; "url:below=
    http://acme.org/fhir/ matches any value set in that namespace"; "url:above=
    http://acme.org/fhir/ValueSet/123/_history/5 ... any value set above a given root"."""
    vs = "http://acme.org/fhir/ValueSet/123"
    assert um(vs, vs) and not um(vs, vs + "4") and not um(vs.upper(), vs)
    assert um("http://acme.org/fhir/", vs, "below") and not um("http://acme.org/other/", vs, "below")
    assert um(vs + "/_history/5", vs, "above") and not um(vs, vs + "/_history/5", "above")
    out: list[Entry] = []
    uri_t.extract(("urn:x", "uri", None), XCTX, out)
    uri_t.extract(({"x": 1}, None, None), XCTX, out)
    assert out == [UriEntry("urn:x")]
