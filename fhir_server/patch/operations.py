"""Read a FHIRPath Patch ``Parameters`` resource into operations (fhirpatch.html).

Anything malformed here is the client's error: ``InvalidError`` (400) with the FHIRPath
of the offending parameter or part, e.g. ``Parameters.parameter[1].part[2]``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ..definitions import load
from ..errors import InvalidError
from .model import is_primitive, type_from_suffix

# part name → the value[x] key that carries it ("value" is any type, see _value)
_SCALARS = {
    "type": "valueCode",
    "path": "valueString",
    "name": "valueString",
    "index": "valueInteger",
    "source": "valueInteger",
    "destination": "valueInteger",
}
NEEDS: dict[str, tuple[str, ...]] = {
    "add": ("path", "name", "value"),
    "insert": ("path", "value", "index"),
    "delete": ("path",),
    "replace": ("path", "value"),
    "move": ("path", "source", "destination"),
}
_FORMS = {"boolean": (bool,), "decimal": (int, Decimal)} | {
    t: (int,) for t in ("integer", "positiveInt", "unsignedInt")
}


@dataclass(frozen=True)
class Named:
    """One nested part of a value given as parts: element ``name`` and its value."""

    name: str
    value: Value


@dataclass(frozen=True)
class Value:
    """The value of an add/insert/replace.

    ``type`` is the FHIR type of ``value[x]`` (``date``, ``CodeableConcept``) or the
    resource type of a ``resource``; None when the content is given as nested parts,
    in which case ``parts`` holds them and the JSON is built once the target is known.
    ``extension`` is the ``_value[x]`` sibling of a primitive value, if any.
    """

    where: str
    type: str | None = None
    content: Any = None
    extension: Any = None
    parts: tuple[Named, ...] = ()


@dataclass(frozen=True)
class Operation:
    where: str  # Parameters.parameter[i]
    type: str
    path: str
    name: str | None = None
    value: Value | None = None
    index: int | None = None
    source: int | None = None
    destination: int | None = None


def parse_operations(parameters: Any) -> list[Operation]:
    if not isinstance(parameters, dict) or parameters.get("resourceType") != "Parameters":
        raise InvalidError("A FHIRPath Patch body must be a Parameters resource", "Parameters")
    params = parameters.get("parameter", [])
    if not isinstance(params, list):
        raise InvalidError("Parameters.parameter must be an array", "Parameters.parameter")
    return [_operation(p, f"Parameters.parameter[{i}]") for i, p in enumerate(params)]


def _operation(param: Any, where: str) -> Operation:
    if not isinstance(param, dict) or param.get("name") != "operation":
        raise InvalidError(f"{where} must be a parameter named 'operation'", where)
    parts = param.get("part")
    if not isinstance(parts, list):
        raise InvalidError(f"{where} has no parts (type, path, ...)", where)
    found: dict[str, Any] = {}
    for j, part in enumerate(parts):
        at = f"{where}.part[{j}]"
        name = part.get("name") if isinstance(part, dict) else None
        if name != "value" and name not in _SCALARS:
            raise InvalidError(f"{at}: unknown FHIRPath Patch part {name!r}", at)
        if name in found:
            raise InvalidError(f"{at}: part '{name}' is repeated", at)
        found[name] = _value(part, at) if name == "value" else _scalar(part, name, at)
    kind = found.get("type")
    if kind not in NEEDS:
        raise InvalidError(f"{where}: part 'type' must be one of {', '.join(NEEDS)} (got {kind!r})", where)
    missing = [n for n in NEEDS[kind] if n not in found]
    if missing:
        raise InvalidError(f"{where}: a '{kind}' operation needs part '{missing[0]}'", where)
    return Operation(where=where, **found)


def _scalar(part: dict[str, Any], name: str, at: str) -> Any:
    key = _SCALARS[name]
    value = part.get(key)
    if key == "valueInteger":
        ok = isinstance(value, int) and not isinstance(value, bool)
    else:
        ok = isinstance(value, str) and value != ""
    if not ok:
        raise InvalidError(f"{at}: part '{name}' needs {key}", f"{at}.{key}")
    return value


def _value(part: dict[str, Any], at: str) -> Value:
    """A ``value`` part, or a nested part of one: value[x], resource, or parts."""
    keys = [k for k in part if k.startswith("value") and k[5:6].isupper()]
    forms = len(keys) + ("resource" in part) + ("part" in part)
    if forms != 1:
        raise InvalidError(f"{at} needs exactly one of value[x], resource or part", at)
    if keys:
        return _typed(part, keys[0], at)
    if "resource" in part:
        resource = part["resource"]
        if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
            raise InvalidError(f"{at}.resource must be a resource", f"{at}.resource")
        return Value(at, resource["resourceType"], resource)
    nested = part["part"]
    if not isinstance(nested, list) or not nested:
        raise InvalidError(f"{at}.part must be a non-empty array", f"{at}.part")
    named = []
    for k, sub in enumerate(nested):
        sub_at = f"{at}.part[{k}]"
        name = sub.get("name") if isinstance(sub, dict) else None
        if not isinstance(name, str) or not name:
            raise InvalidError(f"{sub_at} needs a name", sub_at)
        named.append(Named(name, _value(sub, sub_at)))
    return Value(at, parts=tuple(named))


def _typed(part: dict[str, Any], key: str, at: str) -> Value:
    type_name = type_from_suffix(key[5:])
    if not is_primitive(type_name) and not load().elements(type_name):
        raise InvalidError(f"{at}.{key}: {type_name} is not an R4 data type", f"{at}.{key}")
    content = part[key]
    forms = _FORMS.get(type_name, (str,)) if is_primitive(type_name) else (dict,)
    if (isinstance(content, bool) and bool not in forms) or not isinstance(content, forms):
        raise InvalidError(f"{at}.{key} is not a valid {type_name}", f"{at}.{key}")
    return Value(at, type_name, content, part.get(f"_{key}"))
