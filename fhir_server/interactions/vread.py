"""vread: ``GET [base]/[type]/[id]/_history/[vid]`` (http.html#vread)."""

from __future__ import annotations

from ..errors import GoneError, NotFoundError
from ..server import Server
from ..storage.protocol import StoredVersion
from .resources import require_type


async def vread(server: Server, resource_type: str, id: str, vid: str) -> StoredVersion:
    require_type(server, resource_type)
    if not (vid.isascii() and vid.isdigit()):
        raise NotFoundError(f"{resource_type}/{id} has no version '{vid}'")
    found = await server.store.vread(resource_type, id, int(vid))
    if found is None:
        raise NotFoundError(f"{resource_type}/{id} has no version {vid}")
    if found.deleted:
        raise GoneError(f"Version {vid} of {resource_type}/{id} is a deletion")
    return found
