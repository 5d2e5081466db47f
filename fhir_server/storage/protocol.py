"""The storage protocol every backend implements, and passes one contract suite with.

Bodies are JSON text (bytes) exactly as they will be served, already carrying ``id``
and ``meta.versionId``/``meta.lastUpdated``; backends never parse or rewrite them.
Versioning rules (http.html#versioning): versions count 1, 2, 3 ... per resource; a
delete is a version too (a tombstone with an empty body).

Optimistic concurrency: every write names the version it expects to replace
(``expected_version``: 0 means "no current version", i.e. create). A backend applies
the write only when the current version still is ``expected_version`` and raises
``VersionConflict`` otherwise; the interaction layer turns that into a retry, a 409
or a 412. Conditional logic (If-None-Exist, conditional update/delete) lives in
``interactions/``, written once over this protocol.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple, Protocol

from ..search.index import IndexEntries
from ..search.ir import SearchQuery

Method = Literal["POST", "PUT", "DELETE", "PATCH"]


class VersionConflict(Exception):
    """The current version is not the one the write expected."""

    def __init__(self, resource_type: str, id: str, expected: int, actual: int) -> None:
        super().__init__(f"{resource_type}/{id}: expected version {expected}, found {actual}")
        self.resource_type, self.id, self.expected, self.actual = resource_type, id, expected, actual


@dataclass(frozen=True)
class StoredVersion:
    resource_type: str
    id: str
    version: int
    last_updated: str  # FHIR instant as served (meta.lastUpdated)
    last_updated_us: int  # microseconds since epoch, for ordering and _since/_at
    deleted: bool
    body: bytes  # JSON text; b"" for a tombstone
    method: Method = "PUT"  # meaningful in history and vread; read() may report "PUT"


@dataclass(frozen=True)
class WriteOp:
    """Create, update or delete (tombstone) one resource at ``version``."""

    resource_type: str
    id: str
    version: int
    # the current version being replaced, tombstones included; 0 only when the resource never existed
    expected_version: int
    last_updated: str
    last_updated_us: int
    body: bytes  # b"" for delete
    index: IndexEntries = field(default_factory=dict)
    method: Method = "PUT"

    @property
    def deleted(self) -> bool:
        return self.method == "DELETE"

    def stored(self) -> StoredVersion:
        """The version this write creates, as a store would return it."""
        return StoredVersion(
            resource_type=self.resource_type,
            id=self.id,
            version=self.version,
            last_updated=self.last_updated,
            last_updated_us=self.last_updated_us,
            deleted=self.deleted,
            body=self.body,
            method=self.method,
        )


class StoredReference(NamedTuple):
    """One reference index entry of a stored resource (``_include`` reads these)."""

    resource_type: str  # the referring resource
    id: str
    param: str  # the reference parameter code
    target: str  # "Patient/123", an absolute URL or a canonical, as indexed
    target_type: str | None  # the referenced type when known


@dataclass(frozen=True)
class HistoryRequest:
    resource_type: str | None = None  # None: system history
    id: str | None = None  # with resource_type: instance history
    since_us: int | None = None  # _since: versions with lastUpdated >= since
    at_us: int | None = None  # _at: the version current at that instant, per resource
    count: int = 50
    cursor: str | None = None


# ``_total=estimate`` (search.html#total): the backends count matches only up to this
# bound; above it ``Page.total`` is the bound and ``Page.total_capped`` is set ("at least").
ESTIMATE_BOUND = 10_000


@dataclass(frozen=True)
class Page:
    """A page of results, newest first for history, query order for search.

    ``total``: None unless asked (``_total=accurate`` exact; ``estimate`` exact up to
    ``ESTIMATE_BOUND``, then the bound with ``total_capped``, or a backend's cheap
    estimate, see the backend)."""

    items: list[StoredVersion]
    next_cursor: str | None = None
    total: int | None = None
    total_capped: bool = False  # total is a lower bound (an estimate stopped counting)


class Transaction(Protocol):
    """A unit of work: ``read`` sees the unit's own writes; all writes commit or none.

    ``search_keys`` sees committed data and, where the backend can (SQLite, MongoDB
    transactions), the unit's own writes. A unit whose body raised is abandoned: the
    caller starts a new one to retry.
    """

    async def read(self, resource_type: str, id: str) -> StoredVersion | None: ...

    async def search_keys(self, query: SearchQuery, limit: int) -> list[tuple[str, str]]:
        """(type, id) of current, non-deleted resources matching ``query`` (at most ``limit``)."""
        ...

    async def write(self, op: WriteOp) -> None:
        """Apply ``op``; raise ``VersionConflict`` when the current version differs."""
        ...


class Store(Protocol):
    name: str
    supports_transactions: bool  # False: multi-resource atomic writes are impossible here

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def ready(self) -> bool: ...

    def transaction(self) -> AbstractAsyncContextManager[Transaction]: ...

    async def read(self, resource_type: str, id: str) -> StoredVersion | None:
        """The current version (possibly a tombstone), or None when never created."""
        ...

    async def vread(self, resource_type: str, id: str, version: int) -> StoredVersion | None: ...

    async def read_many(self, keys: Sequence[tuple[str, str]]) -> list[StoredVersion]:
        """Current, non-deleted versions for ``keys`` (missing ones skipped), in no set order."""
        ...

    async def history(self, request: HistoryRequest) -> Page: ...

    async def references_of(
        self, keys: Sequence[tuple[str, str]], params: Sequence[str] | None
    ) -> list[StoredReference]:
        """The reference entries indexed for the current, non-deleted resources ``keys``,
        for the parameter codes ``params`` (every reference parameter when None), in no set order."""
        ...

    async def search(self, query: SearchQuery) -> Page:
        """Current, non-deleted resources matching ``query``, one page; ``total`` when asked."""
        ...

    async def reverse_references(
        self, source_type: str, param: str | None, targets: Sequence[str], limit: int
    ) -> list[StoredVersion]:
        """Resources of ``source_type`` (any type when ``"*"``) whose reference ``param`` (any
        when None) points to a target."""
        ...

    async def explain(self, query: SearchQuery) -> dict[str, Any]:
        """How the backend would run ``query`` (``_explain``): JSON data naming the backend
        and giving the compiled query and, where the database offers it, its plan."""
        ...
