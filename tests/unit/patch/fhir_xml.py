"""A small FHIR XML → JSON converter for the official patch test cases.

Enough for the resources in fhir-patch-tests.xml (Patient, Parameters): the R4
definitions tell which elements repeat and which are primitives (their JSON type),
choice elements keep their XML name (``valueDate``), a primitive's ``id`` and
extensions go to ``_name``, xhtml is serialised as a string, and comments are dropped.
Independent of the code under test (only the shared definitions are used).
"""

from __future__ import annotations

import copy
import xml.etree.ElementTree as ET
from decimal import Decimal
from typing import Any

from fhir_server.definitions import ElementDef, load

FHIR = "{http://hl7.org/fhir}"
XHTML_NS = "http://www.w3.org/1999/xhtml"
ET.register_namespace("", XHTML_NS)

_INTEGERS = {"integer", "positiveInt", "unsignedInt"}


def local(tag: str) -> str:
    return tag.split("}", 1)[-1]


def resource_to_json(elem: ET.Element) -> dict[str, Any]:
    out: dict[str, Any] = {"resourceType": local(elem.tag)}
    _fill(out, elem, out["resourceType"])
    return out


def _lookup(type_name: str, name: str) -> tuple[ElementDef, str]:
    elements = load().elements(type_name)
    if name in elements:
        element = elements[name]
        return element, element.types[0]
    for element in elements.values():
        if element.choice and name.startswith(element.name):
            suffix = name[len(element.name) :]
            for candidate in element.types:
                if candidate[:1].upper() + candidate[1:] == suffix:
                    return element, candidate
    raise KeyError(f"{type_name}.{name} is not in the R4 definitions")


def _primitive(type_name: str, text: str | None) -> Any:
    if text is None:
        return None
    if type_name == "boolean":
        return text == "true"
    if type_name in _INTEGERS:
        return int(text)
    if type_name == "decimal":
        return Decimal(text)
    return text


def _xhtml(elem: ET.Element) -> str:
    clone = copy.deepcopy(elem)
    clone.tail = None
    return ET.tostring(clone, encoding="unicode")


def _put(out: dict[str, Any], key: str, value: Any, side: Any, many: bool) -> None:
    if not many:
        if value is not None:
            out[key] = value
        if side:
            out[f"_{key}"] = side
        return
    values = out.setdefault(key, [])
    values.append(value)
    sides = out.setdefault(f"_{key}", [])
    sides.extend([None] * (len(values) - 1 - len(sides)))
    sides.append(side or None)


def _fill(out: dict[str, Any], elem: ET.Element, type_name: str) -> None:
    for attr in ("id", "url"):
        if attr in elem.attrib:
            out[attr] = elem.attrib[attr]
    for child in elem:
        if not isinstance(child.tag, str):  # comments, processing instructions
            continue
        name = local(child.tag)
        element, child_type = _lookup(type_name, name)
        side: dict[str, Any] = {}
        if child_type == "xhtml":
            value: Any = _xhtml(child)
        elif child_type in ("Resource", "DomainResource"):
            value = resource_to_json(next(iter(child)))
        elif child_type[:1].islower():  # primitive: value attribute, id/extensions aside
            value = _primitive(child_type, child.attrib.get("value"))
            _fill(side, child, "Element")
        else:
            value = {}
            _fill(value, child, child_type)
        _put(out, name, value, side, element.many)
    for key in [k for k in out if k.startswith("_") and isinstance(out[k], list)]:
        if all(v is None for v in out[key]):
            del out[key]
