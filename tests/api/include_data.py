"""Insurance resources that reference each other, for the _include/_revinclude tests
(search.html#include), and helpers to read a searchset by search mode."""

from __future__ import annotations

from typing import Any

import httpx

from .conftest import FHIR_JSON, patient

CODE = "http://terminology.hl7.org/CodeSystem/"


def ref(target: str) -> dict[str, str]:
    return {"reference": target}


def organization(name: str) -> dict[str, Any]:
    return {"resourceType": "Organization", "name": name}


def practitioner(family: str) -> dict[str, Any]:
    return {"resourceType": "Practitioner", "name": [{"family": family}]}


def coverage(beneficiary: str, *payors: str) -> dict[str, Any]:
    return {
        "resourceType": "Coverage",
        "status": "active",
        "beneficiary": ref(beneficiary),
        "payor": [ref(p) for p in payors],
    }


def claim(patient_ref: str, provider: str, insurer: str = "Organization/nhif") -> dict[str, Any]:
    return {
        "resourceType": "Claim",
        "status": "active",
        "type": {"coding": [{"system": CODE + "claim-type", "code": "professional"}]},
        "use": "claim",
        "patient": ref(patient_ref),
        "created": "2024-03-01",
        "insurer": ref(insurer),
        "provider": ref(provider),
        "priority": {"coding": [{"system": CODE + "processpriority", "code": "normal"}]},
        "insurance": [{"sequence": 1, "focal": True, "coverage": ref("Coverage/cov1")}],
    }


def claim_response(request: str, patient_ref: str) -> dict[str, Any]:
    return {
        "resourceType": "ClaimResponse",
        "status": "active",
        "type": {"coding": [{"system": CODE + "claim-type", "code": "professional"}]},
        "use": "claim",
        "patient": ref(patient_ref),
        "created": "2024-03-05",
        "insurer": ref("Organization/nhif"),
        "outcome": "complete",
        "request": ref(request),
    }


def provenance(target: str) -> dict[str, Any]:
    return {
        "resourceType": "Provenance",
        "target": [ref(target)],
        "recorded": "2024-03-01T10:00:00Z",
        "agent": [{"who": ref("Practitioner/dr1")}],
    }


def scheme() -> dict[str, dict[str, Any]]:
    """Two members, an insurer, a hospital, a doctor, their coverages, claims and responses."""
    return {
        "Patient/p1": patient("Massawe"),
        "Patient/p2": patient("Kimaro"),
        "Organization/nhif": organization("NHIF"),
        "Organization/kbh": organization("Kibosho Hospital"),
        "Practitioner/dr1": practitioner("Mushi"),
        "Coverage/cov1": coverage("Patient/p1", "Organization/nhif"),
        "Coverage/cov2": coverage("Patient/p2", "Patient/p2", "Organization/nhif"),
        "Claim/c1": claim("Patient/p1", "Organization/kbh"),
        "Claim/c2": claim("Patient/p1", "Practitioner/dr1"),
        "Claim/c3": claim("Patient/p2", "Organization/kbh"),
        "ClaimResponse/r1": claim_response("Claim/c1", "Patient/p1"),
        "Provenance/prov1": provenance("Claim/c1"),
    }


async def seed(client: httpx.AsyncClient, data: dict[str, dict[str, Any]] | None = None) -> None:
    for key, body in (data or scheme()).items():
        rtype, rid = key.split("/")
        r = await client.put(key, json={**body, "resourceType": rtype, "id": rid}, headers=FHIR_JSON)
        assert r.status_code in (200, 201), r.text


async def searchset(client: httpx.AsyncClient, path: str, **headers: str) -> dict[str, Any]:
    r = await client.get(path, headers=headers)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    for e in body.get("entry", []):
        if e["search"]["mode"] != "outcome":
            res = e["resource"]
            assert e["fullUrl"].endswith(f"/{res['resourceType']}/{res['id']}")
    return body


def keys(body: dict[str, Any], mode: str) -> list[str]:
    """``Type/id`` of the entries in ``mode`` (match, include), sorted."""
    return sorted(
        f"{e['resource']['resourceType']}/{e['resource']['id']}"
        for e in body.get("entry", [])
        if e["search"]["mode"] == mode
    )


def outcome_issues(body: dict[str, Any]) -> list[dict[str, Any]]:
    found = [e["resource"] for e in body.get("entry", []) if e["search"]["mode"] == "outcome"]
    assert len(found) <= 1
    return list(found[0]["issue"]) if found else []
