"""Index entries extracted from a resource at write time.

Every search parameter yields a list of typed entries (never "sometimes a scalar").
Backends store them (SQLite: one table per entry kind; MongoDB: one array per kind in
the resource document) and compile the search IR against them. The reference
matcher (``search/matcher.py``) evaluates the same IR against the same entries in
memory, which pins the semantics every backend must reproduce.

Conventions:

* instants are integers: microseconds since 1970-01-01T00:00:00Z (UTC); a date or
  period becomes the closed range ``[lo, hi]`` it covers (``2020`` ->
  ``2020-01-01T00:00:00.000000Z .. 2020-12-31T23:59:59.999999Z``); an open period end
  is ``MIN_INSTANT`` / ``MAX_INSTANT``.
* numbers are floats for indexing only (the stored JSON text keeps exact decimals);
  ``lo``/``hi`` give the implicit range from significant digits (``100`` ->
  ``[99.5, 100.5)``; hi is exclusive).
* strings: ``norm`` is case-folded with accents removed and whitespace collapsed, for
  the default starts-with search and ``:contains``; ``exact`` is the raw value.
* references: ``target`` is ``Type/id`` for local references (absolute URLs on our own
  base are made local), the absolute URL otherwise, or the canonical URL without
  version; ``version`` holds a ``_history`` version or a canonical ``|version``.
"""

from __future__ import annotations

from typing import NamedTuple

MIN_INSTANT = -62135596800_000000  # 0001-01-01T00:00:00Z
MAX_INSTANT = 253402300799_999999  # 9999-12-31T23:59:59.999999Z


class TokenEntry(NamedTuple):
    system: str | None  # None when the element has no system (a code, or a Coding without system)
    code: str | None
    text: str | None = None  # normalised display/text, for :text


class StringEntry(NamedTuple):
    norm: str
    exact: str


class DateEntry(NamedTuple):
    lo: int
    hi: int


class NumberEntry(NamedTuple):
    value: float
    lo: float
    hi: float


class QuantityEntry(NamedTuple):
    value: float
    lo: float
    hi: float
    system: str | None
    code: str | None
    unit: str | None
    cvalue: float | None = None  # UCUM canonical value (search/ucum.py), when the code converts
    cunit: str | None = None  # its canonical (SI base) unit


class ReferenceEntry(NamedTuple):
    target: str  # "Patient/123", "http://other/fhir/Patient/1", or a canonical URL
    type: str | None  # resource type when known ("Patient"), else None
    version: str | None = None


class UriEntry(NamedTuple):
    value: str


class CompositeEntry(NamedTuple):
    """One element of a composite parameter (an Observation, an Observation.component):
    one entry per component, in the order of the SearchParameter's components, taken
    from the same element (an element with several values per component yields one
    CompositeEntry per combination). Supported shapes: ``types/composite.SHAPES``."""

    components: tuple[TokenEntry | StringEntry | DateEntry | QuantityEntry, ...]


class PositionEntry(NamedTuple):
    """A geographic position (``Location.position``, WGS84 degrees) for ``near``, with its unit
    vector on the sphere (``types/near.py``)."""

    lat: float
    lng: float
    x: float
    y: float
    z: float


class ContainedEntry(NamedTuple):
    """One contained resource (``search/contained.py``): its type, id, JSON text and its own
    index entries; kept under ``contained.CONTAINED_KEY``, apart from the container's."""

    type: str
    id: str
    body: bytes
    entries: tuple[tuple[str, tuple[Entry, ...]], ...]

    def entry_map(self) -> IndexEntries:
        return {code: list(values) for code, values in self.entries}


Entry = (
    TokenEntry
    | StringEntry
    | DateEntry
    | NumberEntry
    | QuantityEntry
    | ReferenceEntry
    | UriEntry
    | CompositeEntry
    | PositionEntry
    | ContainedEntry
)

# param code -> entries. Reference.identifier values of a reference parameter are
# stored as TokenEntry under "<code>:identifier"; the Identifier.type codings of a token
# parameter as TokenEntry(type system, "<type code>|<value>") under "<code>:of-type".
IndexEntries = dict[str, list[Entry]]

ENTRY_KIND: dict[type, str] = {
    TokenEntry: "token",
    StringEntry: "string",
    DateEntry: "date",
    NumberEntry: "number",
    QuantityEntry: "quantity",
    ReferenceEntry: "reference",
    UriEntry: "uri",
    CompositeEntry: "composite",
    PositionEntry: "position",
}
