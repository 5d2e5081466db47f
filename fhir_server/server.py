"""The parts an interaction works with, wired once by ``app.py`` (the composition root)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .config import Settings
from .definitions import Definitions
from .operations.registry import Operations
from .scheme.hooks import WriteHooks
from .search.extract import Extractor
from .search.pending_reindex import PendingReindex
from .search.registry import SearchRegistry
from .storage.protocol import Store
from .terminology import Terminology

if TYPE_CHECKING:
    from .operations.reindex_jobs import ReindexJobs
    from .validation.profiles import Profiles


@dataclass
class Server:
    settings: Settings
    store: Store
    definitions: Definitions
    registry: SearchRegistry
    extractor: Extractor
    terminology: Terminology
    # run-time SearchParameters (interactions/search_parameters.py): stored id -> registered url
    custom_params: dict[str, str] = field(default_factory=dict)
    pending: PendingReindex = field(default_factory=PendingReindex)
    jobs: ReindexJobs | None = None  # $reindex jobs (operations/reindex_jobs.py), set by app.py
    profiles: Profiles | None = None  # profile validation (validation/profiles.py), set by app.py
    write_hooks: WriteHooks = field(default_factory=WriteHooks)  # scheme rules (scheme/hooks.py)
    operations: Operations = field(default_factory=Operations)  # registered $operations

    @property
    def base_url(self) -> str:
        return self.settings.fhir_base
