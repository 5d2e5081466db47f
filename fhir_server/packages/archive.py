"""Reading a FHIR NPM package: a gzip'ed tarball with a ``package/`` folder.

packages.html (FHIR NPM Package Structure): "Each FHIR package is a tarball (tar in gzip)
that contains a package folder that contains: a package.json file ... an .index.json
file ... [and] all the resources as JSON files ... an examples folder below the package
folder that contains examples". ``package.json`` fields used here: ``name`` and
``version`` (required), ``fhirVersions`` ("the list of FHIR versions this package
applies to"), ``dependencies`` (name -> version).

The archive is read in memory (nothing is extracted to disk); only the resources directly
in ``package/`` are conformance content: ``package/example/`` (and any other sub-folder)
is not loaded. Limits guard against tar/gzip bombs.
"""

from __future__ import annotations

import gzip
import io
import re
import tarfile
import zlib
from dataclasses import dataclass, field
from typing import Any

from .. import fhirjson
from ..errors import InvalidError

__all__ = ["CONFORMANCE_TYPES", "Package", "is_r4", "read_package"]

# the resource types an installation upserts (others found in package/ are reported, not loaded)
CONFORMANCE_TYPES = (
    "CodeSystem",
    "ValueSet",
    "ConceptMap",
    "NamingSystem",
    "StructureDefinition",
    "SearchParameter",
    "OperationDefinition",
    "CapabilityStatement",
    "ImplementationGuide",
)
MAX_UNPACKED_BYTES = 512 * 1024 * 1024
MAX_FILE_BYTES = 64 * 1024 * 1024
# packages.html: "two or more namespaces separated by a dot. Each namespace starts with a
# lowercase alphabet character followed by zero-or-more lowercase alphanumeric characters or dashes"
# (upper case and '_' seen in published packages are tolerated)
NAME = re.compile(r"^[A-Za-z][A-Za-z0-9\-_]*(\.[A-Za-z0-9][A-Za-z0-9\-_]*)+$")
VERSION = re.compile(r"^[0-9A-Za-z][0-9A-Za-z.\-+]*$")


@dataclass
class Package:
    name: str
    version: str
    fhir_versions: tuple[str, ...]
    dependencies: dict[str, str]
    manifest: dict[str, Any]
    # (file name inside the tarball, resource), conformance types only, in file-name order
    resources: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # package/*.json of other types, not loaded

    @property
    def label(self) -> str:
        return f"{self.name}@{self.version}"


def is_r4(fhir_version: str) -> bool:
    return fhir_version == "4.0" or fhir_version.startswith("4.0.")


def _refuse(message: str, expression: str = "package") -> InvalidError:
    err: InvalidError = InvalidError(message, expression, issue_code="invalid")
    return err


def _members(data: bytes) -> dict[str, bytes]:
    """The regular files of the tarball by normalised name (``package/x.json``)."""
    if data[:2] != b"\x1f\x8b":
        raise _refuse("The package is not a gzip-compressed tarball (.tgz)")
    out: dict[str, bytes] = {}
    try:
        unpacked = _gunzip(data)
        with tarfile.open(fileobj=io.BytesIO(unpacked), mode="r:") as archive:
            for member in archive.getmembers():
                if not member.isfile():
                    continue
                name = member.name.lstrip("./")
                if ".." in name.split("/") or member.size > MAX_FILE_BYTES:
                    continue
                handle = archive.extractfile(member)
                if handle is not None:
                    out[name] = handle.read()
    except (OSError, EOFError, zlib.error, tarfile.TarError) as exc:
        raise _refuse(f"The package is not a readable .tgz: {exc}") from None
    return out


def _gunzip(data: bytes) -> bytes:
    with gzip.GzipFile(fileobj=io.BytesIO(data)) as g:
        out = g.read(MAX_UNPACKED_BYTES + 1)
    if len(out) > MAX_UNPACKED_BYTES:
        raise _refuse(f"The package unpacks to more than {MAX_UNPACKED_BYTES} bytes")
    return out


def _json(name: str, raw: bytes) -> Any:
    try:
        raw.decode("utf-8")
        return fhirjson.loads(raw[3:] if raw.startswith(b"\xef\xbb\xbf") else raw)
    except UnicodeDecodeError as exc:
        raise _refuse(f"{name} is not UTF-8: {exc}", name) from None
    except InvalidError as exc:
        raise _refuse(f"{name} is not valid JSON: {exc.diagnostics}", name) from None


def read_package(data: bytes) -> Package:
    """The package in ``data`` (a .tgz), or an ``InvalidError`` saying what is wrong with it."""
    files = _members(data)
    if "package/package.json" not in files:
        raise _refuse("The package has no package/package.json", "package/package.json")
    manifest = _json("package/package.json", files["package/package.json"])
    if not isinstance(manifest, dict):
        raise _refuse("package/package.json is not a JSON object", "package/package.json")
    name, version = manifest.get("name"), manifest.get("version")
    if not isinstance(name, str) or not NAME.match(name):
        raise _refuse(f"package.json name {name!r} is not a FHIR package name", "package/package.json")
    if not isinstance(version, str) or not VERSION.match(version):
        raise _refuse(f"package.json version {version!r} is not a version", "package/package.json")
    raw_deps = manifest.get("dependencies") or {}
    if not isinstance(raw_deps, dict) or not all(isinstance(v, str) for v in raw_deps.values()):
        raise _refuse("package.json dependencies must map names to versions", "package/package.json")
    dependencies = {str(k): str(v) for k, v in raw_deps.items()}
    fhir_versions = _fhir_versions(manifest, dependencies)
    if not any(is_r4(v) for v in fhir_versions):
        raise _refuse(
            f"{name}@{version} is for FHIR {', '.join(fhir_versions)}; this server is FHIR R4 (4.0.1)",
            "package/package.json",
        )
    package = Package(name, version, fhir_versions, dependencies, manifest)
    for path in sorted(files):
        folder, _, file = path.rpartition("/")
        if folder != "package" or not file.endswith(".json") or file in ("package.json", ".index.json"):
            continue
        resource = _json(path, files[path])
        if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
            raise _refuse(f"{path} is not a FHIR resource (no resourceType)", path)
        if resource["resourceType"] in CONFORMANCE_TYPES:
            package.resources.append((path, resource))
        else:
            package.skipped.append(path)
    return package


def _fhir_versions(manifest: dict[str, Any], dependencies: dict[str, str]) -> tuple[str, ...]:
    """``fhirVersions`` (older packages: ``fhir-version-list``); else what the core dependency says."""
    for key in ("fhirVersions", "fhir-version-list"):
        value = manifest.get(key)
        if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            return tuple(value)
        if value is not None:
            raise _refuse(f"package.json {key} must be a list of FHIR versions", "package/package.json")
    for dep, version in dependencies.items():
        core = re.match(r"^hl7\.fhir\.r(\d+[a-z]?)\.core$", dep)
        if core:
            return ("4.0.1",) if core.group(1) == "4" else (version,)
    raise _refuse(
        "package.json names no FHIR version (fhirVersions) and depends on no hl7.fhir.rX.core",
        "package/package.json",
    )
