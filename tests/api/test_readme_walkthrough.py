"""README.md "Walk through a scheme": its curl requests, as written there, against the real app
after ``fhir-server load examples/scheme`` into an empty SQLite file.

The requests are parsed from the README's ``sh`` blocks (method, URL, the JSON body of the here
document), so the README cannot drift from what the server answers: the reads, ``Coverage/$record-premium``
and ``CoverageEligibilityRequest/$submit``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from fhir_server.app import create_app
from fhir_server.cli import load_command, parser
from fhir_server.config import Settings

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
SCHEME = ROOT / "examples" / "scheme"
BASE = "http://testserver/fhir"
README_BASE = "http://127.0.0.1:8080/fhir/"
SD = "https://openimis.org/fhir/StructureDefinition/"


@dataclass(frozen=True)
class Request:
    method: str
    path: str  # relative to the FHIR base
    body: dict[str, Any] | None


def walkthrough() -> list[Request]:
    """The curl commands of the README's "Walk through a scheme" section, in order."""
    text = README.read_text(encoding="utf-8")
    section = text.split("## Walk through a scheme", 1)[1].split("\n## ", 1)[0]
    out: list[Request] = []
    for block in re.findall(r"```sh\n(.*?)```", section, flags=re.S):
        lines = block.splitlines()
        i = 0
        while i < len(lines):
            line = lines[i]
            i += 1
            if not line.startswith("curl "):
                continue
            command = line
            while command.endswith("\\"):
                command = command[:-1] + " " + lines[i].strip()
                i += 1
            method = re.search(r"-X (\w+)", command)
            url = re.search(r"'(http[^']+)'", command)
            assert url and url.group(1).startswith(README_BASE), command
            body = None
            heredoc = re.search(r"<<'(\w+)'", command)
            if heredoc:
                end = lines.index(heredoc.group(1), i)
                body = json.loads("\n".join(lines[i:end]))
                i = end + 1
            out.append(Request(method.group(1) if method else "GET", url.group(1)[len(README_BASE) :], body))
    return out


def test_the_readme_walks_through_reads_a_premium_and_eligibility() -> None:
    shapes = [(r.method, r.path.split("?")[0]) for r in walkthrough()]
    assert shapes == [
        ("GET", "Patient"),
        ("GET", "Group"),
        ("GET", "Coverage"),
        ("GET", "Coverage/policy-mollel-2026"),
        ("POST", "Coverage/policy-swai-2026/$record-premium"),
        ("POST", "CoverageEligibilityRequest/$submit"),
        ("POST", "CoverageEligibilityRequest/$submit"),
    ]


def ext(resource: dict[str, Any], name: str) -> Any:
    for e in resource.get("extension", []):
        if e["url"] == SD + name:
            return next(v for k, v in e.items() if k.startswith("value"))
    return None


def part(parameters: dict[str, Any], name: str) -> Any:
    for p in parameters.get("parameter", []):
        if p["name"] == name:
            return p.get("resource", p)
    raise AssertionError(f"no parameter {name} in {parameters}")


async def run(tmp_path: Path, upto: int) -> list[httpx.Response]:
    """Load the scheme into an empty store, then send the README's first ``upto`` requests."""
    db = tmp_path / "fhir.db"
    args = parser().parse_args(["load", str(SCHEME), "--store", f"sqlite:///{db}", "--base-url", BASE])
    assert await load_command(args) == 0
    app = create_app(Settings(store=f"sqlite:///{db}", base_url=BASE))
    answers = []
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE + "/") as client,
    ):
        for request in walkthrough()[:upto]:
            answers.append(
                await client.request(
                    request.method,
                    request.path,
                    content=None if request.body is None else json.dumps(request.body),
                    headers={"Content-Type": "application/fhir+json"},
                )
            )
    return answers


def ids(bundle: httpx.Response) -> list[str]:
    assert bundle.status_code == 200, bundle.text
    return [e["resource"]["id"] for e in bundle.json().get("entry", [])]


async def test_find_the_insuree_the_family_and_the_policy(tmp_path: Path) -> None:
    patient, family, policies, policy = await run(tmp_path, 4)
    assert ids(patient) == ["elia-mollel"]
    assert ids(family) == ["family-mollel"]
    assert ids(policies) == ["policy-mollel-2026"]
    assert policy.status_code == 200
    coverage = policy.json()
    assert ext(coverage, "policy-family") == {"reference": "Group/family-mollel"}
    assert ext(coverage, "policy-value")["value"] == 60300
    assert coverage["period"] == {"start": "2026-07-01", "end": "2027-06-30"}
    assert ext(coverage, "policy-status")["coding"][0]["code"] == "2"
    assert ext(coverage, "policy-effective-date") == "2026-07-01"
    assert coverage["status"] == "active"


async def test_record_the_swai_premium(tmp_path: Path) -> None:
    answer = (await run(tmp_path, 5))[-1]
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["resourceType"] == "Parameters"
    payment, policy = part(body, "payment"), part(body, "policy")
    assert payment["resourceType"] == "PaymentNotice"
    assert payment["identifier"][0]["value"] == "MBS-2026-0001"
    assert policy["id"] == "policy-swai-2026"
    # value 25,000 paid in full on 2026-11-20: Active from the later of pay date and start (2026-11-02)
    assert ext(policy, "policy-status")["coding"][0]["code"] == "2"
    assert ext(policy, "policy-effective-date") == "2026-11-20"
    assert policy["status"] == "active"
    part(body, "outcome")


async def test_ask_eligibility(tmp_path: Path) -> None:
    grace, peter = (await run(tmp_path, 7))[-2:]
    for answer in (grace, peter):
        assert answer.status_code == 200, answer.text
        assert answer.json()["resourceType"] == "CoverageEligibilityResponse"
    (insurance,) = grace.json()["insurance"]
    assert insurance["coverage"]["reference"] == "Coverage/policy-mollel-2026"
    assert insurance["benefitPeriod"] == {"start": "2026-07-01", "end": "2027-06-30"}
    asked = {i["name"]: i for i in insurance["item"] if i["category"]["coding"][0]["code"] == "service"}
    assert asked["C01"]["excluded"] is False
    # delivery D01: waiting period 9 months from Grace's effective date 2026-07-01
    assert asked["D01"]["excluded"] is True and "2027-04-01" in json.dumps(asked["D01"])
    # the policy ceiling 1,000,000 + (5 members − threshold 4) × 100,000 (DOMAIN.md §3.3)
    allowed = [
        b.get("allowedMoney", {}).get("value") for i in insurance["item"] for b in i.get("benefit", [])
    ]
    assert 1100000 in allowed
    (insurance,) = peter.json()["insurance"]  # active since the premium of the previous step
    assert insurance["coverage"]["reference"] == "Coverage/policy-swai-2026"
    asked = {i["name"]: i for i in insurance["item"] if i["category"]["coding"][0]["code"] == "service"}
    assert asked["S01"]["excluded"] is True  # the Meru Basic Scheme does not cover an appendectomy
