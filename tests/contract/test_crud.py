"""Contract: create, read, vread, update, read_many (http.html#read, #vread, #update).

Every backend must pass these; they use the storage protocol only.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from fhir_server.search.index import IndexEntries
from fhir_server.storage.protocol import Method, Store, StoredVersion, WriteOp

T0 = 1_700_000_000_000_000  # 2023-11-14T22:13:20Z in microseconds


def instant(us: int) -> str:
    moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=us)
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")


def make_op(
    rt: str,
    id: str,
    version: int,
    *,
    expected: int | None = None,
    us: int | None = None,
    index: IndexEntries | None = None,
    method: Method = "PUT",
    body: bytes | None = None,
) -> WriteOp:
    us = T0 + version * 1_000_000 if us is None else us
    if body is None and method != "DELETE":
        meta = {"versionId": str(version), "lastUpdated": instant(us)}
        body = json.dumps({"resourceType": rt, "id": id, "meta": meta}).encode()
    return WriteOp(
        resource_type=rt,
        id=id,
        version=version,
        expected_version=version - 1 if expected is None else expected,
        last_updated=instant(us),
        last_updated_us=us,
        body=b"" if method == "DELETE" else (body or b""),
        index=index or {},
        method=method,
    )


async def write(store: Store, op: WriteOp) -> None:
    async with store.transaction() as tx:
        await tx.write(op)


def summary(v: StoredVersion | None) -> tuple[str, str, int, bool] | None:
    return None if v is None else (v.resource_type, v.id, v.version, v.deleted)


async def test_read_of_a_resource_never_created_is_none(store: Store) -> None:
    assert await store.read("Patient", "nobody") is None
    assert await store.vread("Patient", "nobody", 1) is None


async def test_create_then_read_serves_the_stored_bytes(store: Store) -> None:
    body = b'{"resourceType":"Observation","id":"o1","valueQuantity":{"value":1.50,"unit":"mg"}}'
    op = make_op("Observation", "o1", 1, expected=0, body=body, method="POST")
    await write(store, op)

    got = await store.read("Observation", "o1")
    assert got is not None
    assert got.body == body  # the JSON text, byte for byte (1.50 keeps its digits)
    assert (got.version, got.deleted) == (1, False)
    v1 = await store.vread("Observation", "o1", 1)
    assert v1 is not None and v1.body == body and v1.method == "POST"  # history knows how
    assert (got.last_updated, got.last_updated_us) == (op.last_updated, op.last_updated_us)


async def test_update_moves_the_current_version_and_keeps_the_old_one(store: Store) -> None:
    await write(store, make_op("Patient", "p1", 1, expected=0))
    await write(store, make_op("Patient", "p1", 2, expected=1))
    await write(store, make_op("Patient", "p1", 3, expected=2))

    current = await store.read("Patient", "p1")
    assert summary(current) == ("Patient", "p1", 3, False)
    for v in (1, 2, 3):
        old = await store.vread("Patient", "p1", v)
        assert old is not None and old.version == v
        assert json.loads(old.body)["meta"]["versionId"] == str(v)
    assert await store.vread("Patient", "p1", 4) is None
    assert await store.vread("Patient", "p1", 0) is None


async def test_ids_are_scoped_by_type(store: Store) -> None:
    await write(store, make_op("Patient", "same", 1, expected=0))
    await write(store, make_op("Practitioner", "same", 1, expected=0))
    await write(store, make_op("Practitioner", "same", 2, expected=1))
    assert summary(await store.read("Patient", "same")) == ("Patient", "same", 1, False)
    assert summary(await store.read("Practitioner", "same")) == ("Practitioner", "same", 2, False)


async def test_read_many_returns_current_non_deleted_versions(store: Store) -> None:
    await write(store, make_op("Patient", "a", 1, expected=0))
    await write(store, make_op("Patient", "a", 2, expected=1))
    await write(store, make_op("Patient", "b", 1, expected=0))
    await write(store, make_op("Patient", "gone", 1, expected=0))
    await write(store, make_op("Patient", "gone", 2, expected=1, method="DELETE"))
    await write(store, make_op("Organization", "a", 1, expected=0))

    got = await store.read_many([("Patient", "a"), ("Patient", "b"), ("Patient", "gone"), ("Patient", "zz")])
    assert sorted(summary(v) for v in got) == [("Patient", "a", 2, False), ("Patient", "b", 1, False)]
    assert await store.read_many([]) == []


async def test_ready_and_name(store: Store) -> None:
    assert await store.ready() is True
    assert store.name
    assert isinstance(store.supports_transactions, bool)
