"""The worked scheme in ``examples/scheme/`` (issue 5): valid, complete, and loadable into an empty server.

* every resource (Bundle entries included) passes the base validation and the profiles it claims,
  and claims one; the policies (Coverage) are what a client sends, completed by the server (value,
  dates, status, members): they meet their profile once stored, checked after loading;
* every reference points to a resource of the folder;
* ``fhir-server load examples/scheme`` stores it all in an empty SQLite file, and loading it
  again creates nothing;
* the policies' value, dates, status and members as the server computes them (DOMAIN.md §5.2,
  §5.3, §5.4; ``fhir_server/scheme/policy.py``), the status after each instalment, the
  arithmetic written out below.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from fhir_server.app import create_app
from fhir_server.cli import load_command, parser
from fhir_server.config import Settings
from fhir_server.insurance.policy_dates import ProductPeriods, StartCycle
from fhir_server.insurance.policy_value import ProductPricing
from fhir_server.insurance.product import AmountLimit, Limitation, product_from_plan
from fhir_server.validation import has_errors, validate_resource
from tests.conformance.test_ig_examples import _issues_text, _profiles

ROOT = Path(__file__).resolve().parents[2]
SCHEME = ROOT / "examples" / "scheme"
BASE = "http://testserver/fhir"
SD = "https://openimis.org/fhir/StructureDefinition/"


def resources() -> Iterator[tuple[str, dict[str, Any]]]:
    for path in sorted(SCHEME.glob("*.json")):
        top = json.loads(path.read_text(encoding="utf-8"))
        if top["resourceType"] == "Bundle":
            for i, entry in enumerate(top["entry"]):
                yield f"{path.name} entry[{i}]", entry["resource"]
        else:
            yield path.name, top


def references(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "reference" and isinstance(value, str):
                yield value
            else:
                yield from references(value)
    elif isinstance(node, list):
        for value in node:
            yield from references(value)


def test_the_scheme_has_every_part_of_the_worked_example() -> None:
    names = [p.name for p in sorted(SCHEME.glob("*.json"))]
    assert names == sorted(names) and all(n[:2].isdigit() and n[2] == "-" for n in names)
    by_type: dict[str, list[dict[str, Any]]] = {}
    for _, r in resources():
        by_type.setdefault(r["resourceType"], []).append(r)
    kinds = {
        r["physicalType"]["coding"][0]["code"] for r in by_type["Location"]
    }  # region → district → ward → village
    assert kinds == {"R", "D", "W", "V"}
    levels = sorted(
        e["valueCodeableConcept"]["coding"][0]["code"]
        for r in by_type["Organization"]
        for e in r.get("extension", [])
        if e["url"] == SD + "facility-level"
    )
    assert levels == ["C", "D", "H"]
    assert len(by_type["InsurancePlan"]) == 2 and len(by_type["Group"]) == 3
    assert len(by_type["ActivityDefinition"]) == 4 and len(by_type["Medication"]) == 2
    assert len(by_type["Coverage"]) == 3 and len(by_type["PaymentNotice"]) == 3
    mollel = next(g for g in by_type["Group"] if g["id"] == "family-mollel")
    assert len(mollel["member"]) == 5
    relationships = sorted(
        e["valueCodeableConcept"]["coding"][0]["code"]
        for p in by_type["Patient"]
        if p["extension"][0]["valueReference"]["reference"] == "Group/family-mollel"
        for e in p["extension"]
        if e["url"] == SD + "insuree-relationship"
    )
    assert relationships == ["4", "4", "7", "8"]  # two children, one "Others", the spouse
    receipts = [(n["request"]["reference"], n["identifier"][0]["value"]) for n in by_type["PaymentNotice"]]
    assert len({r for _, r in receipts}) == len(receipts)
    assert [p for p, _ in receipts].count("Coverage/policy-mollel-2026") == 2  # two instalments
    assert all(r.get("id") for _, r in resources())


def test_the_products_carry_every_product_parameter_of_our_profile() -> None:
    """Read back as the rules read them (``insurance/product.py``), DOMAIN.md §3.6b field by field."""
    plans = {r["id"]: product_from_plan(r) for _, r in resources() if r["resourceType"] == "InsurancePlan"}
    mfp, mbs = plans["product-mfp"], plans["product-mbs"]
    assert (mfp.code, mfp.location, mfp.date_from, mfp.date_to) == (
        "MFP01",
        "Location/district-meru",
        date(2025, 1, 1),
        date(2030, 12, 31),
    )
    assert mfp.pricing == ProductPricing(
        lump_sum=Decimal(40000),
        threshold=4,
        max_members=8,
        premium_adult=Decimal(12000),
        premium_child=Decimal(6000),
        registration_fee=Decimal(2000),
        general_assembly_fee=Decimal(1000),
        enrolment_discount_perc=Decimal(10),
        enrolment_discount_period=2,
        renewal_discount_perc=Decimal(5),
        renewal_discount_period=1,
        has_cycles=True,
    )
    assert mfp.periods == ProductPeriods(
        insurance_period=12,
        administration_period=1,
        start_cycles=(StartCycle.parse("01-01"), StartCycle.parse("01-07")),
        grace_period_enrolment=1,
        grace_period_renewal=1,
        grace_period_payment=2,
    )
    assert (mfp.max_installments, mfp.ceiling_interpretation) == (2, "I")
    assert mfp.amounts["ded-g-policy"] == AmountLimit(Decimal(5000))
    assert mfp.amounts["max-g-policy"] == AmountLimit(Decimal(1000000), Decimal(100000), Decimal(1300000))
    assert mfp.max_counts == {"consultation": 12, "surgery": 1, "delivery": 1, "hospitalization": 2}
    assert set(mfp.max_amounts) == {"surgery", "delivery", "hospitalization"}
    assert set(mfp.covered) == {
        ("service", "C01"),
        ("service", "D01"),
        ("service", "S01"),
        ("service", "H01"),
        ("item", "P001"),
        ("item", "A002"),
    }
    delivery, surgery = mfp.covered[("service", "D01")], mfp.covered[("service", "S01")]
    assert (delivery.normal, delivery.waiting_period_adult) == (Limitation("C", Decimal(80), Decimal(80)), 9)
    assert (surgery.normal.kind if surgery.normal else None, surgery.waiting_period(adult=False)) == ("F", 1)
    assert mfp.covered[("item", "P001")].quantity_limit(adult=False) == 30
    assert mfp.covered[("item", "A002")].ceiling_exclusion(adult=False) == "B"
    # the other product: no cycles, lump sums for the fees, a conversion product at renewal
    assert not mbs.periods.has_cycles and mbs.conversion == "InsurancePlan/product-mfp"
    assert (mbs.pricing.registration_lump_sum, mbs.pricing.general_assembly_lump_sum) == (3000, 2000)
    assert mbs.amounts["max-op-policy"] == AmountLimit(Decimal(150000), Decimal(20000), Decimal(200000))
    assert mbs.covers("service", "S01") is None


#: Resources the server completes before they are stored (a write hook computes what the profile
#: requires: a policy's value, dates, status, members, number and class); their files hold what a
#: client sends, so they are checked against the profile once stored (below), not as written.
COMPLETED = ("Coverage",)


async def test_every_resource_conforms_to_the_profile_it_claims() -> None:
    profiles = _profiles()
    failures: list[str] = []
    for where, resource in resources():
        assert resource.get("meta", {}).get("profile"), f"{where} claims no profile"
        base = validate_resource(resource)
        if has_errors(base):
            failures.append(f"{where}: {_issues_text(base)}")
            continue
        if resource["resourceType"] in COMPLETED:
            continue
        issues = await profiles.validate(resource)
        bad = [i for i in issues if i.severity != "information" or i.details_code == "profile-unknown"]
        if bad:
            failures.append(f"{where}: {_issues_text(bad)}")
    assert not failures, "\n".join(failures)


def test_every_reference_resolves_inside_the_scheme() -> None:
    ids = {f"{r['resourceType']}/{r['id']}" for _, r in resources()}
    dangling = [(where, ref) for where, r in resources() for ref in references(r) if ref not in ids]
    assert not dangling


async def load(db: Path, *paths: Path) -> int:
    args = parser().parse_args(["load", *map(str, paths), "--store", f"sqlite:///{db}", "--base-url", BASE])
    return await load_command(args)


class Reader:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def read(self, reference: str) -> dict[str, Any]:
        response = await self.client.get(reference)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


async def open_client(db: Path) -> tuple[Any, httpx.AsyncClient]:
    app = create_app(Settings(store=f"sqlite:///{db}", base_url=BASE))
    return app, httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE + "/")


async def test_the_scheme_loads_into_an_empty_store_and_again_creates_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "fhir.db"
    assert await load(db, SCHEME) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    expected = {f"{r['resourceType']}/{r['id']}" for _, r in resources()}
    assert {line.split()[1] for line in out.splitlines() if line.startswith("  created")} == expected
    app, client = await open_client(db)
    profiles = _profiles()
    async with app.router.lifespan_context(app), client:
        found = (await client.get("Patient", params={"insurance-number": "100000014"})).json()
        assert [e["resource"]["id"] for e in found["entry"]] == ["elia-mollel"]
        family = await Reader(client).read("Group/family-mollel")
        assert family["quantity"] == 5
        failures = []
        for reference in sorted(expected):  # what is stored meets the profiles, completed policies too
            issues = await profiles.validate(await Reader(client).read(reference))
            bad = [i for i in issues if i.severity != "information" or i.details_code == "profile-unknown"]
            if bad:
                failures.append(f"{reference}: {_issues_text(bad)}")
        assert not failures, "\n".join(failures)
    assert await load(db, SCHEME) == 0
    again = capsys.readouterr().out
    assert " created" not in again.replace(" 0 created", "")
    # a paid policy is written again (its file says status draft, as a client sends it; the server
    # keeps it active and its terms); everything else is found unchanged
    rewritten = {line.split()[1] for line in again.splitlines() if line.startswith("  updated")}
    assert rewritten <= {"Coverage/policy-mollel-2026", "Coverage/policy-lyimo-2026"}


def ext(resource: dict[str, Any], name: str) -> Any:
    values = [
        next(v for k, v in e.items() if k.startswith("value"))
        for e in resource.get("extension", [])
        if e["url"] == SD + name and any(k.startswith("value") for k in e)
    ]
    return values[0] if values else None


def members(coverage: dict[str, Any]) -> dict[str, tuple[str | None, str | None]]:
    out = {}
    for e in coverage.get("extension", []):
        if e["url"] == SD + "policy-member":
            parts = {p["url"]: next(v for k, v in p.items() if k.startswith("value")) for p in e["extension"]}
            out[parts["member"]["reference"]] = (parts.get("effectiveDate"), parts.get("expiryDate"))
    return out


async def test_the_server_computes_the_policies_of_the_scheme(tmp_path: Path) -> None:
    """Expected values by hand (DOMAIN.md §5.2 dates, §5.3 value, §5.4 activation).

    Meru Family Plan (MFP01): lump sum 40,000 for up to 4 related members (threshold 4),
    premium adult 12,000 / child 6,000, registration fee 2,000 and general assembly fee 1,000 per
    member, administration period 1 month, cycles 01-01 and 01-07 with 1 month enrolment grace,
    12 months, enrolment discount 10% when enrolled at least 2 months before the start.

    Mollel (head, spouse, children born 2014 and 2019, an adult "Other", relationship 7),
    enrolled 2026-04-20: reference date 2026-04-20 + 1 month = 2026-05-20; 2026-05-20 − 1 month
    grace = 2026-04-20 is after 01-01 but not after 01-07, so start 2026-07-01, expiry
    2026-07-01 + 12 months − 1 day = 2027-06-30. Value: related adults 2 + children 2 = 4 ≤ 4,
    all in the lump sum: 40,000; the Other adult pays apart: 1 × 12,000; assembly 5 × 1,000 =
    5,000; registration 5 × 2,000 = 10,000; total 67,000; enrolled 2026-04-20 ≤ 2026-07-01 − 2
    months = 2026-05-01, so 10% off: 67,000 − 6,700 = 60,300. Paid 30,000 (2026-04-25): less
    than 60,300, stays Idle (1); then 30,300 (2026-05-10) = the balance 60,300 − 30,000: paid,
    Active (2), effective the later of the pay date and the start: 2026-07-01.

    Lyimo (head and two children) enrolled 2026-06-10: reference 2026-07-10 − 1 month grace =
    2026-06-10 ≤ 2026-07-01, start 2026-07-01, expiry 2027-06-30. Value: 3 ≤ 4 in the lump sum
    40,000 + assembly 3 × 1,000 + registration 3 × 2,000 = 49,000; 2026-06-10 is after
    2026-05-01: no discount. Paid 49,000 on 2026-06-20: Active, effective 2026-07-01.

    Meru Basic Scheme (MBS01): no lump sum, premium adult 10,000, registration lump sum 3,000,
    assembly lump sum 2,000, no cycles, no administration period, 12 months. Swai (two adults)
    enrolled 2026-11-02: start 2026-11-02, expiry 2027-11-01; value 2 × 10,000 + 2,000 + 3,000 =
    25,000; nothing paid: Idle (1), Coverage.status draft.
    """
    db = tmp_path / "fhir.db"
    files = sorted(SCHEME.glob("*.json"))
    first, second = (
        SCHEME / "10-premium-1-mollel-first.json",
        SCHEME / "10-premium-2-mollel-second.json",
    )
    upto_first = files[: files.index(first) + 1]
    assert await load(db, *upto_first) == 0
    app, client = await open_client(db)
    async with app.router.lifespan_context(app), client:
        mollel = await Reader(client).read("Coverage/policy-mollel-2026")
        assert ext(mollel, "policy-value")["value"] == 60300
        assert ext(mollel, "policy-status")["coding"][0]["code"] == "1"
        assert mollel["status"] == "draft"
        assert mollel["period"] == {"start": "2026-07-01", "end": "2027-06-30"}
    assert await load(db, second, *files[files.index(second) + 1 :]) == 0
    app, client = await open_client(db)
    async with app.router.lifespan_context(app), client:
        reader = Reader(client)
        mollel = await reader.read("Coverage/policy-mollel-2026")
        assert ext(mollel, "policy-status")["coding"][0]["code"] == "2"
        assert mollel["status"] == "active"
        assert ext(mollel, "policy-effective-date") == "2026-07-01"
        assert members(mollel) == {
            f"Patient/{p}": ("2026-07-01", "2027-06-30")
            for p in ("elia-mollel", "grace-mollel", "baraka-mollel", "neema-mollel", "yohana-laizer")
        }
        lyimo = await reader.read("Coverage/policy-lyimo-2026")
        assert ext(lyimo, "policy-value")["value"] == 49000
        assert ext(lyimo, "policy-status")["coding"][0]["code"] == "2"
        assert ext(lyimo, "policy-effective-date") == "2026-07-01"
        assert lyimo["period"] == {"start": "2026-07-01", "end": "2027-06-30"}
        swai = await reader.read("Coverage/policy-swai-2026")
        assert ext(swai, "policy-value")["value"] == 25000
        assert ext(swai, "policy-status")["coding"][0]["code"] == "1"
        assert swai["status"] == "draft"
        assert swai["period"] == {"start": "2026-11-02", "end": "2027-11-01"}
