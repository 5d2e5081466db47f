"""MongoDB storage backend (motor): see ``store.py``."""

from .store import MongoStore

__all__ = ["MongoStore"]
