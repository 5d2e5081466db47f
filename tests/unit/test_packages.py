"""FHIR npm packages without a server: reading (and refusing) .tgz files, the deterministic
writer, integrity checks, specs and dependency order."""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import tarfile

import pytest

from fhir_server.errors import InvalidError
from fhir_server.packages.archive import read_package
from fhir_server.packages.build import index_json, write_package
from fhir_server.packages.install import _order, _version_ok
from fhir_server.packages.registry_client import verify
from fhir_server.packages.sources import parse_spec
from tests import package_data as pd


def refused(data: bytes) -> InvalidError:
    with pytest.raises(InvalidError) as info:
        read_package(data)
    assert info.value.status == 400
    return info.value


def test_reads_name_version_and_conformance_resources_only() -> None:
    package = read_package(pd.sample())
    assert (package.name, package.version, package.fhir_versions) == (pd.NAME, "1.0.0", ("4.0.1",))
    assert package.dependencies == {"hl7.fhir.r4.core": "4.0.1"}
    assert [path for path, _ in package.resources] == [
        "package/CodeSystem-colour.json",
        "package/SearchParameter-Patient-name-suffix.json",
        "package/StructureDefinition-sample-patient.json",
        "package/ValueSet-warm.json",
    ]
    assert package.skipped == ["package/Patient-in-root.json"]  # not conformance: reported, not loaded
    assert all("example" not in path for path, _ in package.resources)


def test_not_gzip_refused() -> None:
    assert "not a gzip" in refused(b"PK\x03\x04 a zip file").diagnostics


def test_gzip_but_not_tar_refused() -> None:
    assert "not a readable .tgz" in refused(gzip.compress(b"just text, no tar")).diagnostics


def test_truncated_tarball_refused() -> None:
    data = pd.sample()
    err = refused(data[: len(data) // 2])
    assert err.expression == ("package",)


def test_no_package_json_refused() -> None:
    data = write_package(None, {"ValueSet-x.json": {"resourceType": "ValueSet"}})
    err = refused(data)
    assert "no package/package.json" in err.diagnostics
    assert err.expression == ("package/package.json",)


def test_wrong_fhir_version_refused() -> None:
    err = refused(pd.sample(fhirVersions=["5.0.0"]))
    assert "FHIR 5.0.0" in err.diagnostics and "R4" in err.diagnostics


def test_fhir_version_from_the_core_dependency_or_refused() -> None:
    files = {"ValueSet-x.json": {"resourceType": "ValueSet", "id": "x"}}
    ok = write_package(
        {"name": "a.b", "version": "1.0.0", "dependencies": {"hl7.fhir.r4.core": "4.0.1"}}, files
    )
    assert read_package(ok).fhir_versions == ("4.0.1",)
    r5 = write_package(
        {"name": "a.b", "version": "1.0.0", "dependencies": {"hl7.fhir.r5.core": "5.0.0"}}, files
    )
    assert "FHIR 5.0.0" in refused(r5).diagnostics
    none = write_package({"name": "a.b", "version": "1.0.0"}, files)
    assert "names no FHIR version" in refused(none).diagnostics
    old = write_package({"name": "a.b", "version": "1.0.0", "fhir-version-list": ["4.0.1"]}, files)
    assert read_package(old).fhir_versions == ("4.0.1",)


@pytest.mark.parametrize(
    ("manifest", "message"),
    [
        ({"version": "1.0.0", "fhirVersions": ["4.0.1"]}, "name"),
        ({"name": "nodots", "version": "1.0.0", "fhirVersions": ["4.0.1"]}, "name"),
        ({"name": "a.b", "fhirVersions": ["4.0.1"]}, "version"),
        ({"name": "a.b", "version": "1", "fhirVersions": "4.0.1"}, "fhirVersions"),
        ({"name": "a.b", "version": "1", "fhirVersions": ["4.0.1"], "dependencies": ["x"]}, "dependencies"),
    ],
)
def test_bad_manifest_refused(manifest: dict[str, object], message: str) -> None:
    assert message in refused(write_package(manifest, {})).diagnostics


def test_bad_json_or_non_resource_refused() -> None:
    err = refused(pd.sample(files={"ValueSet-broken.json": b"{not json"}))
    assert "package/ValueSet-broken.json is not valid JSON" in err.diagnostics
    err = refused(pd.sample(files={"Thing.json": {"no": "resourceType"}}))
    assert err.expression == ("package/Thing.json",)


def test_decimals_keep_their_text() -> None:
    raw = b'{"resourceType": "StructureDefinition", "id": "d", "x": 1.50}'
    package = read_package(pd.sample(files={"StructureDefinition-d.json": raw}))
    resource = next(r for p, r in package.resources if p.endswith("-d.json"))
    assert str(resource["x"]) == "1.50"


def test_path_traversal_members_are_ignored() -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, body in (
            ("package/package.json", json.dumps(pd.manifest()).encode()),
            ("package/../evil.json", b'{"resourceType": "ValueSet"}'),
        ):
            info = tarfile.TarInfo(name)
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body))
    package = read_package(gzip.compress(buf.getvalue()))
    assert package.resources == [] and package.skipped == []


