"""``$reindex``: bring the index entries of stored resources up to date with the registry.

OperationDefinition: ``profiles/OperationDefinition-reindex.json``
(``{canonical_base}/OperationDefinition/reindex``); the asynchronous pattern is that of
async.html ("202 Accepted ... Content-Location header with the absolute URL of an
endpoint for subsequent status requests").

* ``POST [base]/[type]/[id]/$reindex``: synchronous; a ``Parameters`` resource saying
  what changed for that resource (``entriesChanged``, and a ``parameter`` per code whose
  entries were added, removed or changed).
* ``POST [base]/$reindex`` and ``POST [base]/[type]/$reindex``: start (or resume, when an
  unfinished job for the same types exists) a background job (``reindex_jobs.py``);
  ``202 Accepted`` with ``Content-Location: [base]/$reindex-status?job=<id>`` and the
  job's status as the body.
* ``GET [base]/$reindex-status?job=<id>``: the job's progress as ``Parameters``
  (``job``, ``status`` queued | running | completed | failed, ``resourceType`` per type
  or ``*``, ``total``, ``processed``, ``changed``, ``skipped``, ``batches``, ``cursor``
  (``Type/id`` of the last resource done), ``parameter`` per code changed, ``started``,
  ``finished``, ``error``); without ``job``: every job, newest first.

Only the entries of the current version change: no new version, no ``lastUpdated``
change, no history entry.
"""

from __future__ import annotations

from typing import Any

from .. import clock
from ..errors import GoneError, InvalidError, MethodNotAllowedError, NotFoundError
from ..server import Server
from .reindex_jobs import Job, ReindexJobs

Json = dict[str, Any]

STATUS_PATH = "$reindex-status"


def _jobs(server: Server) -> ReindexJobs:
    if server.jobs is None:
        server.jobs = ReindexJobs(server)
    return server.jobs


def status_url(server: Server, job: Job) -> str:
    return f"{server.base_url}/{STATUS_PATH}?job={job.id}"


def job_parameters(job: Job) -> list[Json]:
    out: list[Json] = [
        {"name": "job", "valueString": job.id},
        {"name": "status", "valueCode": job.status},
    ]
    out += [{"name": "resourceType", "valueString": t} for t in (job.types or ("*",))]
    for name in ("total", "processed", "changed", "skipped", "batches"):
        out.append({"name": name, "valueInteger": getattr(job, name)})
    if job.cursor is not None:
        out.append({"name": "cursor", "valueString": f"{job.cursor[0]}/{job.cursor[1]}"})
    out += [{"name": "parameter", "valueString": c} for c in job.params_changed]
    if job.started_us:
        out.append({"name": "started", "valueInstant": clock.instant(job.started_us)})
    if job.finished_us is not None:
        out.append({"name": "finished", "valueInstant": clock.instant(job.finished_us)})
    if job.error:
        out.append({"name": "error", "valueString": job.error})
    return out


async def operation(
    server: Server, method: str, segments: list[str], params: list[tuple[str, str]]
) -> tuple[Json, int, dict[str, str]]:
    """The response (body, status, headers) of ``$reindex`` / ``$reindex-status`` on ``segments``."""
    name, target = segments[-1], segments[:-1]
    if name == STATUS_PATH:
        if target:
            raise NotFoundError(
                f"{STATUS_PATH} is a system-level endpoint: GET [base]/{STATUS_PATH}?job=<id>"
            )
        if method != "GET":
            raise MethodNotAllowedError(f"{method} is not allowed on {STATUS_PATH} (allowed: GET)")
        return await status(server, dict(params).get("job")), 200, {}
    if method != "POST":
        raise MethodNotAllowedError(f"{method} is not allowed on $reindex (allowed: POST)")
    if len(target) > 2:
        raise NotFoundError(f"No $reindex on /{'/'.join(target)}")
    if target and not server.definitions.is_resource_type(target[0]):
        raise NotFoundError(f"Unknown resource type '{target[0]}'", issue_code="not-supported")
    if len(target) == 2:
        return await instance(server, target[0], target[1]), 200, {}
    job = await _jobs(server).start((target[0],) if target else None)
    body = {"resourceType": "Parameters", "parameter": job_parameters(job)}
    return body, 202, {"Content-Location": status_url(server, job)}


async def instance(server: Server, resource_type: str, id: str) -> Json:
    current = await server.store.read(resource_type, id)
    if current is None:
        raise NotFoundError(f"{resource_type}/{id} does not exist")
    if current.deleted:
        raise GoneError(f"{resource_type}/{id} is deleted")
    batch = await server.store.reindex_batch((resource_type,), None, 1, server.extractor.extract, id=id)
    changed = batch.changed[0].changed if batch.changed else ()
    parameters: list[Json] = [
        {"name": "resource", "valueReference": {"reference": f"{resource_type}/{id}"}},
        {"name": "version", "valueString": str(current.version)},
        {"name": "entriesChanged", "valueBoolean": bool(changed)},
    ]
    parameters += [{"name": "parameter", "valueString": c} for c in changed]
    if batch.skipped:
        parameters.append(
            {"name": "skipped", "valueString": "written meanwhile: its new version keeps its entries"}
        )
    return {"resourceType": "Parameters", "parameter": parameters}


async def status(server: Server, job_id: str | None) -> Json:
    jobs = _jobs(server)
    if job_id is None:
        every = sorted(await jobs.all(), key=lambda j: j.started_us, reverse=True)
        return {
            "resourceType": "Parameters",
            "parameter": [{"name": "job", "part": job_parameters(j)} for j in every],
        }
    if not job_id.replace("-", "").isalnum():
        raise InvalidError(f"'{job_id}' is not a reindex job id", "job", issue_code="value")
    job = await jobs.get(job_id)
    if job is None:
        raise NotFoundError(f"No reindex job '{job_id}'")
    return {"resourceType": "Parameters", "parameter": job_parameters(job)}
