"""RFC 6902 JSON Patch (``application/json-patch+json``) applied to a FHIR resource.

The ``jsonpatch`` library does the pointer work: it keeps ``Decimal`` values as they
are (checked by the tests), so decimals keep their precision. This module adds what a
server needs around it: the document is validated first (malformed → 400 with
``Patch[i].member``), each operation runs on a private deep copy (all or nothing), a
target that does not exist or a failing ``test`` gives 422, and ``resourceType`` and
``id`` cannot change.
"""

from __future__ import annotations

import copy
import re
from decimal import Decimal
from typing import Any

import jsonpatch
import jsonpointer

from ..errors import InvalidError, UnprocessableError
from ..fhirjson import check_depth
from .guard import check_identity

# op → members it requires besides "op" and "path"
_REQUIRED: dict[str, tuple[str, ...]] = {
    "add": ("value",),
    "remove": (),
    "replace": ("value",),
    "move": ("from",),
    "copy": ("from",),
    "test": ("value",),
}
_BAD_ESCAPE = re.compile(r"~(?![01])")


def apply_json_patch(resource: dict[str, Any], operations: Any) -> dict[str, Any]:
    """Apply a JSON Patch document to a copy of ``resource`` and return the copy."""
    check_depth(operations)
    ops = _validated(operations)
    doc: Any = copy.deepcopy(resource)
    for i, op in enumerate(ops):
        doc = _test(doc, op, i) if op["op"] == "test" else _apply(doc, op, i)
        check_identity(resource, doc, f"Patch[{i}]")
    result: dict[str, Any] = doc
    return result


def _validated(operations: Any) -> list[dict[str, Any]]:
    if not isinstance(operations, list):
        raise InvalidError("A JSON Patch document must be a JSON array of operations", "Patch")
    for i, op in enumerate(operations):
        where = f"Patch[{i}]"
        if not isinstance(op, dict):
            raise InvalidError(f"{where} must be a JSON object", where)
        name = op.get("op")
        if name not in _REQUIRED:
            raise InvalidError(
                f"{where}.op must be one of {', '.join(_REQUIRED)} (got {name!r})", f"{where}.op"
            )
        _check_pointer(op, "path", where)
        for member in _REQUIRED[name]:
            if member not in op:
                raise InvalidError(f"{where}: a '{name}' operation needs '{member}'", f"{where}.{member}")
        if "from" in _REQUIRED[name]:
            _check_pointer(op, "from", where)
    # private copy: values added to the document must not alias the caller's patch
    return copy.deepcopy(operations)


def _check_pointer(op: dict[str, Any], member: str, where: str) -> None:
    pointer = op.get(member)
    if not isinstance(pointer, str):
        raise InvalidError(f"{where}.{member} must be a JSON Pointer string", f"{where}.{member}")
    if (pointer and not pointer.startswith("/")) or _BAD_ESCAPE.search(pointer):
        raise InvalidError(
            f"{where}.{member} {pointer!r} is not a valid JSON Pointer (RFC 6901)",
            f"{where}.{member}",
        )


def _apply(doc: Any, op: dict[str, Any], i: int) -> Any:
    try:
        return jsonpatch.JsonPatch([op]).apply(doc, in_place=True)
    except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException) as exc:
        reason = _reason(exc)
    except (TypeError, KeyError, IndexError, ValueError):
        reason = "the location cannot hold a value"
    where = f"Patch[{i}]"
    source = f" from '{op['from']}'" if "from" in _REQUIRED[op["op"]] else ""
    raise UnprocessableError(f"{where}: cannot {op['op']}{source} at '{op['path']}': {reason}", where)


def _reason(exc: Exception) -> str:
    text = str(exc)
    member = re.match(r"member '(.*?)' not found|'(.*)'$", text)
    if member:  # jsonpointer appends the whole document; do not echo it back
        return f"member '{member.group(1) or member.group(2)}' does not exist"
    token = re.match(r"Cannot apply token '(.*?)' to non-container", text)
    if token:
        return f"'{token.group(1)}' is below a value that is neither an object nor an array"
    if len(text) > 200 or not text:
        return "the location does not exist"
    return text


def _test(doc: Any, op: dict[str, Any], i: int) -> Any:
    where = f"Patch[{i}]"
    try:
        actual = jsonpointer.resolve_pointer(doc, op["path"])
    except (jsonpointer.JsonPointerException, TypeError, KeyError, IndexError):
        raise UnprocessableError(f"{where}: test failed: '{op['path']}' does not exist", where) from None
    if not json_equal(actual, op["value"]):
        raise UnprocessableError(
            f"{where}: test failed: the value at '{op['path']}' is not equal to the expected value",
            where,
        )
    return doc


def json_equal(a: Any, b: Any) -> bool:
    """JSON equality (RFC 6902 §4.6): same JSON type, numbers compared by value."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float, Decimal)) and isinstance(b, (int, float, Decimal)):
        return Decimal(str(a)) == Decimal(str(b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b
