"""What the R4 definitions say about the place a FHIRPath Patch value goes.

Used to choose the JSON key (choice elements: ``deceased`` + ``valueBoolean`` →
``deceasedBoolean``), to know whether an element repeats (JSON array), and to refuse a
value of the wrong type (fhirpatch.html: "Servers SHALL return an error if the type is
wrong").
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from ..definitions import ElementDef, load
from ..errors import UnprocessableError
from .locate import Location

INTEGERS = frozenset({"integer", "positiveInt", "unsignedInt"})
NUMBERS = INTEGERS | {"decimal"}
QUANTITIES = frozenset({"Quantity", "SimpleQuantity", "Age", "Count", "Distance", "Duration"})
RESOURCE_SLOTS = frozenset({"Resource", "DomainResource"})


@cache
def primitives() -> frozenset[str]:
    return frozenset(t for t in load().types if t[:1].islower())


def is_primitive(type_name: str | None) -> bool:
    return type_name is not None and type_name in primitives()


def type_from_suffix(suffix: str) -> str:
    """``Date`` → ``date``, ``CodeableConcept`` → ``CodeableConcept``."""
    lowered = suffix[:1].lower() + suffix[1:]
    return lowered if lowered in primitives() else suffix


def suffix_of(type_name: str) -> str:
    return type_name[:1].upper() + type_name[1:]


@dataclass(frozen=True)
class Slot:
    """An element of a type: its definition and the type its JSON key stands for."""

    element: ElementDef
    type: str  # for a choice key such as valueQuantity: the chosen type


def elements(type_name: str | None) -> dict[str, ElementDef]:
    """The elements of a type; a primitive's are Element's (``id``, ``extension``)."""
    if type_name is None:
        return {}
    return load().elements("Element" if is_primitive(type_name) else type_name)


def slot(parent_type: str | None, key: str) -> Slot | None:
    """Look up JSON key ``key`` (plain or choice-suffixed) on ``parent_type``."""
    elements_ = elements(parent_type)
    element = elements_.get(key)
    if element is not None:
        return Slot(element, element.types[0] if element.types else "")
    for element in elements_.values():
        if element.choice and key.startswith(element.name) and len(key) > len(element.name):
            chosen = type_from_suffix(key[len(element.name) :])
            if chosen in element.types:
                return Slot(element, chosen)
    return None


def knows(type_name: str | None) -> bool:
    return bool(elements(type_name))


def type_at(resource: dict[str, Any], loc: Location) -> str | None:
    """The FHIR type of the element at ``loc`` (None where the definitions cannot tell)."""
    current: Any = resource
    type_name: str | None = resource.get("resourceType")
    for step in loc:
        if isinstance(step, int):
            current = current[step] if isinstance(current, list) and step < len(current) else None
        else:
            found = slot(type_name, step.removeprefix("_"))
            type_name = found.type if found else None
            if found and step.startswith("_"):  # a primitive's id/extension side
                type_name = "Element"
            current = current.get(step) if isinstance(current, dict) else None
        if type_name in RESOURCE_SLOTS and isinstance(current, dict):
            type_name = current.get("resourceType", type_name)
        if type_name is None:
            return None
    return type_name


def compatible(value_type: str | None, element_type: str) -> bool:
    """May a value of ``value_type`` (None: built from parts) go where ``element_type`` goes?"""
    if value_type is None:  # anonymous content built from parts: any complex slot
        return not is_primitive(element_type) and element_type not in RESOURCE_SLOTS
    if value_type == element_type:
        return True
    if element_type in RESOURCE_SLOTS:
        return load().is_resource_type(value_type)
    if is_primitive(value_type) and is_primitive(element_type):
        if element_type == "boolean" or value_type == "boolean":
            return False
        if element_type in NUMBERS or value_type in NUMBERS:
            return value_type in INTEGERS and element_type in NUMBERS
        return True  # string-like primitives share the JSON string form
    return value_type in QUANTITIES and element_type in QUANTITIES


def check_type(value_type: str | None, element_type: str, name: str, where: str) -> None:
    if not compatible(value_type, element_type):
        raise type_error(name, element_type, value_type, where)


def type_error(name: str, element_type: str, value_type: str | None, where: str) -> UnprocessableError:
    given = f"a value of type {value_type}" if value_type else "content given as parts"
    error: UnprocessableError = UnprocessableError(
        f"'{name}' is of type {element_type}; {given} cannot go there", where, issue_code="value"
    )
    return error
