"""Wire the scheme's write hooks on a server (called once by ``app.py``)."""

from __future__ import annotations

from ..server import Server


def register(server: Server) -> None:
    """Register every scheme module's hooks; each module adds its own ``register`` call here."""
    del server  # the modules (insuree, family, policy, premium) register here as they land
