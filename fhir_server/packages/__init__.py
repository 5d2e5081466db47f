"""FHIR NPM packages (implementation guides): read, fetch, install, list.

``archive`` reads a .tgz, ``registry_client`` fetches one from an npm-compatible
registry, ``sources`` decides which from a spec, ``install`` upserts its conformance
resources through the transaction path and records the installation.
See docs/decisions/0011-ig-packages.md.
"""

from .archive import Package, read_package
from .install import InstallReport, install, install_all, installed
from .sources import load, parse_spec

__all__ = [
    "InstallReport",
    "Package",
    "install",
    "install_all",
    "installed",
    "load",
    "parse_spec",
    "read_package",
]
