"""Index entries -> rows of the SQLite index tables."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ...search.contained import CONTAINED_KEY
from ...search.index import (
    CompositeEntry,
    DateEntry,
    Entry,
    IndexEntries,
    NumberEntry,
    PositionEntry,
    QuantityEntry,
    ReferenceEntry,
    StringEntry,
    TokenEntry,
    UriEntry,
)
from ..protocol import StoredVersion

COLUMNS = "type, id, version, lu, lu_text, deleted, body"


def stored_row(row: tuple[Any, ...], method: str = "PUT") -> StoredVersion:
    return StoredVersion(
        resource_type=row[0],
        id=row[1],
        version=row[2],
        last_updated_us=row[3],
        last_updated=row[4],
        deleted=bool(row[5]),
        body=bytes(row[6]),
        method=method,  # type: ignore[arg-type]
    )


INSERT = {
    "ix_token": "INSERT INTO ix_token (pid, system, code, text, rid) VALUES (?, ?, ?, ?, ?)",
    "ix_string": "INSERT INTO ix_string (pid, norm, exact, rid) VALUES (?, ?, ?, ?)",
    "ix_date": "INSERT INTO ix_date (pid, lo, hi, rid) VALUES (?, ?, ?, ?)",
    "ix_number": "INSERT INTO ix_number (pid, value, lo, hi, rid) VALUES (?, ?, ?, ?, ?)",
    "ix_quantity": (
        "INSERT INTO ix_quantity (pid, value, lo, hi, system, code, unit, cvalue, cunit, rid) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    ),
    "ix_reference": (
        "INSERT INTO ix_reference (pid, target, rtype, rid_part, version, rid) VALUES (?, ?, ?, ?, ?, ?)"
    ),
    "ix_uri": "INSERT INTO ix_uri (pid, value, rid) VALUES (?, ?, ?)",
    "ix_position": "INSERT INTO ix_position (pid, lat, lng, x, y, z, rid) VALUES (?, ?, ?, ?, ?, ?, ?)",
    "ix_composite": (
        "INSERT INTO ix_composite (pid, t_system, t_code, system, code, value, lo, hi, unit, norm, exact, "
        "cvalue, cunit, rid) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    ),
}


def _composite_row(e: CompositeEntry) -> tuple[Any, ...]:
    """(t_system, t_code, system, code, value, lo, hi, unit, norm, exact, cvalue, cunit);
    see schema.py."""
    first, second = e.components
    if not isinstance(first, TokenEntry):
        raise TypeError(f"composite entries start with a token, not {first!r}")
    head = (first.system, first.code)
    if isinstance(second, TokenEntry):
        return (*head, second.system, second.code, None, None, None, None, None, None, None, None)
    if isinstance(second, QuantityEntry):
        return (
            *head,
            second.system,
            second.code,
            second.value,
            second.lo,
            second.hi,
            second.unit,
            None,
            None,
            second.cvalue,
            second.cunit,
        )
    if isinstance(second, DateEntry):
        return (*head, None, None, None, second.lo, second.hi, None, None, None, None, None)
    return (*head, None, None, None, None, None, None, second.norm, second.exact, None, None)


def _reference_row(e: ReferenceEntry) -> tuple[Any, ...]:
    """Local references (``Type/id``) also store their id, for plain-id searches and chains."""
    local = e.type is not None and e.target.startswith(e.type + "/") and e.target.count("/") == 1
    id_part = e.target[len(e.type) + 1 :] if local and e.type else None
    return (e.target, e.type, id_part, e.version)


ROW: dict[type, tuple[str, Callable[[Any], tuple[Any, ...]]]] = {
    TokenEntry: ("ix_token", lambda e: (e.system, e.code, e.text)),
    StringEntry: ("ix_string", lambda e: (e.norm, e.exact)),
    DateEntry: ("ix_date", lambda e: (e.lo, e.hi)),
    NumberEntry: ("ix_number", lambda e: (e.value, e.lo, e.hi)),
    QuantityEntry: (
        "ix_quantity",
        lambda e: (e.value, e.lo, e.hi, e.system, e.code, e.unit, e.cvalue, e.cunit),
    ),
    ReferenceEntry: ("ix_reference", _reference_row),
    UriEntry: ("ix_uri", lambda e: (e.value,)),
    CompositeEntry: ("ix_composite", _composite_row),
    PositionEntry: ("ix_position", lambda e: (e.lat, e.lng, e.x, e.y, e.z)),
}


def index_rows(
    entries: IndexEntries, rid: int, pid_of: Callable[[str], int]
) -> dict[str, list[tuple[Any, ...]]]:
    """Group deduplicated rows by table."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    for code, values in entries.items():
        if not values or code == CONTAINED_KEY:  # contained resources: contained.py
            continue
        pid = pid_of(code)
        seen: set[Entry] = set()
        for entry in values:
            if entry in seen:
                continue
            seen.add(entry)
            table, fn = ROW[type(entry)]
            out.setdefault(table, []).append((pid, *fn(entry), rid))
    return out
