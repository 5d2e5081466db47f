"""String normalisation shared by extraction (``StringEntry.norm``, ``TokenEntry.text``) and
the query parser (``StringValue.norm``, ``TokenValue.text``).

search.html (R4, 3.1.1.4.7 string): "By default, a field matches a string query if the
value of the field equals or starts with the supplied parameter value, after both have
been normalized by case and accent." We normalise with Unicode NFKD, drop combining
marks (accents), case-fold and collapse runs of whitespace to one space.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

__all__ = ["norm"]


@lru_cache(maxsize=131072)
def norm(value: str) -> str:
    """``"  Éve   Smith "`` -> ``"eve smith"``."""
    if value.isascii():
        return " ".join(value.lower().split())
    decomposed = unicodedata.normalize("NFKD", value)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(stripped.casefold().split())