def test_writer_is_deterministic_and_indexes() -> None:
    assert pd.sample() == pd.sample()
    with tarfile.open(fileobj=io.BytesIO(pd.sample()), mode="r:gz") as tar:
        members = tar.getmembers()
        assert [m.name for m in members] == sorted(m.name for m in members)
        assert {m.mtime for m in members} == {315532800} and {m.uid for m in members} == {0}
        index_file = tar.extractfile("package/.index.json")
        assert index_file is not None
        index = json.loads(index_file.read())
    assert index["index-version"] == 1
    by_file = {f["filename"]: f for f in index["files"]}
    assert by_file["ValueSet-warm.json"] == {
        "filename": "ValueSet-warm.json",
        "resourceType": "ValueSet",
        "id": "warm",
        "url": pd.VS_URL,
        "version": "1.0.0",
    }
    assert "example/Patient-example.json" not in by_file  # examples are not indexed at the top
    assert index_json({"package.json": {"name": "x"}}) == {"index-version": 1, "files": []}


def test_verify_shasum_and_integrity() -> None:
    data = pd.sample()
    sha1 = hashlib.sha1(data).hexdigest()
    sri = "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()
    verify(data, {"shasum": sha1, "integrity": sri})
    verify(data, {})
    with pytest.raises(InvalidError, match="SHA-1"):
        verify(data, {"shasum": "0" * 40})
    with pytest.raises(InvalidError, match="integrity"):
        verify(data + b"x", {"integrity": sri})


def test_parse_spec() -> None:
    assert parse_spec("hl7.fhir.uv.ips@1.1.0") == ("hl7.fhir.uv.ips", "1.1.0")
    assert parse_spec("hl7.fhir.uv.ips") == ("hl7.fhir.uv.ips", None)
    for bad in ("../etc/passwd", "x@", "noDots@1.0", "a.b@1.0/../x"):
        with pytest.raises(InvalidError):
            parse_spec(bad)


def test_dependency_versions_and_order() -> None:
    assert _version_ok("1.0.0", "1.0.0") and _version_ok("1.0.x", "1.0.7") and _version_ok("current", "2")
    assert not _version_ok("1.0.0", "1.0.1") and not _version_ok("2.x", "1.0.0")
    base = read_package(pd.sample())
    dep = read_package(
        write_package(
            {
                "name": "b.c",
                "version": "1.0.0",
                "fhirVersions": ["4.0.1"],
                "dependencies": {pd.NAME: "1.0.x"},
            },
            {},
        )
    )
    assert [p.name for p in _order([dep, base])] == [pd.NAME, "b.c"]
