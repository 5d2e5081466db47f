"""Settings: command-line options, each also from the environment.

| option | environment | default |
|---|---|---|
| ``--host`` | ``FHIR_HOST`` | ``127.0.0.1`` |
| ``--port`` | ``FHIR_PORT`` | ``8080`` |
| ``--store`` | ``FHIR_STORE`` | ``sqlite:///./data/fhir.db`` |
| ``--base-url`` | ``FHIR_BASE_URL`` | ``http://{host}:{port}/fhir`` |
| ``--max-body-bytes`` | ``FHIR_MAX_BODY_BYTES`` | ``33554432`` (32 MiB) |
| ``--sqlite-synchronous`` | ``FHIR_SQLITE_SYNCHRONOUS`` | ``FULL`` |
| ``--default-count`` | ``FHIR_DEFAULT_COUNT`` | ``50`` |
| ``--max-count`` | ``FHIR_MAX_COUNT`` | ``1000`` |
| | ``FHIR_MAX_INCLUDES`` | ``1000`` (included resources per search page) |
| | ``FHIR_MAX_INCLUDE_DEPTH`` | ``3`` (rounds of ``_include:iterate``) |
| | ``FHIR_CHAIN_LIMIT`` | ``1000`` |
| | ``FHIR_EXPANSION_LIMIT`` | ``10000`` (most codes a ValueSet expansion may have) |
| ``--log-level`` | ``FHIR_LOG_LEVEL`` | ``info`` |
| | ``FHIR_CANONICAL_BASE`` | ``https://openimis.org/fhir`` (our SearchParameter urls) |
| | ``FHIR_PROFILES_DIR`` | ``profiles/`` beside the package, else ``./profiles`` |
| | ``FHIR_REQUIRED_PROFILES`` | ``""`` (``Patient=url,Claim=url``: profiles required per type) |
| | ``FHIR_REINDEX_BATCH_SIZE`` | ``500`` (resources per ``$reindex`` batch) |
| | ``FHIR_PACKAGE_REGISTRY`` | ``https://packages.fhir.org`` (npm registry of FHIR packages) |
| | ``FHIR_PACKAGE_MAX_BYTES`` | ``268435456`` (256 MiB: largest package tarball fetched) |
| | ``FHIR_INSUREE_NUMBER_LENGTH`` | ``0`` (exact length of an insurance number; 0: any, DOMAIN.md §6) |
| | ``FHIR_INSUREE_NUMBER_MODULO`` | ``0`` (check digit: 10 Luhn, n mod-n, 0 none) |
| | ``FHIR_POLICY_ACTIVATION`` | ``1`` (paid policies: 1 Active, 2 and 3 Ready; DOMAIN.md §5.4) |
| | ``FHIR_POLICY_EXPIRY_INTERVAL`` | ``86400`` (seconds between runs of the policy expiry job; 0: off) |
| | ``FHIR_AGE_OF_MAJORITY`` | ``18`` (years: adult in policy value, waiting periods, limits) |
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace
from functools import cached_property
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8080
    store: str = "sqlite:///./data/fhir.db"
    base_url: str = ""
    max_body_bytes: int = 32 * 1024 * 1024
    sqlite_synchronous: str = "FULL"
    default_count: int = 50
    max_count: int = 1000
    max_includes: int = 1000  # _include/_revinclude resources per page (search.html#include)
    max_include_depth: int = 3  # rounds of _include:iterate, the first included round counting
    # MongoDB: the most resources an inner search of a chain or of _has may match
    # (above it: 400 too-costly naming the parameter); SQLite runs them as subqueries
    chain_limit: int = 1000
    # near without a distance (Location?near=lat|lng): what counts as near, in km
    near_default_km: float = 10.0
    # the most codes an expansion may have (:in, :not-in, :below, :above); above it: 400 too-costly
    expansion_limit: int = 10_000
    log_level: str = "info"
    # canonical base of our conformance resources (profiles/): {canonical_base}/SearchParameter/<id>
    canonical_base: str = "https://openimis.org/fhir"
    profiles_dir: str = ""  # where our SearchParameters etc. are read from ("": see profiles_path)
    reindex_batch_size: int = 500  # resources per $reindex batch (one storage transaction each)
    # FHIR packages (packages/): the npm-compatible registry NAME@VERSION is fetched from
    package_registry: str = "https://packages.fhir.org"
    package_max_bytes: int = 256 * 1024 * 1024  # largest tarball (or registry document) fetched
    # profiles a resource type must conform to on every write: "Patient=url,Claim=url"
    required_profiles: str = ""
    # the scheme's rules (fhir_server/insurance, fhir_server/scheme)
    insuree_number_length: int = 0
    insuree_number_modulo: int = 0
    policy_activation: int = 1
    age_of_majority: int = 18
    policy_expiry_interval: int = 86400

    @cached_property
    def fhir_base(self) -> str:
        return (self.base_url or f"http://{self.host}:{self.port}/fhir").rstrip("/")

    @property
    def profiles_path(self) -> Path:
        if self.profiles_dir:
            return Path(self.profiles_dir)
        beside = Path(__file__).resolve().parent.parent / "profiles"
        return beside if beside.is_dir() else Path.cwd() / "profiles"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides: Any) -> Settings:
        env = dict(os.environ if env is None else env)
        values: dict[str, Any] = {}
        for f in fields(cls):
            key = "FHIR_" + f.name.upper()
            if key in env and env[key] != "":
                raw = env[key]
                values[f.name] = (
                    int(raw) if f.type in ("int", int) else float(raw) if f.type in ("float", float) else raw
                )
        settings = cls(**values)
        clean = {k: v for k, v in overrides.items() if v is not None}
        return replace(settings, **clean)
