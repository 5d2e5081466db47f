"""Turn patch values into FHIR JSON and put them in place.

Primitives keep their ``_name`` sibling (id/extensions) in step: a repeating primitive's
``_name`` array stays index-aligned with ``name`` through insert, delete and move.
"""

from __future__ import annotations

import copy
from typing import Any

from ..errors import UnprocessableError
from .model import Slot, check_type, knows, slot, suffix_of, type_error
from .operations import Value


def resolve_key(parent_type: str | None, name: str, value: Value) -> tuple[str, Slot | None]:
    """The JSON key for element ``name`` of ``parent_type`` holding ``value``, type-checked."""
    found = slot(parent_type, name)
    if found is None:
        if knows(parent_type):
            raise UnprocessableError(
                f"{parent_type} has no element '{name}'", value.where, issue_code="structure"
            )
        return name, None  # outside the definitions: place as given, unchecked
    element = found.element
    if element.choice and name == element.name:
        if value.type is None or value.type not in element.types:
            raise UnprocessableError(
                f"'{name}' is a choice of {', '.join(element.types)}: give the value as one "
                f"of those types (value[x])",
                value.where,
                issue_code="value",
            )
        return name + suffix_of(value.type), Slot(element, value.type)
    if element.choice and value.type is not None and value.type != found.type:
        raise type_error(name, found.type, value.type, value.where)  # key says valueQuantity
    check_type(value.type, found.type, name, value.where)
    return name, found


def build(value: Value, type_name: str | None) -> Any:
    """The JSON of ``value`` for an element of type ``type_name``."""
    if not value.parts:
        return copy.deepcopy(value.content)
    obj: dict[str, Any] = {}
    for named in value.parts:
        key, found = resolve_key(type_name, named.name, named.value)
        content = build(named.value, found.type if found else None)
        if (found and found.element.many) or key in obj:
            insert_item(obj, key, len(_items(obj, key)), content, named.value.extension)
        else:
            set_single(obj, key, content, named.value.extension)
    return obj


def set_single(owner: dict[str, Any], key: str, content: Any, extension: Any) -> None:
    owner[key] = content
    if extension is not None:
        owner[f"_{key}"] = copy.deepcopy(extension)
    else:
        owner.pop(f"_{key}", None)


def remove_single(owner: dict[str, Any], key: str) -> None:
    owner.pop(key, None)
    owner.pop(f"_{key}", None)


def _items(owner: dict[str, Any], key: str) -> list[Any]:
    items = owner.get(key)
    if items is None:
        items = owner[key] = []
    elif not isinstance(items, list):
        items = owner[key] = [items]
    return items


def _extensions(owner: dict[str, Any], key: str, length: int) -> list[Any] | None:
    """The ``_key`` array padded to ``length`` (None when there is none)."""
    exts = owner.get(f"_{key}")
    if not isinstance(exts, list):
        return None
    exts.extend([None] * (length - len(exts)))
    return exts


def _tidy(owner: dict[str, Any], key: str) -> None:
    exts = owner.get(f"_{key}")
    if isinstance(exts, list) and all(e is None for e in exts):
        del owner[f"_{key}"]
    if owner.get(key) == []:
        del owner[key]


def insert_item(owner: dict[str, Any], key: str, index: int, content: Any, extension: Any) -> None:
    items = _items(owner, key)
    exts = _extensions(owner, key, len(items))
    if exts is None and extension is not None:
        exts = owner[f"_{key}"] = [None] * len(items)
    items.insert(index, content)
    if exts is not None:
        exts.insert(index, copy.deepcopy(extension))
    _tidy(owner, key)


def replace_item(owner: dict[str, Any], key: str, index: int, content: Any, extension: Any) -> None:
    items = _items(owner, key)
    exts = _extensions(owner, key, len(items))
    if exts is None and extension is not None:
        exts = owner[f"_{key}"] = [None] * len(items)
    items[index] = content
    if exts is not None:
        exts[index] = copy.deepcopy(extension)
    _tidy(owner, key)


def remove_item(owner: dict[str, Any], key: str, index: int) -> None:
    items = _items(owner, key)
    exts = _extensions(owner, key, len(items))
    del items[index]
    if exts is not None:
        del exts[index]
    _tidy(owner, key)


def move_item(owner: dict[str, Any], key: str, source: int, destination: int) -> None:
    items = _items(owner, key)
    exts = _extensions(owner, key, len(items))
    items.insert(destination, items.pop(source))
    if exts is not None:
        exts.insert(destination, exts.pop(source))
    _tidy(owner, key)
