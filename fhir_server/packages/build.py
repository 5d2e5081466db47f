"""Writing a FHIR NPM package (.tgz), deterministically: the same content gives the same bytes.

Used by ``scripts/build_ig.py`` (``make ig``: our implementation guide) and by tests.
packages.html: the tarball holds ``package/package.json``, the resources as
``package/<Type>-<id>.json``, ``package/.index.json`` ("an index of all the resources in
the package") and examples in ``package/example/``. Entries are sorted, owned by 0:0 with
mode 0644 and a fixed mtime, and the gzip header carries no time or file name.
"""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from collections.abc import Mapping
from typing import Any

__all__ = ["FIXED_MTIME", "index_json", "write_package"]

FIXED_MTIME = 315532800  # 1980-01-01T00:00:00Z (zip/tar reproducible-build convention)
_INDEX_FIELDS = ("id", "url", "version", "kind", "type", "supplements", "content")


def index_json(files: Mapping[str, Any]) -> dict[str, Any]:
    """``.index.json`` (index-version 1) for the resources among ``files`` directly in the folder."""
    entries = []
    for name in sorted(files):
        resource = files[name]
        if isinstance(resource, bytes) and name.endswith(".json") and "/" not in name:
            try:
                resource = json.loads(resource)
            except ValueError:
                continue
        if "/" in name or name in ("package.json", ".index.json") or not name.endswith(".json"):
            continue
        if not isinstance(resource, dict) or "resourceType" not in resource:
            continue
        entry: dict[str, Any] = {"filename": name, "resourceType": resource["resourceType"]}
        for key in _INDEX_FIELDS:
            if isinstance(resource.get(key), str):
                entry[key] = resource[key]
        entries.append(entry)
    return {"index-version": 1, "files": entries}


def _bytes(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    return (json.dumps(value, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def write_package(
    manifest: Mapping[str, Any] | None, files: Mapping[str, Any], *, index: bool = True
) -> bytes:
    """The .tgz of a package: ``manifest`` as package.json (None: none, for tests) and ``files``
    (path under ``package/`` -> JSON value or raw bytes); ``.index.json`` added unless given."""
    content: dict[str, bytes] = {name: _bytes(v) for name, v in files.items()}
    if manifest is not None:
        content["package.json"] = _bytes(dict(manifest))
    if index and ".index.json" not in content:
        content[".index.json"] = _bytes(index_json(files))
    tar_buffer = io.BytesIO()
    with tarfile.open(fileobj=tar_buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in sorted(content):
            info = tarfile.TarInfo(f"package/{name}")
            info.size = len(content[name])
            info.mtime = FIXED_MTIME
            info.mode = 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(content[name]))
    out = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0, compresslevel=9) as gz:
        gz.write(tar_buffer.getvalue())
    return out.getvalue()
