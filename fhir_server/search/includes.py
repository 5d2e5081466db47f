"""``_include`` and ``_revinclude`` for one page of matches (search.html#include).

Per page, each round makes at most one ``Store.references_of`` call and one
``Store.read_many`` call for all its ``_include``s together, and one
``Store.reverse_references`` call per ``_revinclude`` (``_revinclude=*``: any source type,
any reference parameter: "the wildcard literal * (asterisk) is requesting all resources and
references supported by the server"). The first round applies every
include to the page's matches; each further round applies the ``:iterate`` ones (R4
also accepts ``:recurse``) to the resources the previous round added, up to
``max_depth`` rounds. At most ``max_includes`` resources are included per page;
resources are deduplicated against the matches and each other, and only current,
non-deleted versions are included. A limit that cuts the result is reported as an
issue for the Bundle's OperationOutcome.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ..errors import Issue
from ..storage.protocol import Store, StoredReference, StoredVersion
from .ir import Include

__all__ = ["IncludeLimits", "Included", "include_resources"]

Key = tuple[str, str]


@dataclass(frozen=True)
class IncludeLimits:
    max_includes: int = 1000
    max_depth: int = 3


@dataclass
class Included:
    resources: list[StoredVersion] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)


def _key(v: StoredVersion) -> Key:
    return (v.resource_type, v.id)


def _local_key(ref: StoredReference) -> Key | None:
    """``(type, id)`` of a local ``Type/id`` reference, else None (absolute URLs, canonicals)."""
    rtype = ref.target_type
    if not rtype or ":" in ref.target or not ref.target.startswith(rtype + "/"):
        return None
    rid = ref.target[len(rtype) + 1 :]
    return (rtype, rid) if rid and "/" not in rid else None


def _follows(inc: Include, ref: StoredReference) -> bool:
    return (
        inc.source_type in ("*", ref.resource_type)
        and inc.param in ("*", ref.param)
        and (inc.target_type is None or inc.target_type == ref.target_type)
    )


def _applies(inc: Include, sources: Sequence[StoredVersion]) -> bool:
    if inc.reverse:
        return inc.target_type is None or any(v.resource_type == inc.target_type for v in sources)
    return inc.source_type == "*" or any(v.resource_type == inc.source_type for v in sources)


def _name(inc: Include) -> str:
    prefix = "_revinclude" if inc.reverse else "_include"
    target = f":{inc.target_type}" if inc.target_type else ""
    return f"{prefix}{':iterate' if inc.iterate else ''}={inc.source_type}:{inc.param}{target}"


class _Round:
    """One round of includes over ``sources``; ``budget`` resources at most."""

    def __init__(self, store: Store, seen: set[Key], budget: int) -> None:
        self.store, self.seen, self.budget = store, seen, budget
        self.found: list[StoredVersion] = []
        self.cut = False

    def add(self, versions: Sequence[StoredVersion]) -> None:
        for v in sorted(versions, key=_key):
            if _key(v) in self.seen:
                continue
            if len(self.found) >= self.budget:
                self.cut = True
                return
            self.seen.add(_key(v))
            self.found.append(v)

    async def forward(self, sources: Sequence[StoredVersion], includes: Sequence[Include]) -> None:
        if not includes:
            return
        types = {i.source_type for i in includes}
        keys = [_key(v) for v in sources if "*" in types or v.resource_type in types]
        params = None if any(i.param == "*" for i in includes) else sorted({i.param for i in includes})
        refs = await self.store.references_of(keys, params) if keys else []
        wanted: set[Key] = set()
        for ref in refs:
            key = _local_key(ref)
            if key is not None and key not in self.seen and any(_follows(i, ref) for i in includes):
                wanted.add(key)
        ordered = sorted(wanted)
        # one read when every target exists; more only when missing ones leave room
        while ordered and not self.cut:
            room = self.budget - len(self.found)
            batch, ordered = ordered[: room + 1], ordered[room + 1 :]
            self.add(await self.store.read_many(batch))

    async def reverse(self, sources: Sequence[StoredVersion], inc: Include) -> None:
        targets = [f"{t}/{i}" for t, i in map(_key, sources) if inc.target_type in (None, t)]
        if not targets or self.cut:
            return
        # the seen ones may come back too: ask for enough to tell whether the budget cuts
        limit = self.budget - len(self.found) + len(self.seen) + 1
        param = None if inc.param == "*" else inc.param
        self.add(await self.store.reverse_references(inc.source_type, param, targets, limit))


async def include_resources(
    store: Store,
    matches: Sequence[StoredVersion],
    includes: Sequence[Include],
    limits: IncludeLimits,
) -> Included:
    """The resources ``includes`` add to the page ``matches``, and issues for what was cut."""
    out = Included()
    active = list(includes)
    seen = {_key(v) for v in matches}
    sources: Sequence[StoredVersion] = matches
    depth = 0
    while sources and (active := [i for i in active if _applies(i, sources)]):
        if depth >= limits.max_depth:
            left = ", ".join(dict.fromkeys(_name(i) for i in active))
            msg = (
                f"_include/_revinclude stopped after {depth} round(s) (the depth limit); not applied: {left}"
            )
            out.issues.append(Issue("information", "too-costly", msg))
            break
        step = _Round(store, seen, limits.max_includes - len(out.resources))
        await step.forward(sources, [i for i in active if not i.reverse])
        for inc in (i for i in active if i.reverse):
            await step.reverse(sources, inc)
        out.resources.extend(step.found)
        if step.cut:
            msg = f"Included resources cut at {limits.max_includes} per page (the limit); some were left out"
            out.issues.append(Issue("warning", "too-costly", msg))
            break
        depth += 1
        sources = step.found
        active = [i for i in includes if i.iterate]
    return out
