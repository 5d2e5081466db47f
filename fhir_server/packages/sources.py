"""Where a package comes from: ``NAME@VERSION`` (the registry), a ``.tgz`` file, or a tarball URL."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from ..errors import InvalidError
from ..server import Server
from .archive import NAME, Package, read_package
from .registry_client import fetch_package, fetch_tarball

__all__ = ["load", "parse_spec"]

_SPEC = re.compile(r"^(?P<name>[A-Za-z][A-Za-z0-9\-_.]*)(@(?P<version>[0-9A-Za-z][0-9A-Za-z.\-+]*))?$")


def parse_spec(spec: str) -> tuple[str, str | None]:
    """``name@version`` (or ``name``: the latest) -> (name, version)."""
    m = _SPEC.match(spec.strip())
    if not m or not NAME.match(m.group("name")):
        raise InvalidError(f"'{spec}' is not NAME@VERSION (e.g. hl7.fhir.uv.ips@1.1.0)", "package")
    return m.group("name"), m.group("version")


async def load(server: Server, spec: str) -> tuple[Package, str]:
    """The package ``spec`` names, and a description of its source.

    ``spec``: an existing file path (a .tgz), an ``http(s)://`` URL of a tarball, or
    ``NAME[@VERSION]`` fetched from ``FHIR_PACKAGE_REGISTRY``."""
    limit = server.settings.package_max_bytes
    if spec.startswith(("http://", "https://")):
        return read_package(await fetch_tarball(spec, limit)), spec
    path = Path(spec)
    if spec.endswith((".tgz", ".tar.gz")) or path.is_file():
        if not path.is_file():
            raise InvalidError(f"No package file {spec}", "package", issue_code="not-found")
        data = await asyncio.to_thread(path.read_bytes)
        return read_package(data), f"file {path}"
    name, version = parse_spec(spec)
    registry = server.settings.package_registry
    data = await fetch_package(registry, name, version, limit)
    package = read_package(data)
    if package.name != name or (version is not None and package.version != version):
        raise InvalidError(
            f"The registry's tarball for {spec} holds {package.label}", "package", issue_code="invalid"
        )
    return package, f"{registry.rstrip('/')}/{name}@{package.version}"
