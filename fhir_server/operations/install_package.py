"""``$install-package``: install a FHIR package (implementation guide) at run time; ``$packages``: list.

OperationDefinition: ``profiles/OperationDefinition-install-package.json``
(``{canonical_base}/OperationDefinition/install-package``). System level only.

``POST [base]/$install-package`` with one of:

* the ``.tgz`` itself as the body (``Content-Type: application/gzip``, ``application/x-gzip``,
  ``application/tar+gzip`` or ``application/octet-stream``);
* a ``Binary`` resource whose ``data`` is the .tgz;
* a ``Parameters`` resource with ``name`` (and optionally ``version``; without it the
  registry's ``latest``), fetched from ``FHIR_PACKAGE_REGISTRY``; or ``url``, the URL of a
  tarball; or ``package`` (``valueBase64Binary``: a .tgz), repeated to give dependencies
  in the same call.

Answer: ``200`` with a ``Parameters`` resource, one ``package`` part per package (``name``,
``version``, ``status`` installed | already-installed, ``source``, a ``resource`` part per
conformance resource with its ``reference``, ``url`` and ``action`` created | updated |
unchanged, ``ignored`` files of other types). A refused package (not gzip, no
package.json, not R4, a missing dependency, an invalid resource) is a 4xx
OperationOutcome and nothing of it is stored (``packages/install.py``).

``GET [base]/$packages``: the installed packages (the same records) as ``Parameters``.

``POST [base]/$uninstall-package`` with ``Parameters.name``: deletes, in one transaction, the
resources the package installed that still carry its tag, and its record (refused while
another installed package depends on it); the answer lists each resource as deleted or kept.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from .. import fhirjson
from ..errors import InvalidError, MethodNotAllowedError, NotFoundError, UnsupportedMediaTypeError
from ..packages import archive, sources
from ..packages.install import install_all, installed, uninstall
from ..server import Server

Json = dict[str, Any]

NAME = "$install-package"
LIST = "$packages"
UNINSTALL = "$uninstall-package"
ALL = (NAME, LIST, UNINSTALL)
GZIP_TYPES = ("application/gzip", "application/x-gzip", "application/tar+gzip", "application/octet-stream")
JSON_TYPES = ("application/fhir+json", "application/json", "text/json", "")


def _media(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def _base64(value: Any, expression: str) -> bytes:
    if not isinstance(value, str):
        raise InvalidError("A base64Binary package is required", expression, issue_code="required")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidError("The package is not valid base64", expression, issue_code="value") from None


async def _packages(server: Server, body: Json) -> list[tuple[archive.Package, str]]:
    rtype = body.get("resourceType")
    if rtype == "Binary":
        return [(archive.read_package(_base64(body.get("data"), "Binary.data")), "Binary")]
    if rtype != "Parameters":
        raise InvalidError(
            f"$install-package takes a Parameters or Binary resource, or the .tgz; not {rtype}",
            "resourceType",
        )
    params = [p for p in body.get("parameter") or [] if isinstance(p, dict)]
    by_name: dict[str, list[tuple[int, Json]]] = {}
    for i, p in enumerate(params):
        by_name.setdefault(str(p.get("name")), []).append((i, p))
    out: list[tuple[archive.Package, str]] = []
    for i, p in by_name.get("package", []):
        data = _base64(p.get("valueBase64Binary"), f"Parameters.parameter[{i}].valueBase64Binary")
        out.append((archive.read_package(data), "Parameters.package"))
    for i, p in by_name.get("url", []):
        url = p.get("valueUri") or p.get("valueUrl") or p.get("valueString")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise InvalidError(
                "url must be the http(s) URL of a package tarball", f"Parameters.parameter[{i}]"
            )
        out.append(await sources.load(server, url))
    names = by_name.get("name", [])
    if len(names) > 1:
        raise InvalidError("Give one name (and version) per call", f"Parameters.parameter[{names[1][0]}]")
    if names:
        i, p = names[0]
        name = p.get("valueString") or p.get("valueId") or p.get("valueCode")
        versions = by_name.get("version", [])
        version = versions[0][1].get("valueString") if versions else None
        if not isinstance(name, str):
            raise InvalidError("name must be a string", f"Parameters.parameter[{i}]", issue_code="required")
        spec = f"{name}@{version}" if isinstance(version, str) and version else name
        sources.parse_spec(spec)  # a name, never a path
        out.append(await sources.load(server, spec))
    if not out:
        raise InvalidError(
            "$install-package needs a package: name (+ version), url, or package (base64 .tgz)",
            "Parameters.parameter",
            issue_code="required",
        )
    return out


async def operation(
    server: Server, method: str, segments: list[str], content_type: str | None, raw: bytes | None
) -> Json:
    """The ``Parameters`` answer of ``$install-package`` / ``$packages`` on ``segments``."""
    name, target = segments[-1], segments[:-1]
    if target:
        raise NotFoundError(f"{name} is a system-level operation: [base]/{name}", issue_code="not-supported")
    if name == LIST:
        if method != "GET":
            raise MethodNotAllowedError(f"{method} is not allowed on {LIST} (allowed: GET)")
        records = await installed(server)
        return {"resourceType": "Parameters", "parameter": [_listed(r) for r in records]}
    if method != "POST":
        raise MethodNotAllowedError(f"{method} is not allowed on {name} (allowed: POST)")
    media = _media(content_type)
    if name == UNINSTALL:
        return await _uninstall(server, media, raw or b"")
    data = raw or b""
    if media in GZIP_TYPES:
        packages = [(archive.read_package(data), "request body")]
    elif media in JSON_TYPES or media.endswith("+json"):
        if not data.strip():
            raise InvalidError("$install-package needs a body", issue_code="required")
        body = fhirjson.loads(data)
        if not isinstance(body, dict):
            raise InvalidError("The body must be a Parameters or Binary resource", issue_code="structure")
        packages = await _packages(server, body)
    else:
        raise UnsupportedMediaTypeError(
            f"Content-Type '{content_type}' is not supported: send application/gzip (the .tgz) "
            "or application/fhir+json (Parameters or Binary)"
        )
    reports = await install_all(server, packages)
    return {
        "resourceType": "Parameters",
        "parameter": [{"name": "package", "part": r.to_parameters()} for r in reports],
    }


async def _uninstall(server: Server, media: str, data: bytes) -> Json:
    if not (media in JSON_TYPES or media.endswith("+json")):
        raise UnsupportedMediaTypeError(
            "$uninstall-package takes a Parameters resource (application/fhir+json)"
        )
    body = fhirjson.loads(data) if data.strip() else None
    params = (
        body.get("parameter") if isinstance(body, dict) and body.get("resourceType") == "Parameters" else None
    )
    names = [p for p in params or [] if isinstance(p, dict) and p.get("name") == "name"]
    package = names[0].get("valueString") if len(names) == 1 else None
    if not isinstance(package, str):
        raise InvalidError(
            "$uninstall-package takes a Parameters resource with one name", "Parameters.parameter", "required"
        )
    sources.parse_spec(package)
    report = await uninstall(server, package)
    return {"resourceType": "Parameters", "parameter": [{"name": "package", "part": report.to_parameters()}]}


def _listed(record: Json) -> Json:
    parts: list[Json] = [
        {"name": "name", "valueString": record.get("name", "")},
        {"name": "version", "valueString": record.get("version", "")},
        {"name": "source", "valueString": record.get("source", "")},
        {"name": "installed", "valueInstant": record.get("installed", "")},
    ]
    parts += [{"name": "fhirVersion", "valueString": v} for v in record.get("fhirVersions", [])]
    parts += [
        {"name": "dependency", "valueString": f"{n}@{v}"}
        for n, v in sorted(record.get("dependencies", {}).items())
    ]
    parts += [
        {"name": "resource", "valueReference": {"reference": r.get("reference", "")}}
        for r in record.get("resources", [])
    ]
    return {"name": "package", "part": parts}
