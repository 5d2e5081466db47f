"""Compartment search (compartmentdefinition.html, http.html#search):
``GET [base]/[Compartment]/[id]/[type]?params`` and ``GET [base]/[Compartment]/[id]/*``.

It is an ordinary search with one more criterion: the resource is in the compartment,
i.e. one of its type's compartment parameters (from the CompartmentDefinitions in
``definitions``: ``Patient`` -> ``Claim`` -> ``patient``, ``payee``) references
``[Compartment]/[id]`` (``{def}``: the resource is the compartment's own resource).
``*`` searches every type of the compartment (only the parameters common to them apply,
``_type`` narrows them). An unknown compartment is a 404; a type with no compartment
parameter has no resource in the compartment, so its search is empty.
"""

from __future__ import annotations

from typing import Any

from ..errors import NotFoundError
from ..search.ir import CompartmentClause
from ..server import Server
from . import search as search_interaction
from .resources import require_type


def compartment_clause(
    compartments: dict[str, dict[str, list[str]]], compartment: str, id: str, types: tuple[str, ...]
) -> CompartmentClause:
    members = compartments.get(compartment)
    if members is None:
        known = ", ".join(sorted(compartments))
        raise NotFoundError(
            f"'{compartment}' is not a compartment (compartments: {known})", issue_code="not-found"
        )
    params = tuple((t, tuple(members[t])) for t in types if members.get(t))
    return CompartmentClause(f"{compartment}/{id}", params)


def compartment_types(compartments: dict[str, dict[str, list[str]]], compartment: str) -> tuple[str, ...]:
    return tuple(sorted(t for t, codes in compartments.get(compartment, {}).items() if codes))


async def search(
    server: Server,
    compartment: str,
    id: str,
    resource_type: str,
    params: list[tuple[str, str]],
    strict: bool = False,
) -> dict[str, Any]:
    compartments = server.definitions.compartments
    if compartment not in compartments:
        compartment_clause(compartments, compartment, id, ())  # raises the 404
    if resource_type == "*":
        types = compartment_types(compartments, compartment)
    else:
        require_type(server, resource_type)
        types = (resource_type,)
    clause = compartment_clause(compartments, compartment, id, types)
    path = f"{compartment}/{id}/{resource_type}"
    return await search_interaction.search(server, params, None, strict, scope=(types, clause, path))
