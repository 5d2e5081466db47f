"""``fhir-server load PATH...``: load resources, Bundles and folders into a server.

What a path may be:

- a JSON file holding one resource: with an ``id`` it is PUT (``update``, which creates it
  the first time: http.html "Update as Create"), without one POSTed (``create``);
- a JSON file holding a Bundle: a ``transaction`` or ``batch`` Bundle is POSTed to the base
  as it is; a ``collection`` (or ``searchset``) Bundle is loaded as a transaction of its
  entries (PUT ``Type/id`` for those with an id, POST for the others, ``fullUrl`` kept so
  ``urn:uuid`` references resolve), so it is stored whole or not at all;
- a folder: its ``*.json`` files and sub-folders in name order (``01-…``, ``02-…`` give the
  order of a worked example), recursively; other files are skipped.

Everything goes through the server's normal write path (validation, profiles, the scheme's
write hooks), either in this process on the configured store (the ASGI app driven by an
in-memory HTTP client, no socket) or over HTTP into a running server (``--url``).

Loading again writes nothing new: before a PUT the current version is read, and when it
already holds everything the file says (the server's own additions aside: ``meta``, the
values a write hook computes) the resource is reported ``unchanged`` and not rewritten.
So an element removed from a file is not removed from the stored resource by loading it
again; delete the resource (or the store) for that. A file whose content the server
overrides (a paid policy's file says ``draft``, as its client sent it) is written again:
the server keeps what it computed, the resource gets a new version.

The first refusal stops the load: the file, the Bundle entry and the server's
OperationOutcome are reported (:class:`LoadError`); what earlier files stored stays.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from . import fhirjson

Json = dict[str, Any]
FHIR_JSON = {"Content-Type": "application/fhir+json", "Accept": "application/fhir+json"}
_ENTRY = re.compile(r"Bundle\.entry\[(\d+)\]")
_IGNORED_META = ("versionId", "lastUpdated", "source")


@dataclass
class FileReport:
    """What one file did: ``(action, reference)`` pairs, action created / updated / unchanged."""

    path: Path
    actions: list[tuple[str, str]] = field(default_factory=list)

    def count(self, action: str) -> int:
        return sum(1 for a, _ in self.actions if a == action)

    def summary(self) -> str:
        parts = [f"{self.count(a)} {a}" for a in ("created", "updated", "unchanged") if self.count(a)]
        return f"{self.path}: {', '.join(parts) or 'nothing'}"


class LoadError(Exception):
    """The server refused a write (or the file could not be read); the load stops here."""

    def __init__(
        self,
        path: Path,
        message: str,
        *,
        entry: int | None = None,
        reference: str | None = None,
        status: int | None = None,
        outcome: Json | None = None,
    ) -> None:
        super().__init__(message)
        self.path = path
        self.entry = entry
        self.reference = reference
        self.status = status
        self.outcome = outcome

    def describe(self) -> str:
        where = str(self.path)
        if self.entry is not None:
            where += f" entry[{self.entry}]"
        if self.reference:
            where += f" ({self.reference})"
        status = f" HTTP {self.status}" if self.status else ""
        lines = [f"error: {where}:{status} {self}"]
        for issue in (self.outcome or {}).get("issue") or []:
            if not isinstance(issue, dict):
                continue
            expression = ", ".join(issue.get("expression") or [])
            text = issue.get("diagnostics") or (issue.get("details") or {}).get("text") or ""
            lines.append(
                f"  {issue.get('severity')} {issue.get('code')}: {text}"
                + (f" [{expression}]" if expression else "")
            )
        return "\n".join(lines)


def files_of(path: Path) -> Iterator[Path]:
    """``path`` itself, or a folder's ``*.json`` files and sub-folders in name order."""
    if path.is_dir():
        for child in sorted(path.iterdir(), key=lambda p: p.name):
            if child.name.startswith("."):
                continue
            if child.is_dir() or child.suffix == ".json":
                yield from files_of(child)
    else:
        yield path


def contains(stored: Any, given: Any) -> bool:
    """Whether ``stored`` already says everything ``given`` says (given ⊆ stored, deeply).

    Objects: every key of ``given`` is in ``stored`` with a containing value; arrays: every
    element of ``given`` is contained in some element of ``stored`` (the server may add
    elements, e.g. computed extensions); primitives: equal (decimals compared as numbers)."""
    if isinstance(given, dict):
        return isinstance(stored, dict) and all(
            k in stored and contains(stored[k], v) for k, v in given.items()
        )
    if isinstance(given, list):
        return isinstance(stored, list) and all(any(contains(s, g) for s in stored) for g in given)
    return bool(stored == given) and isinstance(stored, bool) == isinstance(given, bool)


def _comparable(resource: Json) -> Json:
    out = dict(resource)
    meta = out.get("meta")
    if isinstance(meta, dict):
        meta = {k: v for k, v in meta.items() if k not in _IGNORED_META}
        if meta:
            out["meta"] = meta
        else:
            out.pop("meta")
    return out


def _body(response: httpx.Response) -> Json | None:
    try:
        body = fhirjson.loads(response.content)
    except Exception:  # the body is not JSON: the message says what came back
        return None
    return body if isinstance(body, dict) else None


def _status(text: Any) -> int:
    try:
        return int(str(text).split()[0])
    except (ValueError, IndexError):
        return 0


def _action(status: int) -> str:
    return "created" if status == 201 else "updated"


