"""Date values (search/types/date.py): ranges from precision and the R4 prefix table."""

from __future__ import annotations

import pytest

from fhir_server.search.index import MAX_INSTANT, MIN_INSTANT, DateEntry
from fhir_server.search.ir import DateValue
from fhir_server.search.types import ParseContext, ValueParseError
from fhir_server.search.types.date import DAY, approximate, date_range, match_value, parse

CTX = ParseContext("date")
NOW = date_range("2013-06-14")[0]


def r(text: str) -> tuple[int, int]:
    return date_range(text)


def target(text: str) -> DateEntry:
    return DateEntry(*r(text))


def period(start: str | None, end: str | None) -> DateEntry:
    return DateEntry(r(start)[0] if start else MIN_INSTANT, r(end)[1] if end else MAX_INSTANT)


def m(query: str, entry: DateEntry, now: int = NOW) -> bool:
    return match_value(parse(query, None, CTX), entry, now)


def test_precisions() -> None:
    assert r("1970") == (0, 365 * DAY - 1)
    assert r("1970-02") == (31 * DAY, 59 * DAY - 1)
    assert r("2000-02-29") == (r("2000-02")[0] + 28 * DAY, r("2000-03")[0] - 1)
    assert r("1970-01-01T00:01") == (60_000_000, 120_000_000 - 1)
    assert r("1970-01-01T00:00:01") == (1_000_000, 2_000_000 - 1)
    assert r("1970-01-01T00:00:00.5") == (500_000, 600_000 - 1)
    assert r("1970-01-01T00:00:00.123456789Z") == (123_456, 123_456)
    assert r("1970-01-01T01:00:00+01:00") == (0, 999_999)
    assert r("1969-12-31T19:00:00-05:00") == (0, 999_999)
    assert r("1970-01-01T00:00:00") == r("1970-01-01T00:00:00Z")  # no timezone: UTC
    assert r("0001")[0] == MIN_INSTANT and r("9999")[1] == MAX_INSTANT


@pytest.mark.parametrize(
    "bad",
    [
        "2021-02-29",
        "2021-02-30",
        "2020-13",
        "2020-00",
        "2020-01-32",
        "20",
        "2020-1-1",
        "2020-01-01T24:00",
        "x",
    ],
)
def test_invalid_dates(bad: str) -> None:
    with pytest.raises(ValueParseError):
        date_range(bad)


def test_bad_prefix() -> None:
    with pytest.raises(ValueParseError):
        parse("xx2020", None, CTX)
    assert parse("2020", None, CTX).prefix == "eq"


def test_space_for_unencoded_plus() -> None:
    assert parse("2013-01-14T10:00:00 01:00", None, CTX) == parse("2013-01-14T10:00:00+01:00", None, CTX)


def test_search_html_date_eq_examples() -> None:
    """search.html 3.1.1.4.2 date, "[parameter]=eq2013-01-14": "2013-01-14T00:00 matches
    (obviously)", "2013-01-14T10:00 matches", "2013-01-15T00:00 does not match - it's not in
    the range"."""
    assert m("eq2013-01-14", target("2013-01-14T00:00:00Z"))
    assert m("eq2013-01-14", target("2013-01-14T10:00:00Z"))
    assert not m("eq2013-01-14", target("2013-01-15T00:00:00Z"))
    assert m("2013-01-14", target("2013-01-14"))


def test_search_html_date_ne_examples() -> None:
    """ "[parameter]=ne2013-01-14": "2013-01-15T00:00 matches - it's not in the range",
    "2013-01-14T00:00 does not match - it's in the range"."""
    assert m("ne2013-01-14", target("2013-01-15T00:00:00Z"))
    assert not m("ne2013-01-14", target("2013-01-14T00:00:00Z"))
    assert not m("ne2013-01-14", target("2013-01-14T10:00:00Z"))


def test_search_html_date_lt_gt_examples() -> None:
    """ "[parameter]=lt2013-01-14T10:00": "2013-01-14 matches, because it includes the part of
    14-Jan 2013 before 10am"; "gt2013-01-14T10:00": "2013-01-14 matches, because it includes
    the part of 14-Jan 2013 after 10am"."""
    assert m("lt2013-01-14T10:00", target("2013-01-14"))
    assert m("gt2013-01-14T10:00", target("2013-01-14"))
    assert not m("gt2013-01-14T10:00", target("2013-01-14T10:00"))
    assert not m("lt2013-01-14T10:00", target("2013-01-14T10:00"))


def test_search_html_date_ge_le_examples() -> None:
    """ "ge2013-03-14": "from 21-Jan 2013 onwards" is included because that period may
    include times after 14-Mar 2013; "le2013-03-14": "from 21-Jan 2013 onwards" is included
    because that period may include times before 14-Mar 2013."""
    onwards = period("2013-01-21", None)
    assert m("ge2013-03-14", onwards)
    assert m("le2013-03-14", onwards)
    assert m("ge2013-03-14", target("2013-03-14"))  # "or ... fully contains"
    assert m("le2013-03-14", target("2013-03-14"))
    assert not m("ge2013-03-14", target("2013-03-13"))
    assert not m("le2013-03-14", target("2013-03-15"))


def test_search_html_date_sa_eb_examples() -> None:
    """ "sa2013-03-14": "from 15-Mar 2013 onwards" is included because that period starts
    after 14-Mar 2013; "from 21-Jan 2013 onwards" is not included because that period
    starts before 14-Mar 2013; "before and including 21-Jan 2013" is not included.
    "eb2013-03-14": only "before and including 21-Jan 2013" is included."""
    after, onwards, before = (
        period("2013-03-15", None),
        period("2013-01-21", None),
        period(None, "2013-01-21"),
    )
    assert [m("sa2013-03-14", p) for p in (after, onwards, before)] == [True, False, False]
    assert [m("eb2013-03-14", p) for p in (after, onwards, before)] == [False, False, True]


def test_search_html_date_ap_examples() -> None:
    """ "ap2013-03-14": "14-Mar 2013 is included - as it exactly matches", "21-Jan 2013 is not
    included because that is not near 14-Mar 2013", "15-Jun 2015 is not included as it is not
    near 14-Mar 2013" (10% of the gap to now; now = 14-Jun 2013 here: about 9 days)."""
    assert m("ap2013-03-14", target("2013-03-14"))
    assert m("ap2013-03-14", target("2013-03-20"))
    assert not m("ap2013-03-14", target("2013-01-21"))
    assert not m("ap2013-03-14", target("2015-06-15"))
    lo, hi = approximate(*r("2013-03-14"), NOW)
    assert lo < r("2013-03-14")[0] and hi > r("2013-03-14")[1]


def test_period_targets_eq() -> None:
    """A Period is a range: eq needs the search range to contain all of it."""
    assert m("eq2013", period("2013-02-01", "2013-03-01"))
    assert not m("eq2013", period("2013-02-01", None))
    assert m("ne2013", period("2013-02-01", None))


def test_parse_value() -> None:
    assert parse("ge2013-01", None, CTX) == DateValue("ge", *r("2013-01"))
