"""FHIRPath invariants (ElementDefinition.constraint) of the base spec, on every write.

Spec (http://hl7.org/fhir/R4/conformance-rules.html#constraints): "Constraints are
expressed as FHIRPath statements ... that must evaluate to true"; an invariant of severity
``error`` makes the resource invalid, ``warning`` is reported only
(http://hl7.org/fhir/R4/elementdefinition-definitions.html#ElementDefinition.constraint.severity).

The constraints come from the shipped definitions (``definitions.constraints``, built by
``scripts/build_definitions.py``), each once at the path that declares it: ``Resource``,
``DomainResource`` (``dom-2`` .. ``dom-5``), datatypes (``per-1`` at ``Period``,
``ext-1`` at ``Extension``) and backbone elements (``pat-1`` at ``Patient.contact``).
By default only invariants of severity ``error`` are evaluated: the base ``warning`` ones
are best-practice guidelines (``dom-6`` "A resource should have narrative") that would
decorate every write. One walk over the resource with the element tables visits every complex node with its
type; each applicable invariant is evaluated with :mod:`fhir_server.fhirpath` on that
node (typed, so ``value`` finds ``valueString``) with ``%resource`` the (contained or
entry) resource and ``%rootResource`` its container when it is contained (else itself).

``ele-1`` ("All FHIR elements must have a @value or children") is checked natively: an
object with nothing but ``id`` fails (fhirkit already refuses empty primitives; the
``_x`` companions of primitives are left to fhirkit too).

The most frequent invariants are evaluated natively, to the letter of their expression
(``dom-2``, ``dom-4``, ``dom-5``, ``ext-1`` on every extension, ``ref-1`` on every
Reference, ``csd-1`` on every
CodeSystem: the FHIRPath engine spent most of the validation time on them).
``dom-3`` (contained resources are referenced) is also native: its published expression
applies ``as(canonical)`` to a collection, which FHIRPath (and fhirpathpy) refuse; the
native check is the rule as its text states it: a contained resource is referenced by
``#id`` from elsewhere in the resource (a ``reference``, ``canonical`` or ``uri``), or
refers to its container with ``#``.

Only a result of exactly ``false`` fails an invariant. An expression our engine cannot
compile or evaluate (``htmlChecks()``, ``conformsTo()``...) is skipped and counted in
:attr:`InvariantChecker.skipped` (never a false error).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ..definitions import Constraint, Definitions
from ..errors import Issue
from ..fhirpath import FhirPathError, compile_expression, evaluate_typed

RULE_SYSTEM_DEFAULT = "https://openimis.org/fhir/CodeSystem/validation-rule"
_NOT_DOMAIN = frozenset({"Bundle", "Parameters", "Binary"})
RESOURCE = "Resource"


def rule_system(canonical_base: str) -> str:
    """The CodeSystem of our validation rule keys (details.coding.system of every issue)."""
    return canonical_base.rstrip("/") + "/CodeSystem/validation-rule"


def rule_issue(
    severity: str, code: str, message: str, path: str, key: str, system: str = RULE_SYSTEM_DEFAULT
) -> Issue:
    return Issue(severity, code, message, (path,), key, system)


def _hash_strings(node: Any, out: set[str]) -> None:
    """Every string value starting with ``#`` anywhere under ``node``."""
    if type(node) is dict:
        for v in node.values():
            _hash_strings(v, out)
    elif type(node) is list:
        for v in node:
            _hash_strings(v, out)
    elif type(node) is str and node.startswith("#"):
        out.add(node)


def _dom_3(resource: Any) -> bool:
    contained = resource.get("contained") if type(resource) is dict else None
    if type(contained) is not list or not contained:
        return True
    refs: set[str] = set()
    _hash_strings(resource, refs)
    for c in contained:
        if type(c) is not dict or type(c.get("id")) is not str:
            continue
        if "#" + c["id"] in refs:
            continue
        inner: set[str] = set()
        _hash_strings(c, inner)
        if "#" not in inner:
            return False
    return True


def _contained(node: Any) -> list[dict[str, Any]]:
    c = node.get("contained") if type(node) is dict else None
    return [x for x in c if type(x) is dict] if type(c) is list else []


def _dom_2(node: Any) -> bool:
    """``contained.contained.empty()``"""
    return not any(c.get("contained") for c in _contained(node))


def _meta(c: dict[str, Any]) -> dict[str, Any]:
    m = c.get("meta")
    return m if type(m) is dict else {}


def _dom_4(node: Any) -> bool:
    """``contained.meta.versionId.empty() and contained.meta.lastUpdated.empty()``"""
    return not any("versionId" in _meta(c) or "lastUpdated" in _meta(c) for c in _contained(node))


def _dom_5(node: Any) -> bool:
    """``contained.meta.security.empty()``"""
    return not any(_meta(c).get("security") for c in _contained(node))


