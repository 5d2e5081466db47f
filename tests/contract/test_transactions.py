"""Contract: units of work (``Store.transaction()``), the base of batch/transaction bundles
(http.html#transaction): reads see the unit's own writes; all writes commit or none.

A backend that cannot write several resources atomically says so with
``supports_transactions = False`` (MongoDB without a replica set): its units allow any
number of reads and one write, and refuse a second write with ``NotSupportedError``
before applying anything of it.
"""

from __future__ import annotations

import pytest

from fhir_server.errors import NotSupportedError
from fhir_server.search.index import TokenEntry
from fhir_server.search.ir import Clause, ParamRef, SearchQuery, TokenValue
from fhir_server.storage.protocol import HistoryRequest, Store, VersionConflict

from .test_crud import make_op, summary, write


class Boom(Exception):
    pass


async def nothing_stored(store: Store, *keys: tuple[str, str]) -> bool:
    for rt, id in keys:
        if await store.read(rt, id) is not None or await store.vread(rt, id, 1) is not None:
            return False
        if (await store.history(HistoryRequest(rt, id))).items:
            return False
    return True


async def test_a_read_inside_the_unit_sees_its_write(store: Store) -> None:
    async with store.transaction() as tx:
        assert await tx.read("Patient", "p1") is None
        await tx.write(make_op("Patient", "p1", 1, expected=0))
        assert summary(await tx.read("Patient", "p1")) == ("Patient", "p1", 1, False)
    assert summary(await store.read("Patient", "p1")) == ("Patient", "p1", 1, False)


async def test_a_unit_that_fails_after_its_write_leaves_nothing(store: Store) -> None:
    with pytest.raises(Boom):
        async with store.transaction() as tx:
            await tx.write(make_op("Patient", "p1", 1, expected=0))
            raise Boom
    assert await nothing_stored(store, ("Patient", "p1"))


async def test_an_update_rolled_back_keeps_the_previous_version(store: Store) -> None:
    await write(store, make_op("Patient", "p1", 1, expected=0))
    with pytest.raises(Boom):
        async with store.transaction() as tx:
            await tx.write(make_op("Patient", "p1", 2, expected=1))
            raise Boom
    assert summary(await store.read("Patient", "p1")) == ("Patient", "p1", 1, False)
    assert await store.vread("Patient", "p1", 2) is None
    await write(store, make_op("Patient", "p1", 2, expected=1))  # version 2 is still free


async def test_a_stale_write_in_a_unit_conflicts(store: Store) -> None:
    await write(store, make_op("Patient", "p1", 1, expected=0))
    await write(store, make_op("Patient", "p1", 2, expected=1))
    with pytest.raises(VersionConflict):
        async with store.transaction() as tx:
            await tx.write(make_op("Patient", "p1", 2, expected=1))
    assert summary(await store.read("Patient", "p1")) == ("Patient", "p1", 2, False)


async def test_several_writes_commit_together_or_are_refused(store: Store) -> None:
    a, b = make_op("Patient", "a", 1, expected=0), make_op("Organization", "b", 1, expected=0)
    if store.supports_transactions:
        async with store.transaction() as tx:
            await tx.write(a)
            await tx.write(b)
            assert summary(await tx.read("Organization", "b")) == ("Organization", "b", 1, False)
        assert summary(await store.read("Patient", "a")) == ("Patient", "a", 1, False)
        assert summary(await store.read("Organization", "b")) == ("Organization", "b", 1, False)
    else:
        with pytest.raises(NotSupportedError) as info:
            async with store.transaction() as tx:
                await tx.write(a)
                await tx.write(b)
        assert "replica set" in info.value.diagnostics
        assert await nothing_stored(store, ("Patient", "a"), ("Organization", "b"))


async def test_several_writes_roll_back_together(store: Store) -> None:
    await write(store, make_op("Patient", "a", 1, expected=0))
    if not store.supports_transactions:
        pytest.skip(f"{store.name}: no multi-resource units (covered by the refusal test)")
    with pytest.raises(Boom):
        async with store.transaction() as tx:
            await tx.write(make_op("Patient", "a", 2, expected=1))
            await tx.write(make_op("Organization", "b", 1, expected=0))
            raise Boom
    assert summary(await store.read("Patient", "a")) == ("Patient", "a", 1, False)
    assert await nothing_stored(store, ("Organization", "b"))


async def test_a_conflict_on_the_second_write_rolls_back_the_first(store: Store) -> None:
    await write(store, make_op("Patient", "a", 1, expected=0))
    if not store.supports_transactions:
        pytest.skip(f"{store.name}: no multi-resource units (covered by the refusal test)")
    with pytest.raises(VersionConflict):
        async with store.transaction() as tx:
            await tx.write(make_op("Organization", "b", 1, expected=0))
            await tx.write(make_op("Patient", "a", 3, expected=2))
    assert await nothing_stored(store, ("Organization", "b"))


async def test_search_keys_inside_a_unit(store: Store) -> None:
    for id, value in (("p1", "42"), ("p2", "7")):
        ident = {"identifier": [TokenEntry("urn:sys", value)]}
        await write(store, make_op("Patient", id, 1, expected=0, index=ident))
    query = SearchQuery(
        ("Patient",),
        (Clause(ParamRef("identifier", "token"), None, (TokenValue("urn:sys", "42"),)),),
    )
    async with store.transaction() as tx:
        assert await tx.search_keys(query, 10) == [("Patient", "p1")]
        assert await tx.search_keys(query, 0) == []
