"""Lossless FHIR JSON: decimals are ``Decimal``, never floats; text is kept as text.

FHIR decimals carry their precision (``1.50`` is not ``1.5``). ``json`` and ``orjson``
turn them into floats and lose it, so resources that the server must change (``id``,
``meta``, PATCH) are decoded with msgspec's ``float_hook=Decimal`` and encoded with
``decimal_format="number"``. Stored text is served as stored.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec

from .errors import InvalidError

_decoder = msgspec.json.Decoder(float_hook=Decimal)
_encoder = msgspec.json.Encoder(decimal_format="number")

MAX_DEPTH = 64


def loads(data: bytes | str) -> Any:
    """Decode JSON with exact decimals; raise InvalidError (400) on malformed input."""
    try:
        return _decoder.decode(data)
    except msgspec.DecodeError as exc:
        raise InvalidError(f"Malformed JSON: {exc}", issue_code="structure") from None
    except RecursionError:
        raise InvalidError("JSON is nested too deeply", issue_code="structure") from None


def dumps(obj: Any) -> bytes:
    return _encoder.encode(obj)


def dumps_pretty(obj: Any) -> bytes:
    return pretty(dumps(obj))


def pretty(raw: bytes) -> bytes:
    """Indented JSON text (``_pretty=true``), reformatted without decoding values."""
    return msgspec.json.format(raw, indent=2)


def check_depth(obj: Any, limit: int = MAX_DEPTH) -> None:
    """Refuse documents nested deeper than ``limit`` (protects every recursive walker)."""
    stack: list[tuple[Any, int]] = [(obj, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            raise InvalidError(f"Content is nested deeper than {limit} levels", issue_code="structure")
        if isinstance(node, dict):
            stack.extend((v, depth + 1) for v in node.values() if isinstance(v, (dict, list)))
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node if isinstance(v, (dict, list)))
