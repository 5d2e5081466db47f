"""capabilities: ``GET [base]/metadata`` (http.html#capabilities).

Generated from what really runs: the resource types of the definitions, the
interactions this package implements, the search parameters of the registry, and
the store's abilities (transactions).
"""

from __future__ import annotations

from typing import Any

from .. import FHIR_VERSION, __version__, clock
from ..operations import terminology as terminology_ops
from ..search.types.composite import component_types, supported
from ..search.types.near import URL as NEAR_URL
from ..server import Server

TYPE_INTERACTIONS = [
    "read",
    "vread",
    "update",
    "patch",
    "delete",
    "history-instance",
    "history-type",
    "create",
    "search-type",
]
COMMON_SEARCH = [
    ("_id", "token", "http://hl7.org/fhir/SearchParameter/Resource-id"),
    ("_lastUpdated", "date", "http://hl7.org/fhir/SearchParameter/Resource-lastUpdated"),
]
COMPARTMENT_URL = {  # compartment search (interactions/compartment.py)
    c: f"http://hl7.org/fhir/CompartmentDefinition/{c[0].lower()}{c[1:]}"
    for c in ("Device", "Encounter", "Patient", "Practitioner", "RelatedPerson")
}
SEARCH_PARAMS: list[tuple[str, str]] = [  # result and special parameters every search takes
    ("_count", "page size (default and maximum configurable)"),
    ("_sort", "several keys, '-' for descending, on every sortable parameter type"),
    ("_total", "none (default), estimate (capped count), accurate"),
    ("_summary", "true, text, data, count, false"),
    ("_elements", "top-level elements to return"),
    ("_include", ":iterate, '*', typed targets; capped and depth-limited, reported in the outcome"),
    ("_revinclude", ":iterate, '*'; capped and depth-limited, reported in the outcome"),
    ("_has", "reverse chaining, nested"),
    ("_list", "the resources a List references (type searches; functional lists are not supported)"),
    ("_contained", "false (default), true, both"),
    ("_containedType", "container (default), contained"),
    ("_explain", "true: the plan the backend would run (a Parameters resource), not the results"),
    ("_cursor", "opaque keyset paging cursor (from the next link)"),
]


def include_lists(server: Server) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """``searchInclude`` and ``searchRevInclude`` per type, from the registry's reference
    parameters (search.html#include): ``Claim:patient``, ``Claim:*``; and, on each target
    type, the ``Source:param`` pairs that can point to it."""
    includes: dict[str, list[str]] = {}
    revincludes: dict[str, list[str]] = {}
    types = server.definitions.resource_types
    for rtype in sorted(types):
        codes = [c for c, sp in sorted(server.registry.for_type(rtype).items()) if sp.type == "reference"]
        if codes:
            includes[rtype] = [f"{rtype}:{c}" for c in codes] + [f"{rtype}:*"]
        for code in codes:
            sp = server.registry.for_type(rtype)[code]
            for target in sp.targets:
                if target in types:
                    revincludes.setdefault(target, []).append(f"{rtype}:{code}")
    return includes, revincludes


def registered(server: Server, rtype: str) -> list[dict[str, Any]]:
    """The scheme's operations on ``rtype`` (operations/registry.py), with our OperationDefinitions."""
    return [
        {
            "name": name.lstrip("$"),
            "definition": f"{server.settings.canonical_base}/OperationDefinition/{r.definition}",
        }
        for name, r in server.operations.of_type(rtype)
    ]


def capability_statement(server: Server) -> dict[str, Any]:
    resources = []
    includes, revincludes = include_lists(server)
    for rtype in sorted(server.definitions.resource_types):
        params = [{"name": n, "definition": url, "type": t} for n, t, url in COMMON_SEARCH]
        for code, sp in sorted(server.registry.for_type(rtype).items()):
            if (sp.type == "special" and sp.url != NEAR_URL) or code in ("_id", "_lastUpdated"):
                continue  # special parameters are not searched, except Location.near
            if sp.type == "composite" and not supported(component_types(sp, server.registry)):
                continue  # composite shapes not searched (search/types/composite.SHAPES)
            params.append({"name": code, "definition": sp.url, "type": sp.type})
        resources.append(
            {
                "type": rtype,
                "profile": f"http://hl7.org/fhir/StructureDefinition/{rtype}",
                "interaction": [{"code": c} for c in TYPE_INTERACTIONS],
                "versioning": "versioned-update",
                "readHistory": True,
                "updateCreate": True,
                "conditionalCreate": True,
                "conditionalRead": "full-support",
                "conditionalUpdate": True,
                "conditionalDelete": "single",
                "referencePolicy": ["literal", "logical", "local"],
                "searchInclude": includes.get(rtype),
                "searchRevInclude": revincludes.get(rtype),
                "searchParam": params,
                "operation": (terminology_ops.capability_operations(rtype) or []) + registered(server, rtype)
                or None,
            }
        )
        resources[-1] = {k: v for k, v in resources[-1].items() if v is not None}
    system = [{"code": "batch"}, {"code": "history-system"}, {"code": "search-system"}]
    if server.store.supports_transactions:
        system.insert(0, {"code": "transaction"})
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": clock.instant(clock.now_us())[:10],
        "kind": "instance",
        "software": {"name": "fhir-server (insurance)", "version": __version__},
        "implementation": {"description": f"FHIR R4 server on {server.store.name}", "url": server.base_url},
        "fhirVersion": FHIR_VERSION,
        "format": ["application/fhir+json", "application/json"],
        "patchFormat": ["application/json-patch+json", "application/fhir+json"],
        "rest": [
            {
                "mode": "server",
                "resource": resources,
                "interaction": system,
                "compartment": [COMPARTMENT_URL[c] for c in sorted(server.definitions.compartments)],
                "searchParam": [
                    {"name": n, "type": "special", "documentation": doc} for n, doc in SEARCH_PARAMS
                ],
                # operations (operations/): the OperationDefinitions are in profiles/
                "operation": [
                    {
                        "name": name,
                        "definition": f"{server.settings.canonical_base}/OperationDefinition/{name}",
                    }
                    for name in ("reindex", "install-package", "packages", "uninstall-package")
                ]
                # [Type]/$validate, [Type]/[id]/$validate (operations/validate.py)
                + [
                    {
                        "name": "validate",
                        "definition": "http://hl7.org/fhir/OperationDefinition/Resource-validate",
                    }
                ],
            }
        ],
    }
