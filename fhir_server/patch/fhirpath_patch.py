"""FHIRPath Patch (R4 fhirpatch.html): a ``Parameters`` body of add/insert/delete/replace/move.

Rules applied (fhirpatch.html, "base rules"): the path must select exactly one element
(for insert and move: one list), except delete, which does nothing when the path
selects nothing; the value's type must fit the place it goes; a delete that empties an
object removes the object too (FHIR JSON has no empty objects). Errors name the
operation: ``Parameters.parameter[i]`` (422 for a patch this resource cannot take,
400 for a malformed body).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any

from ..errors import InvalidError, UnprocessableError
from ..fhirjson import check_depth
from .content import (
    build,
    insert_item,
    move_item,
    remove_item,
    remove_single,
    replace_item,
    resolve_key,
    set_single,
)
from .guard import check_identity
from .locate import Location, choice_key, select
from .model import check_type, slot, suffix_of, type_at, type_error
from .operations import Operation, Value, parse_operations

_TRAILING_MEMBER = re.compile(r"^(.+)\.([A-Za-z][A-Za-z0-9]*)$")


def apply_fhirpath_patch(resource: dict[str, Any], parameters: Any) -> dict[str, Any]:
    """Apply a FHIRPath Patch to a copy of ``resource`` and return the copy."""
    check_depth(parameters)
    operations = parse_operations(parameters)
    doc = copy.deepcopy(resource)
    for op in operations:
        _APPLY[op.type](doc, op)
        check_identity(resource, doc, op.where)
    return doc


def _get(doc: Any, loc: Location) -> Any:
    for step in loc:
        doc = doc[step]
    return doc


def _get_or_none(doc: Any, loc: Location) -> Any:
    """The value at ``loc``; None for a primitive that exists only as its "_x" side."""
    try:
        return _get(doc, loc)
    except (KeyError, IndexError):
        return None


def _split(loc: Location) -> tuple[Location, str, int | None]:
    """(location of the owning object, JSON key, list index or None)."""
    if isinstance(loc[-1], int):
        return loc[:-2], str(loc[-2]), loc[-1]
    return loc[:-1], loc[-1], None


def _single(doc: dict[str, Any], op: Operation, doing: str) -> Location:
    locs = select(doc, op.path, op.where)
    if not locs:
        raise UnprocessableError(f"No content found at {op.path} when {doing}", op.where)
    if len(locs) > 1:
        raise UnprocessableError(
            f"{op.path} matches {len(locs)} elements; {op.type} needs exactly one", op.where
        )
    return locs[0]


def _value(op: Operation) -> Value:
    assert op.value is not None  # parse_operations guarantees it for add/insert/replace
    return op.value


def _add(doc: dict[str, Any], op: Operation) -> None:
    loc = _single(doc, op, "adding")
    target = _get_or_none(doc, loc)
    parent_type = type_at(doc, loc)
    if not isinstance(target, dict):  # a primitive: its id and extensions live in "_name"
        target = _primitive_side(doc, loc)
    value = _value(op)
    key, found = resolve_key(parent_type, str(op.name), value)
    content = build(value, found.type if found else None)
    if (found and found.element.many) or (not found and isinstance(target.get(key), list)):
        insert_item(target, key, len(target.get(key) or []), content, value.extension)
        return
    taken = key in target or f"_{key}" in target
    if found and found.element.choice:
        taken = taken or choice_key(target, found.element.name) is not None
    if taken:
        raise UnprocessableError(
            f"{op.path} already has '{op.name}' (it does not repeat): use replace", op.where
        )
    set_single(target, key, content, value.extension)


def _primitive_side(doc: dict[str, Any], loc: Location) -> dict[str, Any]:
    owner_loc, key, index = _split(loc)
    owner = _get(doc, owner_loc)
    if index is None:
        side = owner.setdefault(f"_{key}", {})
    else:
        sides = owner.get(f"_{key}")
        if not isinstance(sides, list):
            sides = owner[f"_{key}"] = []
        sides.extend([None] * (len(owner.get(key) or ()) - len(sides)))
        side = sides[index] = sides[index] if isinstance(sides[index], dict) else {}
    assert isinstance(side, dict)
    return side


def _collection(doc: dict[str, Any], op: Operation) -> tuple[Location, str, list[Any]]:
    """The one list ``op.path`` names: (owner location, key, items)."""
    locs = select(doc, op.path, op.where)
    if not locs:
        return _empty_collection(doc, op)
    owners = {(_split(loc)[0], _split(loc)[1]) for loc in locs}
    if len(owners) > 1 or any(_split(loc)[2] is None for loc in locs):
        raise UnprocessableError(f"{op.path} does not select a single list", op.where)
    owner_loc, key = owners.pop()
    return owner_loc, key, _get(doc, owner_loc)[key]


def _empty_collection(doc: dict[str, Any], op: Operation) -> tuple[Location, str, list[Any]]:
    """``X.name`` selecting nothing: the list is empty if ``X`` is one object."""
    missing = UnprocessableError(f"No content found at {op.path}", op.where)
    match = _TRAILING_MEMBER.match(op.path.strip())
    if not match:
        raise missing
    try:
        owners = select(doc, match.group(1), op.where)
    except (InvalidError, UnprocessableError):
        raise missing from None
    if len(owners) != 1 or not isinstance(_get(doc, owners[0]), dict):
        raise missing
    return owners[0], match.group(2), []


def _insert(doc: dict[str, Any], op: Operation) -> None:
    owner_loc, key, items = _collection(doc, op)
    assert op.index is not None
    if not 0 <= op.index <= len(items):
        raise UnprocessableError(
            f"index {op.index} is out of range: {op.path} has {len(items)} element(s)", op.where
        )
    value = _value(op)
    found = slot(type_at(doc, owner_loc), key)
    if found and not found.element.many:
        raise UnprocessableError(f"{op.path} does not repeat: use add or replace", op.where)
    if found:
        check_type(value.type, found.type, key, value.where)
    content = build(value, found.type if found else None)
    insert_item(_get(doc, owner_loc), key, op.index, content, value.extension)


def _move(doc: dict[str, Any], op: Operation) -> None:
    owner_loc, key, items = _collection(doc, op)
    assert op.source is not None and op.destination is not None
    for part, index in (("source", op.source), ("destination", op.destination)):
        if not 0 <= index < len(items):
            raise UnprocessableError(
                f"{part} {index} is out of range: {op.path} has {len(items)} element(s)", op.where
            )
    move_item(_get(doc, owner_loc), key, op.source, op.destination)


def _delete(doc: dict[str, Any], op: Operation) -> None:
    locs = select(doc, op.path, op.where)
    if not locs:
        return  # "delete: path of the element to delete (if found)"
    if len(locs) > 1:
        raise UnprocessableError(
            f"{op.path} matches {len(locs)} elements; delete removes exactly one", op.where
        )
    if not locs[0]:
        raise UnprocessableError("A patch cannot delete the resource itself", op.where)
    owner_loc, key, index = _split(locs[0])
    owner = _get(doc, owner_loc)
    if index is None:
        remove_single(owner, key)
    else:
        remove_item(owner, key, index)
    _prune(doc, owner_loc)


def _prune(doc: dict[str, Any], loc: Location) -> None:
    """Remove objects the delete left empty, up to (not including) the resource."""
    while loc and _get(doc, loc) in ({}, None):
        owner_loc, key, index = _split(loc)
        owner = _get(doc, owner_loc)
        if index is None:
            owner.pop(key, None)
        elif key.startswith("_"):  # a primitive's side object: keep the arrays aligned
            owner[key][index] = None
            if all(side is None for side in owner[key]):
                del owner[key]
        else:
            remove_item(owner, key, index)
        loc = owner_loc


def _replace(doc: dict[str, Any], op: Operation) -> None:
    loc = _single(doc, op, "replacing")
    if not loc:
        raise UnprocessableError("A patch cannot replace the resource itself", op.where)
    owner_loc, key, index = _split(loc)
    owner = _get(doc, owner_loc)
    value = _value(op)
    found = slot(type_at(doc, owner_loc), key)
    type_name = found.type if found else None
    if found and found.element.choice:  # the new value may pick another type: new key
        if value.type is None or value.type not in found.element.types:
            raise type_error(found.element.name, " | ".join(found.element.types), value.type, op.where)
        remove_single(owner, key)
        key, type_name = found.element.name + suffix_of(value.type), value.type
    elif found:
        check_type(value.type, found.type, key, value.where)
    content = build(value, type_name)
    if index is None:
        set_single(owner, key, content, value.extension)
    else:
        replace_item(owner, key, index, content, value.extension)


_APPLY: dict[str, Callable[[dict[str, Any], Operation], None]] = {
    "add": _add,
    "insert": _insert,
    "delete": _delete,
    "replace": _replace,
    "move": _move,
}
