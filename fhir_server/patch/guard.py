"""Checks shared by both patch formats."""

from __future__ import annotations

from typing import Any

from ..errors import UnprocessableError

IDENTITY = ("resourceType", "id")


def check_identity(before: dict[str, Any], after: Any, expression: str) -> None:
    """A patch may not turn the resource into something else (http.html#patch).

    The result must still be a JSON object with the same ``resourceType`` and ``id``.
    """
    if not isinstance(after, dict):
        raise UnprocessableError(
            "The patch would replace the resource with something that is not a JSON object",
            expression,
        )
    for key in IDENTITY:
        if after.get(key) != before.get(key):
            raise UnprocessableError(
                f"A patch cannot change the resource's '{key}' "
                f"(was {before.get(key)!r}, the patch would make it {after.get(key)!r})",
                expression,
            )
