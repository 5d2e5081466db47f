"""A small FHIR package built in the tests: a SearchParameter, a CodeSystem + ValueSet, a
StructureDefinition (profile), an example (never loaded) and a Patient in package/ (ignored)."""

from __future__ import annotations

import copy
from typing import Any

from fhir_server.packages.build import write_package

NAME = "example.fhir.sample"
CANON = "http://example.org/fhir"
SP_URL = f"{CANON}/SearchParameter/Patient-name-suffix"
CS_URL = f"{CANON}/CodeSystem/colour"
VS_URL = f"{CANON}/ValueSet/warm"
SD_URL = f"{CANON}/StructureDefinition/sample-patient"


def manifest(version: str = "1.0.0", **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": NAME,
        "version": version,
        "fhirVersions": ["4.0.1"],
        "type": "fhir.ig",
        "canonical": CANON,
        "dependencies": {"hl7.fhir.r4.core": "4.0.1"},
    }
    out.update(extra)
    return out


def resources(version: str = "1.0.0") -> dict[str, Any]:
    return {
        "SearchParameter-Patient-name-suffix.json": {
            "resourceType": "SearchParameter",
            "id": "Patient-name-suffix",
            "url": SP_URL,
            "version": version,
            "name": "NameSuffix",
            "status": "active",
            "description": "A suffix of the patient's name",
            "code": "name-suffix",
            "base": ["Patient"],
            "type": "string",
            "expression": "Patient.name.suffix",
        },
        "CodeSystem-colour.json": {
            "resourceType": "CodeSystem",
            "id": "colour",
            "url": CS_URL,
            "version": version,
            "name": "Colour",
            "status": "active",
            "content": "complete",
            "concept": [{"code": "red"}, {"code": "orange"}, {"code": "blue"}],
        },
        "ValueSet-warm.json": {
            "resourceType": "ValueSet",
            "id": "warm",
            "url": VS_URL,
            "version": version,
            "name": "Warm",
            "status": "active",
            "compose": {"include": [{"system": CS_URL, "concept": [{"code": "red"}, {"code": "orange"}]}]},
        },
        "StructureDefinition-sample-patient.json": {
            "resourceType": "StructureDefinition",
            "id": "sample-patient",
            "url": SD_URL,
            "version": version,
            "name": "SamplePatient",
            "status": "active",
            "kind": "resource",
            "abstract": False,
            "type": "Patient",
            "baseDefinition": "http://hl7.org/fhir/StructureDefinition/Patient",
            "derivation": "constraint",
            "differential": {"element": [{"id": "Patient.name", "path": "Patient.name", "min": 1}]},
        },
        "Patient-in-root.json": {"resourceType": "Patient", "id": "in-root"},
        "example/Patient-example.json": {
            "resourceType": "Patient",
            "id": "pkg-example",
            "meta": {"profile": [SD_URL]},
            "name": [{"family": "Example"}],
        },
    }


def sample(
    version: str = "1.0.0",
    *,
    drop: tuple[str, ...] = (),
    files: dict[str, Any] | None = None,
    **manifest_changes: Any,
) -> bytes:
    """The package's .tgz; ``files`` added or replacing, ``drop`` left out."""
    content = copy.deepcopy(resources(version))
    for name in drop:
        content.pop(name)
    content.update(files or {})
    return write_package(manifest(version, **manifest_changes), content)
