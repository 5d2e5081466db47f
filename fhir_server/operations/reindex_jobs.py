"""Background ``$reindex`` jobs: batches from a persisted cursor, resumable, with progress.

A job reindexes the current resources of its types (every type for a system-level
job) in (type, id) order, ``settings.reindex_batch_size`` per batch, each batch one
``Store.reindex_batch`` call. After every batch the job's state (status, counts, the
cursor: the last type and id done) is written to the store under
``reindex-job/<id>``, so a job interrupted by a stop resumes from its cursor when
the server starts again (``resume_all``) or when ``$reindex`` is asked again for the
same types. When a job completes, the parameters pending a reindex of its types
(added before the job started) stop being reported (``search/pending_reindex.py``).

Status: ``queued`` -> ``running`` -> ``completed`` | ``failed``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any

from .. import clock, logs
from ..search.ir import SearchQuery
from ..search.pending_reindex import ANY_TYPE

if TYPE_CHECKING:
    from ..server import Server

logger = logging.getLogger("fhir_server.reindex")

PREFIX = "reindex-job/"
UNFINISHED = ("queued", "running")


@dataclass(frozen=True)
class Job:
    id: str
    types: tuple[str, ...] | None  # None: every type (system level)
    status: str = "queued"
    total: int = 0  # current resources of the types when the job was created
    processed: int = 0
    changed: int = 0
    skipped: int = 0
    batches: int = 0
    cursor: tuple[str, str] | None = None  # the last (type, id) done
    started_us: int = 0
    finished_us: int | None = None
    error: str | None = None
    params_changed: tuple[str, ...] = field(default=())  # parameter codes whose entries changed

    @property
    def key(self) -> str:
        return PREFIX + self.id

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Job:
        raw: dict[str, Any] = json.loads(text)
        raw["types"] = tuple(raw["types"]) if raw.get("types") is not None else None
        raw["cursor"] = tuple(raw["cursor"]) if raw.get("cursor") else None
        raw["params_changed"] = tuple(raw.get("params_changed") or ())
        return cls(**raw)


class ReindexJobs:
    """The jobs of one server process. ``stop_after_batches`` is a test hook: a running
    job stops (as if the server stopped) after that many batches of this process."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self.stop_after_batches: int | None = None

    async def save(self, job: Job) -> None:
        await self.server.store.write_state(job.key, job.to_json())

    async def get(self, id: str) -> Job | None:
        text = await self.server.store.read_state(PREFIX + id)
        return Job.from_json(text) if text is not None else None

    async def all(self) -> list[Job]:
        return [Job.from_json(t) for t in (await self.server.store.list_state(PREFIX)).values()]

    async def start(self, types: tuple[str, ...] | None) -> Job:
        """Resume the unfinished job for ``types``, or create one (a completed reindex may
        be run again: it rewrites nothing that is up to date)."""
        for job in await self.all():
            if job.status in UNFINISHED and job.types == types:
                self.spawn(job)
                return job
        query = SearchQuery(resource_types=types or (), count=0, total="accurate")
        total = (await self.server.store.search(query)).total or 0
        job = Job(uuid.uuid4().hex, types, total=total, started_us=clock.now_us())
        await self.save(job)
        self.spawn(job)
        return job

    async def resume_all(self) -> None:
        for job in await self.all():
            if job.status in UNFINISHED:
                self.spawn(job)

    def spawn(self, job: Job) -> None:
        task = self.tasks.get(job.id)
        if task is None or task.done():
            self.tasks[job.id] = asyncio.create_task(self.run(job), name=f"reindex-{job.id}")

    async def wait(self, id: str) -> None:
        task = self.tasks.get(id)
        if task is not None:
            await asyncio.shield(task)

    async def close(self) -> None:
        """Stop the running jobs (their state stays ``running`` with its cursor: resumed later)."""
        tasks = [t for t in self.tasks.values() if not t.done()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self.tasks.clear()

    def _types(self, job: Job) -> list[str]:
        return list(job.types) if job.types is not None else sorted(self.server.definitions.resource_types)

    async def run(self, job: Job) -> None:
        store, extract = self.server.store, self.server.extractor.extract
        size = max(1, self.server.settings.reindex_batch_size)
        job = replace(job, status="running")
        await self.save(job)
        logs.log(logger, logging.INFO, "reindex running", job=job.id, cursor=str(job.cursor))
        batches = 0
        try:
            while True:
                batch = await store.reindex_batch(self._types(job), job.cursor, size, extract)
                codes = {c for r in batch.changed for c in r.changed} | set(job.params_changed)
                job = replace(
                    job,
                    processed=job.processed + batch.processed,
                    changed=job.changed + len(batch.changed),
                    skipped=job.skipped + batch.skipped,
                    batches=job.batches + 1,
                    cursor=batch.last,
                    params_changed=tuple(sorted(codes)),
                )
                if batch.done:
                    break
                await self.save(job)
                batches += 1
                if self.stop_after_batches is not None and batches >= self.stop_after_batches:
                    logs.log(logger, logging.INFO, "reindex stopped (test hook)", job=job.id)
                    return
            await self.finish(job)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            logger.exception("reindex failed")
            await self.save(replace(job, status="failed", error=str(exc), finished_us=clock.now_us()))

    async def finish(self, job: Job) -> None:
        pending = self.server.pending
        covered = pending.covered(job.types, job.started_us)
        for p in covered:
            if job.types is not None and p.resource_type == ANY_TYPE:
                continue
            await self.server.store.write_state(p.key, None)
            pending.drop(p.resource_type, p.code)
        await self.save(replace(job, status="completed", finished_us=clock.now_us()))
        logs.log(logger, logging.INFO, "reindex completed", job=job.id, processed=job.processed)
