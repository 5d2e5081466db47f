"""One differential case: a query string on one resource type (or the system)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")
Params = tuple[tuple[str, str], ...]
PAGE_SIZES = (2, 3, 5, 8)


@dataclass(frozen=True)
class Case:
    rtype: str
    params: Params
    count: int = 5  # page size on the backend (every next page is followed)
    sort: bool = False  # compare the order too (the sequence of sort keys)

    @property
    def name(self) -> str:
        return self.rtype + "?" + "&".join(f"{k}={v}" for k, v in self.params)

    @property
    def total(self) -> bool:
        return ("_total", "accurate") in self.params


def pick(values: Sequence[T], n: int = 2) -> list[T]:
    """Up to ``n`` values spread over a sorted sequence: the first, the middle, the last."""
    if not values:
        return []
    idx = [0, len(values) // 2, len(values) - 1][:n] if n <= 3 else list(range(len(values)))[:n]
    return [values[i] for i in dict.fromkeys(idx)]
