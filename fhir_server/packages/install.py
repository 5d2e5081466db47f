"""Installing a FHIR package: its conformance resources become resources of this server.

What an installation does (docs/decisions/0011-ig-packages.md):

* the package must be for R4 (``archive.read_package``) and its dependencies must be
  built in (``hl7.fhir.r4.core`` and its siblings: the core definitions and terminology
  ship with the server) or already installed, or given in the same call (installed first);
* each conformance resource directly in ``package/`` (CodeSystem, ValueSet, ConceptMap,
  NamingSystem, StructureDefinition, SearchParameter, OperationDefinition,
  CapabilityStatement, ImplementationGuide; never ``package/example/``) is tagged
  ``meta.tag = {system: {canonical_base}/CodeSystem/package, code: name@version}`` and
  upserted *by canonical url*: the stored resource with the same ``url`` is updated (a new
  version of the package replaces what an older one installed), else it is created, with
  the package's id unless that id is taken by a resource with another url (then a new id);
  NamingSystem has no url and is matched by id. A resource whose content is unchanged is
  not rewritten;
* all the writes of one package go through the server's transaction path
  (``interactions/transaction.py``): validated like any write, all or nothing, and the
  run-time hooks apply — SearchParameters are registered after the request
  (``interactions/search_parameters.py``, with the pending-reindex warning), ValueSets and
  CodeSystems are read by the terminology service from the store at their next use,
  StructureDefinitions are found by canonical url in the store;
* the installation is recorded in the store's server state under
  ``package/<name>@<version>`` (JSON: name, version, fhirVersions, dependencies, source,
  installed, resources); installing a recorded name@version again is a no-op, and the
  record of an older version of the same name is replaced;
* ``uninstall`` deletes what a package installed (the resources still tagged with it).
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from typing import Any

from .. import clock, fhirjson
from ..context import RequestContext
from ..errors import FhirError, InvalidError, InvalidResourceError, Issue, NotFoundError, NotSupportedError
from ..interactions.bundle_entries import parse_bundle
from ..interactions.transaction import transaction
from ..search.parser import parse_search
from ..server import Server
from .archive import Package

__all__ = [
    "BUILT_IN",
    "STATE_PREFIX",
    "InstallReport",
    "install",
    "install_all",
    "installed",
    "package_tag_system",
    "uninstall",
]

STATE_PREFIX = "package/"
# shipped with the server (definitions/ and the compressed R4 terminology): never installed
BUILT_IN = frozenset(
    {"hl7.fhir.r4.core", "hl7.fhir.r4.examples", "hl7.fhir.r4.expansions", "hl7.fhir.r4.elements"}
)
_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")


def package_tag_system(server: Server) -> str:
    return f"{server.settings.canonical_base.rstrip('/')}/CodeSystem/package"


@dataclass
class InstallReport:
    name: str
    version: str
    status: str  # installed | already-installed | uninstalled
    source: str
    # reference, url, action: created | updated | unchanged (install), deleted | kept (uninstall)
    resources: list[dict[str, str]] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)  # files of other resource types, not loaded

    @property
    def label(self) -> str:
        return f"{self.name}@{self.version}"

    def to_parameters(self) -> list[dict[str, Any]]:
        parts: list[dict[str, Any]] = [
            {"name": "name", "valueString": self.name},
            {"name": "version", "valueString": self.version},
            {"name": "status", "valueCode": self.status},
            {"name": "source", "valueString": self.source},
        ]
        for r in self.resources:
            resource_parts = [
                {"name": "reference", "valueReference": {"reference": r["reference"]}},
                {"name": "action", "valueCode": r["action"]},
            ]
            if r.get("url"):
                resource_parts.insert(1, {"name": "url", "valueUri": r["url"]})
            parts.append({"name": "resource", "part": resource_parts})
        parts += [{"name": "ignored", "valueString": f} for f in self.ignored]
        return parts


async def installed(server: Server) -> list[dict[str, Any]]:
    """The installation records, by name then version."""
    records = [json.loads(v) for v in (await server.store.list_state(STATE_PREFIX)).values()]
    return sorted(records, key=lambda r: (r.get("name", ""), r.get("version", "")))


def _version_ok(wanted: str, have: str) -> bool:
    """npm-style: an exact version, or a pattern with ``x``/``*`` parts, or ``current``/``latest``."""
    if wanted in ("", "*", "latest", "current", "dev") or wanted == have:
        return True
    w, h = wanted.split("."), have.split(".")
    return all(a in ("x", "X", "*") or (i < len(h) and a == h[i]) for i, a in enumerate(w))


def _order(packages: list[Package]) -> list[Package]:
    """The given packages, each after those of them it depends on."""
    by_name = {p.name: p for p in packages}
    out: list[Package] = []
    seen: set[str] = set()

    def visit(p: Package, path: tuple[str, ...]) -> None:
        if p.name in seen:
            return
        if p.name in path:
            raise InvalidError(f"Packages depend on each other in a cycle: {' -> '.join(path)}", "package")
        for dep in p.dependencies:
            if dep in by_name:
                visit(by_name[dep], (*path, p.name))
        seen.add(p.name)
        out.append(p)

    for p in packages:
        visit(p, ())
    return out


async def install_all(server: Server, packages: list[tuple[Package, str]]) -> list[InstallReport]:
    """Install several packages (each in its own transaction), dependencies first."""
    source = {id(p): s for p, s in packages}
    reports = []
    for package in _order([p for p, _ in packages]):
        reports.append(await install(server, package, source[id(package)]))
    return reports


async def _check_dependencies(server: Server, package: Package) -> None:
    have = {(r["name"], r["version"]) for r in await installed(server)}
    for name, wanted in sorted(package.dependencies.items()):
        if name in BUILT_IN:
            continue
        if not any(n == name and _version_ok(wanted, v) for n, v in have):
            raise InvalidError(
                f"{package.label} depends on {name}@{wanted}, which is not installed: install it first "
                "or give it in the same call",
                "package/package.json",
                issue_code="not-found",
            )


async def install(server: Server, package: Package, source: str) -> InstallReport:
    """Install ``package`` (see the module docstring); nothing is written if any resource fails."""
    key = f"{STATE_PREFIX}{package.label}"
    recorded = await server.store.read_state(key)
    if recorded is not None:
        record = json.loads(recorded)
        return InstallReport(
            package.name,
            package.version,
            "already-installed",
            str(record.get("source", source)),
            list(record.get("resources", [])),
        )
    await _check_dependencies(server, package)
    report = InstallReport(package.name, package.version, "installed", source, ignored=list(package.skipped))
    entries: list[dict[str, Any]] = []
    files: list[str] = []
    for path, original in package.resources:
        resource = _tagged(server, original, package.label)
        rtype = resource["resourceType"]
        id, action = await _target(server, path, resource)
        raw_url = resource.get("url")
        url = raw_url if isinstance(raw_url, str) else ""
        report.resources.append({"reference": f"{rtype}/{id}", "url": url, "action": action})
        if action == "unchanged":
            continue
        resource["id"] = id
        entries.append({"resource": resource, "request": {"method": "PUT", "url": f"{rtype}/{id}"}})
        files.append(path)
    if len(entries) > 1 and not server.store.supports_transactions:
        raise NotSupportedError(
            f"This {server.store.name} store cannot write the {len(entries)} resources of {package.label} "
            "atomically (MongoDB needs a replica set for multi-document transactions)",
            "package",
        )
    if entries:
        bundle = {"resourceType": "Bundle", "type": "transaction", "entry": entries}
        ctx = RequestContext(server.base_url)
        try:
            _, parsed = parse_bundle(server, bundle)
            response = await transaction(server, ctx, parsed)
        except FhirError as err:
            raise _in_package(err, package, files) from None
        statuses = iter(e.get("response", {}).get("status", "") for e in response.get("entry", []))
        for r in report.resources:
            if r["action"] != "unchanged":
                r["action"] = "created" if next(statuses, "").startswith("201") else "updated"
    for record in await installed(server):  # an older version of the same package: replaced
        if record.get("name") == package.name:
            await server.store.write_state(f"{STATE_PREFIX}{package.name}@{record.get('version')}", None)
    record = {
        "name": package.name,
        "version": package.version,
        "fhirVersions": list(package.fhir_versions),
        "dependencies": package.dependencies,
        "source": source,
        "installed": clock.instant(clock.now_us()),
        "resources": report.resources,
    }
    await server.store.write_state(key, json.dumps(record, sort_keys=True))
    return report


def _tagged(server: Server, original: dict[str, Any], label: str) -> dict[str, Any]:
    resource = copy.deepcopy(original)
    meta = resource.get("meta")
    meta = dict(meta) if isinstance(meta, dict) else {}
    meta.pop("versionId", None)
    meta.pop("lastUpdated", None)
    system = package_tag_system(server)
    tags = [t for t in meta.get("tag") or [] if not (isinstance(t, dict) and t.get("system") == system)]
    meta["tag"] = [*tags, {"system": system, "code": label}]
    resource["meta"] = meta
    return resource


def _comparable(resource: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in resource.items() if k != "id"}
    meta = dict(out.get("meta") or {})
    meta.pop("versionId", None)
    meta.pop("lastUpdated", None)
    out["meta"] = meta
    return fhirjson.loads(fhirjson.dumps(out))  # type: ignore[no-any-return]


async def _target(server: Server, path: str, resource: dict[str, Any]) -> tuple[str, str]:
    """The id to write ``resource`` under, and ``create`` / ``update`` / ``unchanged``."""
    rtype = resource["resourceType"]
    own_id = resource.get("id")
    own_id = own_id if isinstance(own_id, str) and _ID.match(own_id) else None
    url = resource.get("url")
    existing: dict[str, Any] | None = None
    id: str | None = None
    if rtype != "NamingSystem" and isinstance(url, str) and url:
        query = parse_search((rtype,), [("url", url), ("_count", "2")], server.registry, strict=True)
        page = await server.store.search(query)
        if len(page.items) > 1:
            raise InvalidError(
                f"{path}: several stored {rtype} resources have the url {url}; an installation updates "
                "one: delete the others first",
                path,
                issue_code="multiple-matches",
            )
        if page.items:
            id, existing = page.items[0].id, fhirjson.loads(page.items[0].body)
        elif own_id is not None:
            stored = await server.store.read(rtype, own_id)
            taken = stored is not None and not stored.deleted
            id = RequestContext.new_id() if taken else own_id
        else:
            id = RequestContext.new_id()
    else:
        id = own_id or RequestContext.new_id()
        stored = await server.store.read(rtype, id)
        if stored is not None and not stored.deleted:
            existing = fhirjson.loads(stored.body)
    if existing is None:
        return id, "create"
    if _comparable(existing) == _comparable(resource):
        return id, "unchanged"
    return id, "update"


_ENTRY = re.compile(r"^Bundle\.entry\[(\d+)\]\.resource")
_WHERE = re.compile(r"^Bundle\.entry\[(\d+)\](\.[a-z.]+)?: ")


def _in_package(err: FhirError, package: Package, files: list[str]) -> FhirError:
    """An error of the transaction, told in terms of the package's files and resources."""

    def file_of(index: int) -> str:
        return files[index] if 0 <= index < len(files) else "package"

    def expression(expr: str, rtype: str | None) -> str:
        m = _ENTRY.match(expr)
        if not m:
            return expr
        type_ = rtype or "Resource"
        return type_ + expr[m.end() :]

    issues = []
    for issue in err.issues:
        m = _WHERE.match(issue.diagnostics)
        where = file_of(int(m.group(1))) if m else None
        text = issue.diagnostics[m.end() :] if m else issue.diagnostics
        rtype = None
        if where is not None:
            rtype = next((r["resourceType"] for p, r in package.resources if p == where), None)
        prefix = f"{package.label} {where}: " if where else f"{package.label}: "
        issues.append(
            Issue(
                issue.severity,
                issue.code,
                prefix + text + " (nothing was installed)",
                tuple(expression(e, rtype) for e in issue.expression),
                issue.details_code,
            )
        )
    moved = InvalidResourceError(issues, status=err.status if err.status < 500 else 400)
    return moved


