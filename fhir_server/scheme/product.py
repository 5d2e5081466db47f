"""Products: an ``InsurancePlan`` claiming our ``product`` profile must be able to price and date
a policy (DOMAIN.md §3.6b): the write is refused (422, with the element) when
``insurance/product.py`` cannot read it, so no policy later fails on a broken product.

Changing a product does not re-price the policies sold with it: their values and dates
were computed when sold (openIMIS keeps them too)."""

from __future__ import annotations

from typing import Any

from ..errors import BusinessRuleError
from ..insurance.product import ProductError, product_from_plan
from ..server import Server
from . import fhir
from .hooks import WriteEvent

Json = dict[str, Any]


async def on_write(event: WriteEvent) -> Json | None:
    resource = event.resource
    if resource is None or not fhir.claims(resource, "product"):
        return resource
    try:
        product_from_plan(resource)
    except ProductError as e:
        raise BusinessRuleError(
            f"This product cannot price or date a policy: {e}", e.expression, reason="product-incomplete"
        ) from None
    return resource


def register(server: Server) -> None:
    server.write_hooks.register("InsurancePlan", on_write)
