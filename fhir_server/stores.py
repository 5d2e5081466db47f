"""Choosing a store from its URL: ``sqlite:///path/file.db`` or ``mongodb://...``."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from .config import Settings
from .storage.protocol import Store


def open_store(settings: Settings) -> Store:
    url = settings.store
    if url.startswith("sqlite:///"):
        from .storage.sqlite.store import SQLiteStore

        return SQLiteStore(Path(url[len("sqlite:///") :]), synchronous=settings.sqlite_synchronous)
    if url.startswith(("mongodb://", "mongodb+srv://")):
        from .storage.mongo.store import MongoStore

        database = urlsplit(url).path.lstrip("/") or "fhir"
        return MongoStore(url, database=database, chain_limit=settings.chain_limit)
    raise ValueError(f"Unsupported store URL '{url}': use sqlite:///path/file.db or mongodb://host/db")