def _ext_1(node: Any) -> bool:
    """``extension.exists() != value.exists()``"""
    if type(node) is not dict:
        return True
    # a primitive value with only extensions (``_valueString``) exists too
    has_value = any(
        (k.startswith("value") and len(k) > 5 and k[5].isupper())
        or (k.startswith("_value") and len(k) > 6 and k[6].isupper())
        for k in node
    )
    return bool(node.get("extension")) != has_value


def _csd_1(node: Any) -> bool:
    """``concept.code.combine($this.descendants().concept.code).isDistinct()``: the codes
    of the concept tree are unique."""
    seen: set[Any] = set()
    stack = [node]
    while stack:
        n = stack.pop()
        concepts = n.get("concept") if type(n) is dict else None
        if type(concepts) is not list:
            continue
        for c in concepts:
            if type(c) is not dict:
                continue
            code = c.get("code")
            if code is not None:
                if code in seen:
                    return False
                seen.add(code)
            stack.append(c)
    return True


def _rng_2(node: Any) -> bool:
    """``low.empty() or high.empty() or (low <= high)`` (fhirpathpy cannot compare the
    Quantities): compared on their values when both are in the same unit (or unitless);
    Quantities in different units are not compared here (no false error)."""
    if type(node) is not dict:
        return True
    low, high = node.get("low"), node.get("high")
    if type(low) is not dict or type(high) is not dict:
        return True
    lv, hv = low.get("value"), high.get("value")
    if not isinstance(lv, int | float | Decimal) or not isinstance(hv, int | float | Decimal):
        return True
    if (low.get("code"), low.get("unit")) != (high.get("code"), high.get("unit")):
        return True
    return Decimal(str(lv)) <= Decimal(str(hv))


def _ref_1(node: Any, env: Mapping[str, Any]) -> bool:
    """``reference.startsWith('#').not() or (reference.substring(1).trace('url') in
    %rootResource.contained.id.trace('ids'))``, plus R5's correction of it: ``#`` alone in
    a contained resource refers to its container (as dom-3 allows)."""
    ref = node.get("reference") if type(node) is dict else None
    if type(ref) is not str or not ref.startswith("#"):
        return True
    root = env.get("rootResource")
    if ref == "#":
        return root is not env.get("resource")
    return any(c.get("id") == ref[1:] for c in _contained(root))


NATIVE_IN_CONTEXT: dict[str, Callable[[Any, Mapping[str, Any]], bool]] = {"ref-1": _ref_1}

NATIVE: dict[str, Callable[[Any], bool]] = {
    "rng-2": _rng_2,
    "dom-2": _dom_2,
    "dom-3": _dom_3,
    "dom-4": _dom_4,
    "dom-5": _dom_5,
    "ext-1": _ext_1,
    "csd-1": _csd_1,
}

# Published expressions our engine reads differently from the reference validator: ``is
# Boolean`` (the FHIRPath system type) where the element is a FHIR ``boolean``.
REWRITES = {"que-7": "operator = 'exists' implies (answer is boolean)"}


@dataclass(frozen=True, slots=True)
class _Slot:
    many: bool
    child: str | None  # element-table key of a complex value
    resource: bool
    constraints: tuple[Constraint, ...]  # on a primitive element (Narrative.div)
    type_path: str


