"""Parameters added after resources of their base were stored, until a reindex covers them.

A parameter registered at run time finds only what was written after it, until
``$reindex`` rewrites the entries of the older resources. A search that uses such a
parameter says so in the searchset's OperationOutcome instead of returning fewer
results silently. The state is kept in the store (``reindex-pending/<Type>/<code>``,
so it survives a restart) and mirrored here for the searches.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from ..errors import Issue

PREFIX = "reindex-pending/"
ANY_TYPE = "Resource"  # a parameter on Resource/DomainResource: every type is behind


@dataclass(frozen=True)
class Pending:
    resource_type: str
    code: str
    url: str
    count: int  # resources of the type stored when the parameter was added
    since_us: int  # when it was added

    @property
    def key(self) -> str:
        return f"{PREFIX}{self.resource_type}/{self.code}"

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Pending:
        return cls(**json.loads(text))


@dataclass
class PendingReindex:
    entries: dict[tuple[str, str], Pending] = field(default_factory=dict)

    def put(self, pending: Pending) -> None:
        self.entries[(pending.resource_type, pending.code)] = pending

    def drop(self, resource_type: str, code: str) -> Pending | None:
        return self.entries.pop((resource_type, code), None)

    def covered(self, resource_types: tuple[str, ...] | None, started_us: int) -> list[Pending]:
        """The entries a reindex of ``resource_types`` (None: every type) started at
        ``started_us`` has brought up to date."""
        return [
            p
            for p in self.entries.values()
            if p.since_us <= started_us and (resource_types is None or p.resource_type in resource_types)
        ]

    def issues(self, resource_types: tuple[str, ...], codes: set[str]) -> list[Issue]:
        """Warnings for a search over ``resource_types`` (empty: system search) using ``codes``."""
        out = []
        for p in sorted(self.entries.values(), key=lambda p: (p.resource_type, p.code)):
            if p.code not in codes:
                continue
            if resource_types and p.resource_type not in resource_types and p.resource_type != ANY_TYPE:
                continue
            where = "resources" if p.resource_type == ANY_TYPE else f"resources of type {p.resource_type}"
            target = (
                "[base]/$reindex" if p.resource_type == ANY_TYPE else f"[base]/{p.resource_type}/$reindex"
            )
            out.append(
                Issue(
                    "warning",
                    "incomplete",
                    f"Parameter '{p.code}' was added after {p.count} {where} were stored; they are "
                    f"not indexed for it yet, so results may be missing: run POST {target}",
                    (p.code,),
                )
            )
        return out
