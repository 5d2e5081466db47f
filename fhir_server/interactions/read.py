"""read: ``GET [base]/[type]/[id]`` (http.html#read)."""

from __future__ import annotations

from ..errors import GoneError, NotFoundError
from ..server import Server
from ..storage.protocol import StoredVersion
from .resources import require_type


async def read(server: Server, resource_type: str, id: str) -> StoredVersion:
    require_type(server, resource_type)
    current = await server.store.read(resource_type, id)
    if current is None:
        raise NotFoundError(f"{resource_type}/{id} is not known", expression=f"{resource_type}.id")
    if current.deleted:
        raise GoneError(
            f"{resource_type}/{id} was deleted (version {current.version})",
            headers={"ETag": f'W/"{current.version}"'},
        )
    return current
