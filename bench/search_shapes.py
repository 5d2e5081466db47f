"""The search workload of bench/search.py: query shapes drawn from the generated population,
each request with the result it must give.

A ``Job`` is one request (or, for paging, a first page and the ``next`` links after it); its
``check`` looks at the raw response bytes (no JSON parsing, to keep the client light) and
returns None when the result is right, else why not. Responses that carry an OperationOutcome
saying a parameter was ignored are classed "unsupported" by the runner, whatever the result.
"""

from __future__ import annotations

import bisect
import random
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from bench.population import INSURANCE, Person

Check = Callable[[bytes, int, dict[str, Any]], str | None]
MATCH = b'"mode":"match"'
INCLUDE = b'"mode":"include"'
_TOTAL = re.compile(rb'"total":(\d+)')
_CREATED = re.compile(rb'"created":"(\d{4}-\d\d-\d\d)')
_CLAIM_ID = re.compile(rb'"fullUrl":"[^"]*/Claim/([^"]+)"')
PAGE = 20
NEXT_PAGES = 5


@dataclass
class Job:
    shape: str
    path: str
    check: Check
    next_pages: int = 0  # follow this many ``next`` links (each measured as shape + " next")
    state: dict[str, Any] = field(default_factory=dict)


def _matches(expected: int, includes: int | None = None) -> Check:
    def check(body: bytes, page: int, state: dict[str, Any]) -> str | None:
        got = body.count(MATCH)
        if got != expected:
            return f"{got} matches, expected {expected}"
        if includes is not None and body.count(INCLUDE) != includes:
            return f"{body.count(INCLUDE)} included resources, expected {includes}"
        return None

    return check


def _total(expected: int, count: int) -> Check:
    def check(body: bytes, page: int, state: dict[str, Any]) -> str | None:
        m = _TOTAL.search(body)
        if m is None:
            return "no Bundle.total"
        if int(m.group(1)) != expected:
            return f"total {int(m.group(1))}, expected {expected}"
        return _matches(min(expected, count))(body, page, state)

    return check


def _sorted_pages(expected: int) -> Check:
    """Claims by -created, ``PAGE`` a page, across the first page and the next links."""

    def check(body: bytes, page: int, state: dict[str, Any]) -> str | None:
        seen = state.setdefault("seen", 0)
        state["want"] = expected
        want = min(PAGE, expected - seen)
        got = body.count(MATCH)
        if got != want:
            return f"page {page}: {got} matches, expected {want}"
        created = [m.decode() for m in _CREATED.findall(body)]
        ids = set(_CLAIM_ID.findall(body))
        last = state.get("last", "9999")
        if any(a < b for a, b in zip([last, *created], created, strict=False)):
            return f"page {page}: not sorted by -created"
        if ids & state.setdefault("ids", set()):
            return f"page {page}: a claim seen on an earlier page"
        state["ids"] |= ids
        state["seen"] = seen + got
        state["last"] = created[-1] if created else last
        return None

    return check


def _q(value: str) -> str:
    return value.replace("|", "%7C").replace(":", "%3A").replace("/", "%2F")


def _ident(p: Person) -> str:
    return _q(f"{INSURANCE}|{p.insurance_number}")


def _months() -> list[tuple[str, str]]:
    out = []
    for y in (2024, 2025):
        for m in range(1, 13):
            nxt = date(y + (m == 12), m % 12 + 1, 1)
            out.append((date(y, m, 1).isoformat(), nxt.isoformat()))
    return out


