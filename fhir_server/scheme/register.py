"""Wire the scheme's write hooks on a server (called once by ``app.py``)."""

from __future__ import annotations

from ..operations import eligibility_submit, expire_policies, record_premium, renew_policy
from ..server import Server
from . import family, insuree, policy, premium, product


def register(server: Server) -> None:
    """Register every scheme module's hooks and operations (one line each)."""
    product.register(server)
    policy.register(server)
    premium.register(server)
    record_premium.register(server)
    expire_policies.register(server)
    renew_policy.register(server)
    server.write_hooks.register("Patient", insuree.hook)  # insurance number, family, status, photo
    server.write_hooks.register("Group", family.hook)  # head, members, moves, quantity
    eligibility_submit.register(server)  # CoverageEligibilityRequest/$submit
