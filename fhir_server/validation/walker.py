"""Element-table driven walk over a resource: where the per-element rules plug in.

The walker knows nothing about what is checked. It compiles, once per type, a *plan* from
the official element tables (``definitions.load().types``): for every JSON property the
type can carry (choice elements expanded to ``valueQuantity``, ``valueDate``...; primitive
extensions ``_birthDate``), which checks apply and which type to descend into. Each
:class:`Rule` is asked once per (owner type, element, type code) for a :class:`Check`; the
walk then only calls the checks and descends into complex values, backbone elements
(keyed by path, e.g. ``Patient.contact``; contentReference elements point at such a path)
and nested resources (``contained``, ``Bundle.entry.resource``,
``Parameters.parameter.resource``: any element of type ``Resource``).

Paths are FHIRPath-like with JSON property names, as fhirkit reports them:
``Bundle.entry[0].resource.name[0].family``, ``Observation.valueQuantity.comparator``,
``Patient._birthDate.extension[0].valueDate``. They are only built when a check finds
something, or when descending.

Shape problems (a string where an object is expected, an array for a single value) are
fhirkit's to report: the walker skips what it cannot interpret.

Later rules (profiles: fixed values, slicing, invariants, extensible bindings as warnings)
plug in as further :class:`Rule` objects, or as a walker with another rule list.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

from ..definitions import Definitions, ElementDef
from ..errors import Issue

RESOURCE = "Resource"
_ABSTRACT_RESOURCES = frozenset({"Resource", "DomainResource"})


class Finding(NamedTuple):
    """What a check found about one value; the walker turns it into an :class:`Issue`."""

    code: str  # IssueType: value, code-invalid, required, invariant...
    diagnostics: str
    suffix: str = ""  # appended to the element's path, e.g. ".coding[1]"
    severity: str = "error"
    details_code: str | None = None


Check = Callable[[Any], Sequence[Finding]]
"""Called with one value of an element (each item of a repeating element); returns ``()``
when the value is fine. It must tolerate values of the wrong JSON type (fhirkit reports
those)."""


@dataclass(frozen=True, slots=True)
class ElementContext:
    """What a rule is told about one (owner type, element, type code) when plans compile."""

    owner: str  # element-table key: "Patient", "HumanName", "Patient.contact"
    owner_is_resource: bool
    element: ElementDef
    type_code: str
    key: str  # JSON property name: "deceasedDateTime", "gender"

    @property
    def path(self) -> str:
        """Definition path of the element, e.g. ``Patient.deceased[x]``."""
        return f"{self.owner}.{self.element.name}{'[x]' if self.element.choice else ''}"


class Rule(Protocol):
    """Decides, once per element and type, which check (if any) applies to its values."""

    def check_for(self, ctx: ElementContext) -> Check | None: ...


@dataclass(frozen=True, slots=True)
class Slot:
    """How the walker treats one JSON property of a type."""

    many: bool
    checks: tuple[Check, ...]
    child: str | None  # element-table key to descend into (complex types, backbones)
    resource: bool  # an element of type Resource: look at resourceType


Plan = dict[str, Slot]


class Walker:
    """Walks resources with the element tables and reports what the rules' checks find."""

    def __init__(self, definitions: Definitions, rules: Iterable[Rule]) -> None:
        self._defs = definitions
        self.rules = tuple(rules)
        self._plans: dict[str, Plan] = {}

    def walk(self, resource: dict[str, Any], path: str | None = None) -> list[Issue]:
        """Issues for a resource whose ``resourceType`` is known; ``path`` defaults to it."""
        out: list[Issue] = []
        rtype = resource["resourceType"]
        self._walk(resource, self.plan(rtype), path or rtype, out)
        return out

    def plan(self, type_name: str) -> Plan:
        plan = self._plans.get(type_name)
        if plan is None:
            plan = self._plans[type_name] = self._compile(type_name)
        return plan

    def _is_primitive(self, type_code: str) -> bool:
        # Primitive types have empty element tables; complex types always have id/extension.
        return not self._defs.elements(type_code)

    def _compile(self, type_name: str) -> Plan:
        is_resource = self._defs.is_resource_type(type_name) or type_name in _ABSTRACT_RESOURCES
        plan: Plan = {}
        for name, element in self._defs.elements(type_name).items():
            for type_code in element.types:
                key = name + type_code[0].upper() + type_code[1:] if element.choice else name
                ctx = ElementContext(type_name, is_resource, element, type_code, key)
                checks = tuple(c for rule in self.rules if (c := rule.check_for(ctx)) is not None)
                if type_code == RESOURCE:
                    plan[key] = Slot(element.many, checks, None, True)
                elif self._is_primitive(type_code):
                    if checks:
                        plan[key] = Slot(element.many, checks, None, False)
                    # id and extensions of the primitive value: {"_birthDate": {"extension": [...]}}
                    plan["_" + key] = Slot(element.many, (), "Element", False)
                else:
                    plan[key] = Slot(element.many, checks, type_code, False)
        return plan

    def _walk(self, node: dict[str, Any], plan: Plan, path: str, out: list[Issue]) -> None:
        for key, value in node.items():
            slot = plan.get(key)
            if slot is None:
                continue
            if type(value) is list:
                if not slot.many:
                    continue
                for i, item in enumerate(value):
                    if item is not None:
                        self._visit(slot, item, path, f"{key}[{i}]", out)
            elif not slot.many:
                self._visit(slot, value, path, key, out)

    def _visit(self, slot: Slot, value: Any, parent: str, step: str, out: list[Issue]) -> None:
        for check in slot.checks:
            findings = check(value)
            if findings:
                here = f"{parent}.{step}"
                out.extend(
                    Issue(f.severity, f.code, f.diagnostics, (here + f.suffix,), f.details_code)
                    for f in findings
                )
        if type(value) is not dict:
            return
        if slot.child is not None:
            self._walk(value, self.plan(slot.child), f"{parent}.{step}", out)
        elif slot.resource:
            rtype = value.get("resourceType")
            if type(rtype) is str and self._defs.is_resource_type(rtype):
                self._walk(value, self.plan(rtype), f"{parent}.{step}", out)
