"""The pure parts of the member and family services: which resources the rules govern,
references, membership extensions, marker ids, status, the raw Binary answer."""

from __future__ import annotations

import base64
import json

from fhir_server.scheme import photos
from fhir_server.scheme.insuree import MARKER_PREFIX, marker_id, status_of
from fhir_server.scheme.records import (
    EXT_INSUREE_FAMILY,
    EXT_INSUREE_IS_HEAD,
    INSURANCE_NUMBER_SYSTEM,
    extension,
    head_id,
    insurance_numbers,
    is_family,
    is_imported,
    is_insuree,
    member_ids,
    ref_id,
    set_membership,
    to_date,
)
from fhir_server.storage.protocol import StoredVersion

SD = "https://openimis.org/fhir/StructureDefinition/"


def test_which_patients_are_insurees() -> None:
    assert is_insuree({"resourceType": "Patient", "meta": {"profile": [SD + "insuree"]}})
    assert is_insuree({"resourceType": "Patient", "meta": {"profile": [SD + "insuree|1.0.0"]}})
    assert is_insuree({"resourceType": "Patient", "identifier": [{"system": INSURANCE_NUMBER_SYSTEM}]})
    assert not is_insuree(
        {"resourceType": "Patient", "identifier": [{"system": "urn:oid:1.2.36.146.595.217.0.1"}]}
    )
    assert not is_insuree({"resourceType": "Patient", "meta": {"profile": [SD + "insuree-other"]}})


def test_which_groups_are_families() -> None:
    assert is_family({"resourceType": "Group", "meta": {"profile": [SD + "family"]}})
    assert is_family({"resourceType": "Group", "extension": [{"url": SD + "family-head"}]})
    assert not is_family({"resourceType": "Group", "type": "person", "actual": True})


def test_the_imported_tag() -> None:
    tag = {"system": "https://openimis.org/fhir/CodeSystem/scheme-tag", "code": "imported"}
    assert is_imported({"meta": {"tag": [tag]}})
    assert not is_imported({"meta": {"tag": [{**tag, "code": "other"}]}})
    assert not is_imported({})


def test_references() -> None:
    assert ref_id({"reference": "Patient/a"}, "Patient") == "a"
    assert ref_id({"reference": "Patient/a/_history/3"}, "Patient") == "a"
    assert ref_id({"reference": "http://x/fhir/Patient/a"}, "Patient", "http://x/fhir") == "a"
    assert ref_id({"reference": "http://elsewhere/Patient/a"}, "Patient", "http://x/fhir") is None
    assert ref_id({"reference": "Group/a"}, "Patient") is None
    assert ref_id({"display": "no reference"}, "Patient") is None
    assert ref_id(None, "Patient") is None


def test_insurance_numbers_and_marker_ids() -> None:
    idents = [{"system": "other", "value": "1"}, {"system": INSURANCE_NUMBER_SYSTEM, "value": "42"}]
    patient = {"identifier": [*idents, {"system": INSURANCE_NUMBER_SYSTEM}]}
    assert insurance_numbers(patient) == [(1, "42"), (2, "")]
    assert marker_id("102030401") == MARKER_PREFIX + "102030401"
    odd = marker_id("AB/12 34")
    assert odd.startswith(MARKER_PREFIX + "h") and len(odd) <= 64 and odd != marker_id("AB/12 35")
    assert marker_id("AB/12 34") == odd  # deterministic


def test_membership_extensions() -> None:
    patient: dict[str, object] = {"resourceType": "Patient"}
    assert set_membership(patient, "fam", True)
    assert extension(patient, EXT_INSUREE_FAMILY) == (
        0,
        {"url": EXT_INSUREE_FAMILY, "valueReference": {"reference": "Group/fam"}},
    )
    assert extension(patient, EXT_INSUREE_IS_HEAD) == (1, {"url": EXT_INSUREE_IS_HEAD, "valueBoolean": True})
    assert not set_membership(patient, "fam", True)  # nothing changes: no write needed
    assert set_membership(patient, "fam", False)
    assert set_membership(patient, None, False) and "extension" not in patient


def test_head_and_members() -> None:
    group = {
        "extension": [{"url": SD + "family-head", "valueReference": {"reference": "Patient/h"}}],
        "member": [{"entity": {"reference": "Patient/h"}}, {"entity": {"reference": "Patient/k"}}],
    }
    assert head_id(group) == "h" and member_ids(group) == ["h", "k"]


def test_status() -> None:
    def with_status(code: str) -> dict[str, object]:
        concept = {
            "coding": [{"system": "https://openimis.org/fhir/CodeSystem/insuree-status", "code": code}]
        }
        return {"extension": [{"url": SD + "insuree-status", "valueCodeableConcept": concept}]}

    assert status_of(None) == "AC" and status_of({}) == "AC"
    assert status_of(with_status("DE")) == "DE" and status_of(with_status("IN")) == "IN"
    assert str(to_date("2024-05-06T10:00:00Z")) == "2024-05-06" and to_date("2024") is None


def _binary(content_type: str, data: bytes) -> StoredVersion:
    body = {
        "resourceType": "Binary",
        "id": "b",
        "contentType": content_type,
        "data": base64.b64encode(data).decode(),
    }
    return StoredVersion(
        "Binary", "b", 1, "2024-01-01T00:00:00Z", 1_704_067_200_000_000, False, json.dumps(body).encode()
    )


def test_raw_binary_only_for_a_matching_non_fhir_accept() -> None:
    stored = _binary("image/jpeg", b"\xff\xd8jpeg")
    raw = photos.raw_response("image/jpeg", stored)
    assert raw is not None and raw.body == b"\xff\xd8jpeg" and raw.media_type == "image/jpeg"
    assert photos.raw_response("image/*;q=0.8", stored) is not None
    assert photos.raw_response("image/png, */*", stored) is not None
    fhir_or_other = (
        "application/fhir+json",
        "application/json",
        "image/jpeg, application/fhir+json",
        "image/png",
    )
    for accept in (None, "", "*/*", *fhir_or_other):
        assert photos.raw_response(accept, stored) is None, accept


def test_photo_hash_is_base64_sha1() -> None:
    # R4 Attachment.hash: "The calculated hash of the data using SHA-1. Represented using base64"
    assert photos.sha1_base64(b"abc") == "qZk+NkcGgWq6PiVxeFDCbJzQ2J0="
    assert photos.binary_id(b"abc") == "photo-a9993e364706816aba3e25717850c26c9cd0d89d"
