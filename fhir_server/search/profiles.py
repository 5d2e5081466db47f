"""Our SearchParameters, shipped as resources in ``profiles/SearchParameter-<id>.json``.

The files carry the default canonical base (``https://openimis.org/fhir``); a server
configured with another ``canonical_base`` (``FHIR_CANONICAL_BASE``) serves them as
``{canonical_base}/SearchParameter/<id>`` (the ``url``, and component definitions
that point to our own parameters, are rewritten on load). Only ``active`` ones are
registered (searchparameter.html: status "draft | active | retired | unknown").
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

DEFAULT_CANONICAL_BASE = "https://openimis.org/fhir"

__all__ = ["DEFAULT_CANONICAL_BASE", "load_search_parameters", "rebase"]


def rebase(url: str, canonical_base: str) -> str:
    base = canonical_base.rstrip("/")
    if base != DEFAULT_CANONICAL_BASE and url.startswith(DEFAULT_CANONICAL_BASE + "/"):
        return base + url[len(DEFAULT_CANONICAL_BASE) :]
    return url


def load_search_parameters(
    directory: Path, canonical_base: str = DEFAULT_CANONICAL_BASE
) -> list[dict[str, Any]]:
    """The active SearchParameter resources of ``directory``, urls on ``canonical_base``."""
    out: list[dict[str, Any]] = []
    for path in sorted(directory.glob("SearchParameter-*.json")):
        sp = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(sp, dict) or sp.get("resourceType") != "SearchParameter":
            raise ValueError(f"{path}: not a SearchParameter resource")
        if sp.get("status") != "active":
            continue
        sp["url"] = rebase(str(sp.get("url", "")), canonical_base)
        for component in sp.get("component") or ():
            if isinstance(component, dict) and isinstance(component.get("definition"), str):
                component["definition"] = rebase(component["definition"], canonical_base)
        out.append(sp)
    return out
