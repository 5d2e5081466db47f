"""Wire the scheme's write hooks on a server (called once by ``app.py``)."""

from __future__ import annotations

from ..server import Server
from . import family, insuree


def register(server: Server) -> None:
    """Register every scheme module's hooks; each module adds its own ``register`` call here."""
    server.write_hooks.register("Patient", insuree.hook)  # insurance number, family, status, photo
    server.write_hooks.register("Group", family.hook)  # head, members, moves, quantity
