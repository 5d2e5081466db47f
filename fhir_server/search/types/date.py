"""``date`` parameters (search.html R4 3.1.1.4.2 and Prefixes 3.1.1.4.1.3).

"Date parameters may be used with the date, dateTime, instant, Period, or Timing data
types. Every date search parameter value is treated as a range": the target and the
search value both become closed ranges ``[lo, hi]`` of microseconds (UTC) from their
precision (``2020`` covers the whole year). Times without a timezone are taken as UTC.
A Period is ``[start.lo, end.hi]``, open ends being MIN/MAX_INSTANT. A Timing: "the
specified scheduling details are ignored and only the outer limits matter", so one range
spanning its events and ``repeat.boundsPeriod``.

Prefix semantics (search.html, Prefixes table, "Range" column), search value [slo, shi]
against a target [tlo, thi] — see ``match_value``.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, cast

from ..index import MAX_INSTANT, MIN_INSTANT, DateEntry, Entry
from ..ir import DateValue, Prefix
from . import ExtractContext, Node, ParseContext, ValueParseError, split_prefix, unescape

MODIFIERS = frozenset({"missing"})

SECOND = 1_000_000
MINUTE = 60 * SECOND
DAY = 86_400 * SECOND

_DATE_RE = re.compile(
    r"(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?"
    r"(Z|[+-]\d{2}:\d{2})?)?)?)?"
)
_SPACE_TZ = re.compile(r"T[0-9:.]+ \d{2}:\d{2}$")
_DAYS_IN_MONTH = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def days_from_civil(y: int, m: int, d: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm)."""
    y -= m <= 2
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _leap(y: int) -> bool:
    return y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)


def _clamp(v: int) -> int:
    return MIN_INSTANT if v < MIN_INSTANT else MAX_INSTANT if v > MAX_INSTANT else v


def date_range(text: str) -> tuple[int, int]:
    """The ``[lo, hi]`` range (µs, UTC, inclusive) a FHIR date/dateTime/instant covers.

    Raises ValueParseError on bad syntax or impossible dates (``2021-02-30``)."""
    m = _DATE_RE.fullmatch(text)
    if m is None:
        raise ValueParseError(f"'{text}' is not a valid date (expected YYYY[-MM[-DD[Thh:mm[:ss[.f]][tz]]]])")
    ys, ms, ds, hs, mins, ss, fs, tz = m.groups()
    y = int(ys)
    if ms is None:
        lo = days_from_civil(y, 1, 1) * DAY
        return _clamp(lo), _clamp(days_from_civil(y + 1, 1, 1) * DAY - 1)
    mo = int(ms)
    if not 1 <= mo <= 12:
        raise ValueParseError(f"'{text}' is not a valid date (month {mo})")
    if ds is None:
        lo = days_from_civil(y, mo, 1) * DAY
        nxt = days_from_civil(y + 1, 1, 1) if mo == 12 else days_from_civil(y, mo + 1, 1)
        return _clamp(lo), _clamp(nxt * DAY - 1)
    d = int(ds)
    dim = 29 if mo == 2 and _leap(y) else _DAYS_IN_MONTH[mo - 1]
    if not 1 <= d <= dim:
        raise ValueParseError(f"'{text}' is not a valid date (day {d} of month {mo})")
    day = days_from_civil(y, mo, d) * DAY
    if hs is None:
        return _clamp(day), _clamp(day + DAY - 1)
    h, mi = int(hs), int(mins)
    if h > 23 or mi > 59:
        raise ValueParseError(f"'{text}' is not a valid time")
    lo = day + h * 3600 * SECOND + mi * MINUTE
    if ss is None:
        width = MINUTE
    else:
        s = int(ss)
        if s > 60:
            raise ValueParseError(f"'{text}' is not a valid time")
        lo += min(s, 59) * SECOND
        if fs is None:
            width = SECOND
        else:
            lo += int((fs + "00000")[:6])
            width = 10 ** (6 - len(fs)) if len(fs) < 6 else 1
    if tz is not None and tz != "Z":
        th, tm = int(tz[1:3]), int(tz[4:6])
        if th > 14 or tm > 59:
            raise ValueParseError(f"'{text}' has an invalid timezone")
        offset = (th * 3600 + tm * 60) * SECOND
        lo = lo - offset if tz[0] == "+" else lo + offset
    return _clamp(lo), _clamp(lo + width - 1)


@lru_cache(maxsize=65536)
def _target_range(text: str) -> tuple[int, int] | None:
    try:
        return date_range(text)
    except ValueParseError:
        return None


def _period(value: dict[str, Any]) -> tuple[int, int] | None:
    start, end = value.get("start"), value.get("end")
    lo_r = _target_range(start) if isinstance(start, str) else None
    hi_r = _target_range(end) if isinstance(end, str) else None
    if lo_r is None and hi_r is None:
        return None
    lo = lo_r[0] if lo_r else MIN_INSTANT
    hi = hi_r[1] if hi_r else MAX_INSTANT
    return (lo, hi) if lo <= hi else (hi, lo)