class InvariantChecker:
    """Evaluates the base invariants (and optionally extra ones per path) on a resource."""

    def __init__(
        self,
        definitions: Definitions,
        *,
        system: str = RULE_SYSTEM_DEFAULT,
        constraints: Mapping[str, Sequence[Constraint]] | None = None,
        errors_only: bool = True,
    ) -> None:
        self._defs = definitions
        self.system = system
        self._constraints: dict[str, tuple[Constraint, ...]] = {
            path: tuple(c for c in cs if c.severity == "error" or not errors_only)
            for path, cs in (constraints or definitions.constraints).items()
        }
        self.skipped: Counter[str] = Counter()  # constraint key -> evaluations skipped
        self._unsupported: set[str] = set()
        self._plans: dict[str, dict[str, _Slot]] = {}
        self._resource_constraints: dict[str, tuple[Constraint, ...]] = {}

    # ------------------------------------------------------------------ public

    def check(self, resource: dict[str, Any], path: str | None = None) -> list[Issue]:
        out: list[Issue] = []
        rtype = resource.get("resourceType")
        if type(rtype) is str and self._defs.is_resource_type(rtype):
            self._resource(resource, rtype, path or rtype, resource, out)
        return out

    def unsupported(self) -> list[str]:
        """Keys of invariants whose expression our FHIRPath engine cannot evaluate."""
        return sorted(self.skipped)

    # ------------------------------------------------------------------ walk

    def _for_resource(self, rtype: str) -> tuple[Constraint, ...]:
        found = self._resource_constraints.get(rtype)
        if found is None:
            parts: list[Constraint] = list(self._constraints.get(RESOURCE, ()))
            if rtype not in _NOT_DOMAIN:
                parts.extend(self._constraints.get("DomainResource", ()))
            parts.extend(self._constraints.get(rtype, ()))
            found = self._resource_constraints[rtype] = tuple(parts)
        return found

    def _resource(
        self, node: dict[str, Any], rtype: str, path: str, root: dict[str, Any], out: list[Issue]
    ) -> None:
        env = {"resource": node, "rootResource": root, "context": node}
        self._evaluate(self._for_resource(rtype), node, rtype, path, env, out)
        self._children(node, rtype, path, node, root, out)

    def _plan(self, type_key: str) -> dict[str, _Slot]:
        plan = self._plans.get(type_key)
        if plan is not None:
            return plan
        plan = {}
        for name, element in self._defs.elements(type_key).items():
            for type_code in element.types:
                key = name + type_code[0].upper() + type_code[1:] if element.choice else name
                type_path = f"{type_key}.{name}"
                if type_code == RESOURCE:
                    plan[key] = _Slot(element.many, None, True, (), type_path)
                elif not self._defs.elements(type_code):  # a primitive
                    own = self._constraints.get(type_path, ())
                    if own:
                        plan[key] = _Slot(element.many, None, False, own, type_path)
                    plan["_" + key] = _Slot(element.many, "Element", False, (), "Element")
                else:
                    plan[key] = _Slot(element.many, type_code, False, (), type_code)
        self._plans[type_key] = plan
        return plan

    def _children(
        self,
        node: dict[str, Any],
        type_key: str,
        path: str,
        resource: dict[str, Any],
        root: dict[str, Any],
        out: list[Issue],
    ) -> None:
        plan = self._plan(type_key)
        for key, value in node.items():
            slot = plan.get(key)
            if slot is None:
                continue
            if type(value) is list:
                if slot.many:
                    for i, item in enumerate(value):
                        self._visit(slot, item, f"{path}.{key}[{i}]", resource, root, out)
            elif not slot.many:
                self._visit(slot, value, f"{path}.{key}", resource, root, out)

    def _visit(
        self,
        slot: _Slot,
        value: Any,
        path: str,
        resource: dict[str, Any],
        root: dict[str, Any],
        out: list[Issue],
    ) -> None:
        if slot.constraints:
            env = {"resource": resource, "rootResource": root, "context": value}
            self._evaluate(slot.constraints, value, slot.type_path, path, env, out)
        if type(value) is not dict:
            return
        if slot.resource:
            rtype = value.get("resourceType")
            if type(rtype) is str and self._defs.is_resource_type(rtype):
                # %rootResource: the container for a contained resource; an entry of a Bundle
                # (or a Parameters resource) is a resource of its own
                inner_root = root if slot.type_path.endswith(".contained") else value
                self._resource(value, rtype, path, inner_root, out)
            return
        if slot.child is None:
            return
        if slot.type_path != "Element" and not any(k != "id" for k in value):
            out.append(
                rule_issue(
                    "error",
                    "invariant",
                    "Constraint failed: ele-1: All FHIR elements must have a @value or children",
                    path,
                    "ele-1",
                    self.system,
                )
            )
            return
        own = self._constraints.get(slot.child)
        if own:
            env = {"resource": resource, "rootResource": root, "context": value}
            self._evaluate(own, value, slot.child, path, env, out)
        self._children(value, slot.child, path, resource, root, out)

    def _evaluate(
        self,
        constraints: Iterable[Constraint],
        node: Any,
        type_path: str,
        path: str,
        env: dict[str, Any],
        out: list[Issue],
    ) -> None:
        for c in constraints:
            native = NATIVE.get(c.key)
            in_context = NATIVE_IN_CONTEXT.get(c.key)
            if native is not None or in_context is not None:
                ok = native(node) if native is not None else in_context(node, env)  # type: ignore[misc]
                if not ok:
                    out.append(
                        rule_issue(
                            "error",
                            "invariant",
                            f"Constraint failed: {c.key}: {c.human}",
                            path,
                            c.key,
                            self.system,
                        )
                    )
                continue
            if c.expression in self._unsupported:
                self.skipped[c.key] += 1
                continue
            try:
                result = evaluate_typed(node, type_path, REWRITES.get(c.key, c.expression), env)
            except FhirPathError:
                self._unsupported.add(c.expression)
                self.skipped[c.key] += 1
                continue
            if result == [False]:
                out.append(
                    rule_issue(
                        "error" if c.severity == "error" else "warning",
                        "invariant",
                        f"Constraint failed: {c.key}: {c.human} (expression: {c.expression})",
                        path,
                        c.key,
                        self.system,
                    )
                )


def can_compile(expression: str) -> bool:
    try:
        compile_expression(expression)
    except FhirPathError:
        return False
    return True
