"""Shared fixtures: paths to third-party data and the official R4 examples."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"
R4_EXAMPLES = ROOT / ".cache" / "hl7.fhir.r4.examples" / "package"
EXAMPLES = ROOT / "examples"


def require_shared(sub: str) -> Path:
    path = SHARED_DATA / sub
    if not path.exists():
        pytest.skip(f"../shared/data/{sub} is absent (third-party data lives beside the clone)")
    return path


def require_r4_examples() -> Path:
    if not (R4_EXAMPLES / "Bundle-searchParams.json").exists():
        pytest.skip("official R4 examples not fetched: run `make pytest` (npm hl7.fhir.r4.examples@4.0.1)")
    return R4_EXAMPLES
