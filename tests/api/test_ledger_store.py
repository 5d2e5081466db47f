"""The consumption ledger stored as an Account (scheme/ledger.py): round trip, profile,
optimistic concurrency, and the same claim applied twice."""

from __future__ import annotations

from decimal import Decimal as D

import httpx
import pytest

from fhir_server.insurance.ledger import Amounts, ClaimConsumption, apply
from fhir_server.scheme.ledger import load_ledger, save_ledger
from fhir_server.server import Server
from fhir_server.storage.protocol import VersionConflict


def server_of(client: httpx.AsyncClient) -> Server:
    return client._transport.app.state.server  # type: ignore[attr-defined, no-any-return]


CLAIM = ClaimConsumption(
    "clm-1",
    "p1",
    quantities={("service", "A1"): D(1), ("item", "0182"): D("12.5")},
    categories={"consultation": D("1500.50")},
    deducted=Amounts(g=D(500)),
    remunerated=Amounts(g=D("1500.50"), op=D(200)),
)


async def test_round_trip_through_an_account_that_meets_the_ledger_profile(client: httpx.AsyncClient) -> None:
    server = server_of(client)
    async with server.store.transaction() as tx:
        ledger = await load_ledger(tx, "pol-1")
        assert ledger.version == 0 and not ledger.insurees
        assert (await save_ledger(server, tx, await load_ledger(tx, "pol-empty"))).version == 1  # nothing yet
        saved = await save_ledger(server, tx, apply(ledger, CLAIM))
    assert saved.version == 1
    async with server.store.transaction() as tx:
        again = await load_ledger(tx, "pol-1")
    assert again.version == 1 and again.claims == {"clm-1"}
    mine = again.insuree("p1")
    assert mine.quantity("item", "0182") == D("12.5") and mine.quantity("service", "A1") == 1
    assert mine.count("consultation") == 1 and mine.amount("consultation") == D("1500.50")
    assert mine.deducted == Amounts(g=D(500)) and mine.remunerated == Amounts(g=D("1500.50"), op=D(200))
    r = await client.get("Account/ledger-pol-1")
    assert r.status_code == 200
    body = r.json()
    assert body["coverage"][0]["coverage"]["reference"] == "Coverage/pol-1"
    v = await client.post("Account/$validate", json=body)
    assert not [i for i in v.json()["issue"] if i["severity"] in ("error", "fatal")], v.json()


async def test_applying_the_same_claim_twice_changes_nothing(client: httpx.AsyncClient) -> None:
    server = server_of(client)
    async with server.store.transaction() as tx:
        saved = await save_ledger(server, tx, apply(await load_ledger(tx, "pol-2"), CLAIM))
    async with server.store.transaction() as tx:
        ledger = await load_ledger(tx, "pol-2")
        assert apply(ledger, CLAIM) is ledger
    assert ledger.insuree("p1") == saved.insuree("p1")


async def test_a_second_writer_gets_a_version_conflict(client: httpx.AsyncClient) -> None:
    server = server_of(client)
    async with server.store.transaction() as tx:
        first = await load_ledger(tx, "pol-3")
    async with server.store.transaction() as tx:
        second = await load_ledger(tx, "pol-3")
    async with server.store.transaction() as tx:
        await save_ledger(server, tx, apply(first, CLAIM))
    with pytest.raises(VersionConflict):
        async with server.store.transaction() as tx:
            await save_ledger(server, tx, apply(second, ClaimConsumption("clm-2", "p2")))
    # the retry reads the winner's version and succeeds
    async with server.store.transaction() as tx:
        fresh = await load_ledger(tx, "pol-3")
        done = await save_ledger(
            server, tx, apply(fresh, ClaimConsumption("clm-2", "p2", categories={"visit": D(0)}))
        )
    assert done.version == 2 and done.claims == {"clm-1", "clm-2"}


async def test_a_ledger_breaking_its_profile_is_refused(client: httpx.AsyncClient) -> None:
    bad = {
        "resourceType": "Account",
        "meta": {"profile": ["https://openimis.org/fhir/StructureDefinition/ledger"]},
        "status": "active",
        "coverage": [{"coverage": {"reference": "Coverage/pol-9"}}],
        "extension": [
            {
                "url": "https://openimis.org/fhir/StructureDefinition/ledger-amount",
                "extension": [
                    {"url": "insuree", "valueReference": {"reference": "Patient/p1"}},
                    {
                        "url": "kind",
                        "valueCodeableConcept": {
                            "coding": [
                                {
                                    "system": "https://openimis.org/fhir/CodeSystem/ledger-amount-kind",
                                    "code": "bogus",
                                }
                            ]
                        },
                    },
                    {"url": "amount", "valueMoney": {"value": 1}},
                ],
            }
        ],
    }
    r = await client.post("Account", json=bad)
    assert r.status_code == 422, r.text
    assert any("Account.extension[0]" in e for i in r.json()["issue"] for e in i.get("expression", [])), (
        r.text
    )
