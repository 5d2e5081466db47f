"""history: instance, type and system (http.html#history), with _since, _at, _count, paging."""

from __future__ import annotations

from typing import Any

from ..errors import InvalidError
from ..search.types import ValueParseError
from ..search.types.date import date_range
from ..server import Server
from ..storage.protocol import HistoryRequest
from .bundles import bundle, full_url, link, raw
from .resources import require_type

ALLOWED = {"_since", "_at", "_count", "_cursor", "_format", "_pretty", "_list"}


def parse_instant(value: str, name: str) -> int:
    """The start of the instant or period ``value`` denotes (the search date parser's range)."""
    try:
        return date_range(value.strip().replace(" ", "+"))[0]
    except ValueParseError as exc:
        raise InvalidError(f"{name}: {exc}", expression=name) from None


def _count(server: Server, value: str | None) -> int:
    if value is None:
        return server.settings.default_count
    if not (value.isascii() and value.isdigit()):
        raise InvalidError(f"_count '{value}' is not a non-negative integer", expression="_count")
    return max(1, min(int(value), server.settings.max_count))


async def history(
    server: Server,
    params: list[tuple[str, str]],
    resource_type: str | None = None,
    id: str | None = None,
    strict: bool = False,
) -> dict[str, Any]:
    if resource_type is not None:
        require_type(server, resource_type)
    values = dict(params)
    unknown = [k for k, _ in params if k not in ALLOWED]
    if unknown and strict:
        raise InvalidError(f"Unknown history parameter(s): {', '.join(unknown)}", expression=unknown[0])
    request = HistoryRequest(
        resource_type=resource_type,
        id=id,
        since_us=parse_instant(values["_since"], "_since") if "_since" in values else None,
        at_us=parse_instant(values["_at"], "_at") if "_at" in values else None,
        count=_count(server, values.get("_count")),
        cursor=values.get("_cursor"),
    )
    page = await server.store.history(request)
    base = server.base_url
    path = "/".join(p for p in (base, resource_type, id, "_history") if p)
    entries = []
    for v in page.items:
        entry: dict[str, Any] = {"fullUrl": full_url(base, v)}
        if not v.deleted:
            entry["resource"] = raw(v.body)
        url = f"{v.resource_type}/{v.id}"
        method = "DELETE" if v.deleted else ("POST" if v.method == "POST" else "PUT")
        entry["request"] = {"method": method, "url": url if method != "POST" else v.resource_type}
        entry["response"] = {
            "status": "200 OK" if not v.deleted else "204 No Content",
            "etag": f'W/"{v.version}"',
            "lastModified": v.last_updated,
        }
        entries.append(entry)
    keep = [(k, val) for k, val in params if k in ("_since", "_at", "_count")]
    here = [*keep, ("_cursor", request.cursor)] if request.cursor else keep
    links = [{"relation": "self", "url": link(path, here)}]
    if page.next_cursor:
        links.append({"relation": "next", "url": link(path, [*keep, ("_cursor", page.next_cursor)])})
    return bundle("history", entries, total=page.total, link=links)
