"""The parts an interaction works with, wired once by ``app.py`` (the composition root)."""

from __future__ import annotations

from dataclasses import dataclass

from .config import Settings
from .definitions import Definitions
from .search.extract import Extractor
from .search.registry import SearchRegistry
from .storage.protocol import Store
from .terminology import Terminology


@dataclass
class Server:
    settings: Settings
    store: Store
    definitions: Definitions
    registry: SearchRegistry
    extractor: Extractor
    terminology: Terminology

    @property
    def base_url(self) -> str:
        return self.settings.fhir_base
