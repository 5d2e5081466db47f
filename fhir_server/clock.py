"""Server time for meta.lastUpdated: strictly increasing microseconds, UTC."""

from __future__ import annotations

import threading
import time
from datetime import UTC, date, datetime

_lock = threading.Lock()
_last = 0


def now_us() -> int:
    """Microseconds since the epoch, strictly increasing within the process."""
    global _last
    with _lock:
        t = time.time_ns() // 1000
        if t <= _last:
            t = _last + 1
        _last = t
        return t


def instant(us: int) -> str:
    """FHIR instant text for ``us`` (``2026-11-23T13:08:00.123456Z``)."""
    dt = datetime.fromtimestamp(us // 1_000_000, tz=UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{us % 1_000_000:06d}Z"


def http_date(us: int) -> str:
    """RFC 7231 date for Last-Modified."""
    dt = datetime.fromtimestamp(us // 1_000_000, tz=UTC)
    return dt.strftime("%a, %d %b %Y %H:%M:%S GMT")


def today() -> date:
    """The scheme's current day (UTC): enrolment dates, expiry runs, default service dates."""
    return datetime.now(UTC).date()
