"""search: type and system level, GET and ``POST _search`` (http.html#search, search.html).

parse -> IR -> the store's compiler; the page is assembled from stored bytes.
Unknown parameters are ignored and reported in an OperationOutcome entry (lenient,
the default) or refused (``Prefer: handling=strict``).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ..errors import InvalidError, Issue
from ..search.explain import describe, to_parameters
from ..search.includes import IncludeLimits, include_resources
from ..search.ir import Criterion
from ..search.parser import parse_search
from ..server import Server
from ..storage.protocol import StoredVersion
from ..terminology.search_modifiers import resolve as resolve_terminology
from .bundles import bundle, full_url, link, outcome, raw
from .lists import list_criteria
from .near_distance import distance_extension, near_points
from .resources import require_type
from .search_parameters import criteria_codes
from .subsetting import check_summary, subset_body

RESULT_PARAMS = ("_format", "_pretty", "_cursor")


def explain_flag(params: list[tuple[str, str]]) -> tuple[list[tuple[str, str]], bool]:
    """The parameters without ``_explain``, and whether it asks for the plan (README)."""
    flags = [v for k, v in params if k == "_explain"]
    for v in flags:
        if v not in ("true", "false"):
            raise InvalidError(f"_explain takes true or false, not '{v}'", "_explain", issue_code="value")
    return [(k, v) for k, v in params if k != "_explain"], "true" in flags


async def search(
    server: Server,
    params: list[tuple[str, str]],
    resource_type: str | None = None,
    strict: bool = False,
    *,
    scope: tuple[tuple[str, ...], Criterion, str] | None = None,
) -> dict[str, Any]:
    """``scope`` (compartment search, ``compartment.py``): the types searched, an extra
    criterion ANDed with the query's, and the path of the self and next links."""
    if scope is not None:
        types: tuple[str, ...] = scope[0]
    elif resource_type is not None:
        require_type(server, resource_type)
        types = (resource_type,)
    else:
        types = ()  # system search: any type (``_type`` narrows it)
    values = dict(params)
    check_summary(values.get("_summary"))
    search_params, explain = explain_flag(params)
    search_params, lists, list_issues = await list_criteria(server, search_params, types)
    query = parse_search(
        types,
        search_params,
        server.registry,
        strict=strict,
        default_count=server.settings.default_count,
        max_count=server.settings.max_count,
        base_url=server.base_url,
        near_default_km=server.settings.near_default_km,
    )
    query = await resolve_terminology(query, server.terminology)
    if (query.count == 0 or query.summary == "count") and query.total == "none":
        # _count=0 and _summary=count ask for the number of matches only
        query = replace(query, total="accurate")
    if query.contained != "false" and (scope is not None or lists):
        what = "compartment searches" if scope is not None else "_list"
        raise InvalidError(
            f"{what} are not supported with _contained", "_contained", issue_code="not-supported"
        )
    if scope is not None:
        query = replace(query, criteria=(scope[1], *query.criteria))
    if lists:
        query = replace(query, criteria=(*query.criteria, *lists))
    if explain:
        return to_parameters({"query": describe(query), "plan": await server.store.explain(query)})
    page = await server.store.search(query)
    base = server.base_url
    path = f"{base}/{resource_type}" if resource_type else base
    if scope is not None:
        path = f"{base}/{scope[2]}"
    entries: list[dict[str, Any]] = []
    issues: list[Issue] = list(list_issues)
    issues += server.pending.issues(query.resource_types, criteria_codes(query))
    if query.ignored:
        issues.append(
            Issue(
                "warning",
                "not-supported",
                f"Parameter(s) ignored: {', '.join(query.ignored)}",
                tuple(query.ignored),
            )
        )
    if page.total_capped:
        issues.append(
            Issue(
                "information",
                "informational",
                f"_total=estimate: counting stopped; there are at least {page.total} matches",
                ("_total",),
            )
        )
    if query.summary != "count":
        included: list[StoredVersion] = []
        if query.includes and page.items:
            limits = IncludeLimits(server.settings.max_includes, server.settings.max_include_depth)
            found = await include_resources(server.store, page.items, query.includes, limits)
            included, issues = found.resources, [*issues, *found.issues]
        points = near_points(query)
        for mode, items in (("match", page.items), ("include", included)):
            for item in items:
                body = subset_body(server.definitions, item.body, query.summary, query.elements)
                search: dict[str, Any] = {"mode": mode}
                distance = distance_extension(points, item) if mode == "match" else None
                if distance is not None:
                    search["extension"] = [distance]
                entries.append({"fullUrl": full_url(base, item), "resource": raw(body), "search": search})
    if issues:
        entries.append({"resource": outcome(issues), "search": {"mode": "outcome"}})
    kept = [
        (k, v)
        for k, v in params
        if k not in RESULT_PARAMS and k not in query.ignored and f"{k}={v}" not in query.ignored
    ]
    self_params = [*kept, ("_cursor", query.cursor)] if query.cursor else kept
    links = [{"relation": "self", "url": link(path, self_params)}]
    if page.next_cursor and query.summary != "count":
        links.append({"relation": "next", "url": link(path, [*kept, ("_cursor", page.next_cursor)])})
    return bundle("searchset", entries, total=page.total, link=links)