async def uninstall(server: Server, name: str) -> InstallReport:
    """Remove an installed package: delete (in one transaction) the resources it installed that
    still carry its tag (a resource a later package or a client rewrote is left alone), then its
    record. Refused while another installed package depends on it."""
    records = [r for r in await installed(server) if r.get("name") == name]
    if not records:
        raise NotFoundError(f"No installed package {name}", "package")
    record = records[0]
    label = f"{name}@{record.get('version')}"
    dependents = sorted(
        f"{r['name']}@{r['version']}"
        for r in await installed(server)
        if name in (r.get("dependencies") or {}) and r.get("name") != name
    )
    if dependents:
        raise InvalidError(
            f"{label} is needed by {', '.join(dependents)}: uninstall those first",
            "package",
            issue_code="business-rule",
        )
    tag = {"system": package_tag_system(server), "code": label}
    report = InstallReport(name, str(record.get("version")), "uninstalled", str(record.get("source", "")))
    entries: list[dict[str, Any]] = []
    for r in record.get("resources", []):
        rtype, _, id = str(r.get("reference", "")).partition("/")
        stored = await server.store.read(rtype, id) if rtype and id else None
        body = fhirjson.loads(stored.body) if stored is not None and not stored.deleted else None
        tags = (body.get("meta") or {}).get("tag") or [] if isinstance(body, dict) else []
        keep = body is None or tag not in tags
        report.resources.append(
            {"reference": f"{rtype}/{id}", "url": r.get("url", ""), "action": "kept" if keep else "deleted"}
        )
        if not keep:
            entries.append({"request": {"method": "DELETE", "url": f"{rtype}/{id}"}})
    if len(entries) > 1 and not server.store.supports_transactions:
        raise NotSupportedError(
            f"This {server.store.name} store cannot delete the {len(entries)} resources of {label} "
            "atomically (MongoDB needs a replica set for multi-document transactions)",
            "package",
        )
    if entries:
        bundle = {"resourceType": "Bundle", "type": "transaction", "entry": entries}
        _, parsed = parse_bundle(server, bundle)
        await transaction(server, RequestContext(server.base_url), parsed)
    await server.store.write_state(f"{STATE_PREFIX}{label}", None)
    return report