class Workload:
    """Expected results come from the population facts (``population.person``)."""

    def __init__(self, people: list[Person], patient_ids: list[str], org_ids: list[str], seed: int) -> None:
        self.people = people
        self.pid = patient_ids  # "Patient/<id>", in index order
        self.org = org_ids  # "Organization/<id>": [insurer, facility 0, facility 1, ...]
        self.rng = random.Random(f"workload:{seed}:{len(people)}")
        self.claim_days = sorted(c.created for p in people for c in p.claims)
        self.by_provider: Counter[int] = Counter(c.provider for p in people for c in p.claims)
        self.names: dict[str, int] = {}
        self.skip: set[str] = set()

    def _between(self, lo: str, hi: str) -> int:
        return bisect.bisect_left(self.claim_days, hi) - bisect.bisect_left(self.claim_days, lo)

    def _name_count(self, q: str) -> int:
        """Patients with a name part starting with ``q`` (the server folds case and accents)."""
        if q not in self.names:
            low = q.lower()
            self.names[q] = sum(
                1 for p in self.people if p.family.lower().startswith(low) or p.given.lower().startswith(low)
            )
        return self.names[q]

    def person(self) -> Person:
        return self.people[self.rng.randrange(len(self.people))]

    def jobs(self, n: int) -> dict[str, list[Job]]:
        shapes: dict[str, Callable[[], Job]] = {
            "token": self.token,
            "token+status": self.token_status,
            "date range": self.date_range,
            "reference+date": self.reference_date,
            "string prefix": self.string_prefix,
            "chain identifier": self.chain_identifier,
            "chain name": self.chain_name,
            "string prefix _count=5": self.string_prefix_page,
            "chain name _count=5": self.chain_name_page,
            "_has": self.has,
            "_include": self.include,
            "_revinclude": self.revinclude,
            "_total=accurate": self.total,
            "sort+page": self.sort_page,
        }
        # the paging shape: n requests in all, first pages and next links together
        counts = {name: -(-n // (1 + NEXT_PAGES)) if name == "sort+page" else n for name in shapes}
        return {
            name: [make() for _ in range(counts[name])]
            for name, make in shapes.items()
            if name not in self.skip
        }

    def token(self) -> Job:
        return Job("token", f"/fhir/Patient?identifier={_ident(self.person())}", _matches(1))

    def token_status(self) -> Job:
        p = self.person()
        status = self.rng.choice(("active", "cancelled"))
        want = int(p.coverage_active == (status == "active"))
        return Job(
            "token+status",
            f"/fhir/Coverage?beneficiary={self.pid[p.index]}&status={status}",
            _matches(want),
        )

    def date_range(self) -> Job:
        lo, hi = self.rng.choice(_months())
        return Job(
            "date range",
            f"/fhir/Claim?created=ge{lo}&created=lt{hi}",
            _matches(min(50, self._between(lo, hi))),
        )

    def reference_date(self) -> Job:
        p = self.person()
        lo = self.rng.choice(p.claims).created
        want = sum(1 for c in p.claims if c.created >= lo)
        return Job(
            "reference+date",
            f"/fhir/Claim?patient={self.pid[p.index]}&created=ge{lo}",
            _matches(want),
        )

    def string_prefix(self) -> Job:
        q = self.person().family
        return Job("string prefix", f"/fhir/Patient?name={q}", _matches(min(50, self._name_count(q))))

    def string_prefix_page(self) -> Job:
        """A surname matches ~6 patients at 1K and ~350 at 64K: the default page grows from 6 to
        50 resources. With ``_count=5`` the answer is the same size at every size, so what is
        measured is the search, not the larger answer."""
        q = self.person().family
        return Job(
            "string prefix _count=5",
            f"/fhir/Patient?name={q}&_count=5",
            _matches(min(5, self._name_count(q))),
        )

    def chain_name_page(self) -> Job:
        q = self.person().family
        return Job(
            "chain name _count=5",
            f"/fhir/Coverage?beneficiary:Patient.name={q}&_count=5",
            _matches(min(5, self._name_count(q))),
        )

    def chain_identifier(self) -> Job:
        p = self.person()
        return Job("chain identifier", f"/fhir/Claim?patient.identifier={_ident(p)}", _matches(len(p.claims)))

    def chain_name(self) -> Job:
        q = self.person().family
        return Job(
            "chain name",
            f"/fhir/Coverage?beneficiary:Patient.name={q}",
            _matches(min(50, self._name_count(q))),
        )

    def has(self) -> Job:
        p = self.person()
        path = f"/fhir/Patient?_has:Coverage:beneficiary:status=active&identifier={_ident(p)}"
        return Job("_has", path, _matches(int(p.coverage_active)))

    def include(self) -> Job:
        p = self.person()
        path = f"/fhir/Claim?patient={self.pid[p.index]}&_include=Claim:patient&_include=Claim:provider"
        return Job("_include", path, _matches(len(p.claims), 1 + len({c.provider for c in p.claims})))

    def revinclude(self) -> Job:
        path = f"/fhir/Patient?identifier={_ident(self.person())}&_revinclude=Coverage:beneficiary"
        return Job("_revinclude", path, _matches(1, 1))

    def total(self) -> Job:
        start = date(2024, 1, 1) + timedelta(days=self.rng.randrange(724))
        lo, hi = start.isoformat(), (start + timedelta(days=7)).isoformat()
        path = f"/fhir/Claim?created=ge{lo}&created=lt{hi}&_total=accurate&_count=10"
        return Job("_total=accurate", path, _total(self._between(lo, hi), 10))

    def sort_page(self) -> Job:
        # the 8 hospitals: enough claims for 6 pages of 20 from 1K patients up
        k = self.rng.randrange(8)
        path = f"/fhir/Claim?provider={self.org[1 + k]}&_sort=-created&_count={PAGE}"
        return Job("sort+page", path, _sorted_pages(self.by_provider[k]), next_pages=NEXT_PAGES)
