"""Fetching a package from an npm-compatible registry (packages.fhir.org, a private one).

The npm registry protocol: ``GET {registry}/{name}`` answers the package document
``{"name", "dist-tags": {"latest": v}, "versions": {v: {"dist": {"tarball", "shasum",
"integrity"}}}}``; the tarball is then fetched from ``dist.tarball``. ``shasum`` (SHA-1,
hex) and ``integrity`` (Subresource Integrity, ``sha512-<base64>``) are checked when
given: a tarball that does not match is refused, nothing is installed.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import httpx

from ..errors import FhirError, InvalidError, NotFoundError

__all__ = ["fetch_package", "fetch_tarball", "verify"]

TIMEOUT = 60.0


class RegistryError(FhirError):
    """The registry could not be reached or answered badly: 502."""

    def __init__(self, message: str) -> None:
        super().__init__(message, ("package",), "exception", 502)


def _limit(data: bytes, max_bytes: int, what: str) -> bytes:
    if len(data) > max_bytes:
        raise InvalidError(f"{what} is larger than {max_bytes} bytes", "package", issue_code="too-costly")
    return data


async def _get(client: httpx.AsyncClient, url: str, max_bytes: int) -> httpx.Response:
    try:
        response = await client.get(url, follow_redirects=True)
    except httpx.HTTPError as exc:
        raise RegistryError(f"GET {url} failed: {exc}") from None
    if response.status_code == 404:
        raise NotFoundError(f"GET {url}: not found", "package")
    if response.status_code != 200:
        raise RegistryError(f"GET {url} answered {response.status_code}")
    _limit(response.content, max_bytes, url)
    return response


def verify(data: bytes, dist: dict[str, Any]) -> None:
    """Refuse ``data`` unless it matches ``dist.shasum`` / ``dist.integrity`` (when given)."""
    shasum = dist.get("shasum")
    if isinstance(shasum, str) and shasum and hashlib.sha1(data).hexdigest() != shasum.lower():
        raise InvalidError(
            f"The tarball's SHA-1 is {hashlib.sha1(data).hexdigest()}, the registry says {shasum}",
            "package",
            issue_code="invalid",
        )
    integrity = dist.get("integrity")
    if isinstance(integrity, str):
        for item in integrity.split():
            algo, _, digest = item.partition("-")
            if algo not in ("sha256", "sha384", "sha512"):
                continue
            actual = base64.b64encode(hashlib.new(algo, data).digest()).decode()
            if actual != digest:
                raise InvalidError(
                    f"The tarball does not match the registry's integrity {algo} digest",
                    "package",
                    issue_code="invalid",
                )


async def fetch_tarball(url: str, max_bytes: int, client: httpx.AsyncClient | None = None) -> bytes:
    """The bytes at ``url`` (a .tgz)."""
    async with _client(client) as c:
        return (await _get(c, url, max_bytes)).content


async def fetch_package(
    registry: str,
    name: str,
    version: str | None,
    max_bytes: int,
    client: httpx.AsyncClient | None = None,
) -> bytes:
    """The tarball of ``name@version`` (``version`` None: the ``latest`` dist-tag), verified."""
    async with _client(client) as c:
        doc_url = f"{registry.rstrip('/')}/{name}"
        response = await _get(c, doc_url, max_bytes)
        try:
            doc = response.json()
        except ValueError:
            raise RegistryError(f"GET {doc_url}: not a JSON package document") from None
        versions = doc.get("versions") if isinstance(doc, dict) else None
        if not isinstance(versions, dict):
            raise RegistryError(f"GET {doc_url}: the package document has no versions")
        if version is None:
            tags = doc.get("dist-tags") or {}
            version = tags.get("latest") if isinstance(tags, dict) else None
            if not isinstance(version, str):
                raise InvalidError(f"{name} has no 'latest' version: give one (NAME@VERSION)", "package")
        entry = versions.get(version)
        if not isinstance(entry, dict):
            known = ", ".join(sorted(versions)[:20])
            raise NotFoundError(f"{name}@{version} is not in the registry (versions: {known})", "package")
        dist = entry.get("dist") or {}
        tarball = dist.get("tarball") if isinstance(dist, dict) else None
        if not isinstance(tarball, str):
            raise RegistryError(f"{name}@{version}: the registry gives no dist.tarball")
        data = (await _get(c, tarball, max_bytes)).content
        verify(data, dist)
        return data


class _client:
    """Use the given client, or a fresh one closed afterwards."""

    def __init__(self, client: httpx.AsyncClient | None) -> None:
        self.given = client
        self.own: httpx.AsyncClient | None = None

    async def __aenter__(self) -> httpx.AsyncClient:
        if self.given is not None:
            return self.given
        self.own = httpx.AsyncClient(timeout=TIMEOUT, headers={"Accept": "application/json"})
        return self.own

    async def __aexit__(self, *exc: object) -> None:
        if self.own is not None:
            await self.own.aclose()