def _timing(value: dict[str, Any]) -> tuple[int, int] | None:
    ranges: list[tuple[int, int]] = []
    events = value.get("event")
    if isinstance(events, list):
        for ev in events:
            r = _target_range(ev) if isinstance(ev, str) else None
            if r:
                ranges.append(r)
    repeat = value.get("repeat")
    if isinstance(repeat, dict):
        bounds = repeat.get("boundsPeriod")
        if isinstance(bounds, dict):
            r = _period(bounds)
            if r:
                ranges.append(r)
    if not ranges:
        return None
    return min(r[0] for r in ranges), max(r[1] for r in ranges)


def extract(node: Node, ctx: ExtractContext, out: list[Entry]) -> None:
    value, fhir_type, _ = node
    r: tuple[int, int] | None
    if isinstance(value, str):
        r = _target_range(value)
    elif not isinstance(value, dict):
        return
    elif fhir_type == "Period" or (fhir_type is None and ("start" in value or "end" in value)):
        r = _period(value)
    elif fhir_type == "Timing" or (fhir_type is None and ("event" in value or "repeat" in value)):
        r = _timing(value)
    else:
        return
    if r is not None:
        out.append(DateEntry(r[0], r[1]))


def parse(raw: str, modifier: str | None, ctx: ParseContext) -> DateValue:
    """``[prefix]YYYY[-MM[-DD[Thh:mm[:ss[.fff]][Z|±hh:mm]]]]`` -> the value's own range
    (``ap`` is widened at match time, see ``approximate``)."""
    prefix, rest = split_prefix(unescape(raw), ctx.code)
    if " " in rest and _SPACE_TZ.search(rest):
        rest = rest.replace(" ", "+")  # an unencoded "+" in the query string arrives as a space
    try:
        lo, hi = date_range(rest)
    except ValueParseError as exc:
        raise ValueParseError(f"Invalid date value '{raw}' for parameter '{ctx.code}': {exc}") from None
    return DateValue(cast(Prefix, prefix), lo, hi)


def approximate(lo: int, hi: int, now_us: int) -> tuple[int, int]:
    """The ``ap`` window: search.html, Prefixes: "the recommended value for the
    approximation is 10% of the stated value (or for a date, 10% of the gap between now
    and the date)" -> each bound moves away by 10% of its distance to now."""
    return _clamp(lo - abs(now_us - lo) // 10), _clamp(hi + abs(now_us - hi) // 10)


def match_range(prefix: str, slo: int, shi: int, tlo: int, thi: int) -> bool:
    """search.html R4, Prefixes ("Range" column), search range [slo, shi], target [tlo, thi]:

    * eq: "the range of the search value fully contains the range of the target value"
    * ne: "the range of the search value does not fully contain the range of the target value"
    * gt: "the range above the search value intersects (i.e. overlaps) with the range of
      the target value" -> thi > shi
    * lt: "the range below the search value intersects (i.e. overlaps) with the range of
      the target value" -> tlo < slo
    * ge: "the range above the search value intersects (i.e. overlaps) with the range of
      the target value, or the range of the search value fully contains the range of the
      target value"
    * le: "the range below the search value intersects (i.e. overlaps) with the range of
      the target value or the range of the search value fully contains the range of the
      target value"
    * sa: "the range of the search value does not overlap with the range of the target
      value, and the range above the search value contains the range of the target value"
      -> tlo > shi
    * eb: "the range of the search value does not overlap with the range of the target
      value, and the range below the search value contains the range of the target value"
      -> thi < slo
    * ap: "the range of the search value overlaps with the range of the target value",
      the search range widened by ``approximate`` (callers pass the widened range).
    """
    if prefix == "eq":
        return slo <= tlo and thi <= shi
    if prefix == "ne":
        return not (slo <= tlo and thi <= shi)
    if prefix == "gt":
        return thi > shi
    if prefix == "lt":
        return tlo < slo
    if prefix == "ge":
        return thi > shi or (slo <= tlo and thi <= shi)
    if prefix == "le":
        return tlo < slo or (slo <= tlo and thi <= shi)
    if prefix == "sa":
        return tlo > shi
    if prefix == "eb":
        return thi < slo
    if prefix == "ap":
        return tlo <= shi and thi >= slo
    return False


def match_value(value: DateValue, entry: DateEntry, now_us: int) -> bool:
    lo, hi = value.lo, value.hi
    if value.prefix == "ap":
        lo, hi = approximate(lo, hi, now_us)
    return match_range(value.prefix, lo, hi, entry.lo, entry.hi)


def sort_key(entries: list[Entry], descending: bool) -> int | None:
    """Ascending: the earliest ``lo``; descending: the latest ``hi``."""
    if descending:
        his = [e.hi for e in entries if isinstance(e, DateEntry)]
        return max(his) if his else None
    los = [e.lo for e in entries if isinstance(e, DateEntry)]
    return min(los) if los else None