class Loader:
    """Loads files through ``client``, an httpx client whose base URL is the FHIR base (``…/fhir/``)."""

    def __init__(self, client: httpx.AsyncClient, report: Callable[[FileReport], None] | None = None) -> None:
        self.client = client
        self.report = report

    async def load(self, paths: list[Path]) -> list[FileReport]:
        reports: list[FileReport] = []
        for root in paths:
            if not root.exists():
                raise LoadError(root, "no such file or folder")
            for path in files_of(root):
                done = await self.load_file(path)
                reports.append(done)
                if self.report is not None:
                    self.report(done)
        return reports

    async def load_file(self, path: Path) -> FileReport:
        try:
            resource = fhirjson.loads(path.read_bytes())
        except Exception as e:
            raise LoadError(path, f"not a JSON file: {e}") from None
        if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
            raise LoadError(path, "not a FHIR resource (a JSON object with resourceType)")
        report = FileReport(path)
        if resource["resourceType"] == "Bundle":
            await self._bundle(path, resource, report)
        else:
            await self._resource(path, resource, report)
        return report

    async def _unchanged(self, resource: Json, reference: str) -> bool:
        response = await self.client.get(reference, headers=FHIR_JSON)
        if response.status_code != 200:
            return False  # absent (404) or deleted (410): written; other errors show on the write
        stored = _body(response)
        return stored is not None and contains(stored, _comparable(resource))

    async def _resource(self, path: Path, resource: Json, report: FileReport) -> None:
        rt, id = resource["resourceType"], resource.get("id")
        if isinstance(id, str) and id:
            reference = f"{rt}/{id}"
            if await self._unchanged(resource, reference):
                report.actions.append(("unchanged", reference))
                return
            response = await self.client.put(reference, content=fhirjson.dumps(resource), headers=FHIR_JSON)
        else:
            reference = rt
            response = await self.client.post(rt, content=fhirjson.dumps(resource), headers=FHIR_JSON)
        if response.status_code >= 300:
            raise LoadError(
                path,
                "the server refused the resource",
                reference=reference,
                status=response.status_code,
                outcome=_body(response),
            )
        if reference == rt:
            body = _body(response) or {}
            location = response.headers.get("Location", "")
            reference = f"{rt}/{body.get('id') or location.split('/' + rt + '/')[-1].split('/')[0]}"
        report.actions.append((_action(response.status_code), reference))

    async def _bundle(self, path: Path, bundle: Json, report: FileReport) -> None:
        kind = bundle.get("type")
        entries = [e for e in bundle.get("entry") or [] if isinstance(e, dict)]
        if kind in ("transaction", "batch"):
            sent = bundle
            positions = list(range(len(entries)))
        elif kind in ("collection", "searchset"):
            sent, positions = await self._as_transaction(path, entries, report)
            if not positions:
                return
        else:
            raise LoadError(
                path, f"a Bundle of type '{kind}' cannot be loaded (transaction, batch, collection)"
            )
        response = await self.client.post("", content=fhirjson.dumps(sent), headers=FHIR_JSON)
        body = _body(response)
        if response.status_code >= 300 or body is None:
            entry = None
            for issue in (body or {}).get("issue") or []:
                for expression in issue.get("expression") or [] if isinstance(issue, dict) else []:
                    found = _ENTRY.search(expression)
                    if found and entry is None and int(found.group(1)) < len(positions):
                        entry = positions[int(found.group(1))]
            raise LoadError(
                path, f"the server refused the {kind}", entry=entry, status=response.status_code, outcome=body
            )
        answers = [e for e in body.get("entry") or [] if isinstance(e, dict)]
        for n, answer in enumerate(answers):
            result = answer.get("response") or {}
            status = _status(result.get("status"))
            position = positions[n] if n < len(positions) else n
            request = (entries[position].get("request") or {}) if position < len(entries) else {}
            if status >= 300 or status == 0:
                raise LoadError(
                    path,
                    f"the server refused a {kind} entry",
                    entry=position,
                    reference=str(request.get("url") or ""),
                    status=status or None,
                    outcome=result.get("outcome"),
                )
            location = str(result.get("location") or request.get("url") or "")
            reference = "/".join(location.split("/_history/")[0].split("/")[-2:])
            if request.get("method") == "DELETE":
                report.actions.append(("deleted", reference))
            else:
                report.actions.append((_action(status), reference))

    async def _as_transaction(
        self, path: Path, entries: list[Json], report: FileReport
    ) -> tuple[Json, list[int]]:
        """The collection's entries as a transaction; unchanged resources (by id) are left out
        unless a ``urn:`` fullUrl may be referenced by the others."""
        out: list[Json] = []
        positions: list[int] = []
        for i, entry in enumerate(entries):
            resource = entry.get("resource")
            if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
                raise LoadError(path, "a collection entry without a resource", entry=i)
            rt, id = resource["resourceType"], resource.get("id")
            full_url = entry.get("fullUrl")
            if isinstance(id, str) and id:
                reference = f"{rt}/{id}"
                if not str(full_url or "").startswith("urn:") and await self._unchanged(resource, reference):
                    report.actions.append(("unchanged", reference))
                    continue
                request = {"method": "PUT", "url": reference}
            else:
                request = {"method": "POST", "url": rt}
            sent: Json = {"resource": resource, "request": request}
            if full_url:
                sent["fullUrl"] = full_url
            out.append(sent)
            positions.append(i)
        return {"resourceType": "Bundle", "type": "transaction", "entry": out}, positions
