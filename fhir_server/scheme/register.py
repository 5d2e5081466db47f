"""Wire the scheme's write hooks on a server (called once by ``app.py``)."""

from __future__ import annotations

from ..operations import eligibility_submit
from ..server import Server


def register(server: Server) -> None:
    """Register every scheme module's hooks; each module adds its own ``register`` call here."""
    eligibility_submit.register(server)  # CoverageEligibilityRequest/$submit
