"""Query-string values taken from index entries: escaping, dates at several precisions,
numbers at the precision they were written with, accent-stripped strings."""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from fhir_server.search.index import MAX_INSTANT, MIN_INSTANT, DateEntry, Entry, StringEntry, TokenEntry

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
EAT = timedelta(hours=3)  # East Africa Time, the examples' offset
PRECISIONS = ("year", "month", "day", "second")
PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap")


def escape(value: str) -> str:
    """search.html, Escaping Search Parameters: ``\\``, ``,``, ``$`` and ``|``."""
    for c in ("\\", ",", "$", "|"):
        value = value.replace(c, "\\" + c)
    return value


def strip_accents(value: str) -> str:
    decomposed = unicodedata.normalize("NFKD", value)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def moment(us: int) -> datetime:
    return EPOCH + timedelta(microseconds=us)


def date_text(us: int, precision: str) -> str:
    """``us`` as a search date: ``2024``, ``2024-03``, ``2024-03-04`` (UTC), or to the
    second in East Africa Time (``2024-03-04T09:30:00+03:00``)."""
    dt = moment(us)
    if precision == "year":
        return f"{dt.year:04d}"
    if precision == "month":
        return f"{dt.year:04d}-{dt.month:02d}"
    if precision == "day":
        return f"{dt.year:04d}-{dt.month:02d}-{dt.day:02d}"
    local = dt + EAT
    return local.strftime("%Y-%m-%dT%H:%M:%S") + "+03:00"


def date_anchor(lo: int, hi: int) -> int | None:
    """A finite instant of a date entry (its start, or its end for an open start)."""
    if lo != MIN_INSTANT:
        return lo
    return hi if hi != MAX_INSTANT else None


def number_text(value: float, lo: float, hi: float) -> str:
    """The number as written, recovered from its implicit range (``1500.50`` has the range
    ``[1500.495, 1500.505)``)."""
    width = hi - lo
    decimals = max(0, round(-math.log10(width))) if width > 0 else 0
    if decimals == 0 and not value.is_integer():
        return repr(value)
    return f"{value:.{decimals}f}"


def inner_value(entries: Sequence[Entry]) -> str | None:
    """A value matching the first entry, as a query string value (for chains)."""
    e = entries[0]
    if isinstance(e, StringEntry):
        return escape(e.exact)
    if isinstance(e, TokenEntry) and e.code:
        return escape(e.code)
    if isinstance(e, DateEntry) and (a := date_anchor(e.lo, e.hi)) is not None:
        return "ge" + date_text(a, "day")
    return None
