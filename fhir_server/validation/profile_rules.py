"""A resource against a profile's element tree (:mod:`.snapshot`): the rules profiles add.

Each issue carries the rule key in ``details.coding`` (system
``{canonical_base}/CodeSystem/validation-rule``) and the FHIRPath of the element:

* ``cardinality``: fewer than ``min`` or more than ``max`` values (of an element or a slice).
* ``fixed``: "the value in the instance SHALL exactly match the fixed value" (every
  property, no more, no less; elementdefinition-definitions.html#ElementDefinition.fixed_x_).
* ``pattern``: "the instance SHALL contain at least the properties of the pattern with
  the same values; an array in the pattern matches when each of its items is matched by
  an item of the instance" (ElementDefinition.pattern_x_).
* ``binding``: the code (``code``, ``Coding``, ``CodeableConcept``, ``Quantity``) is in
  the bound ValueSet; strength ``required`` is an error, ``extensible`` a warning when
  there are codes and none is from the set (text alone is allowed by ``extensible``;
  terminologies.html#extensible). ValueSets that cannot be expanded are not checked.
* ``type``: a choice element restricted to fewer types.
* ``slicing``: values are assigned to slices by the discriminators (``value``,
  ``pattern``: the value at the discriminator path equals / contains the slice's
  fixed / pattern value; ``type``: the value's type is the slice's; ``exists``); each
  slice's cardinality is checked (key ``slicing``, naming the slice); with ``rules = closed`` a value in no
  slice is an error, with ``openAtEnd`` a value in no slice followed by a sliced one.
  An extension slice without a fixed ``url`` is discriminated by its type profile's url.
* ``extension-context``: an extension whose definition is known is used where its
  ``context`` allows (``element``: the path or type of the element holding it,
  ``extension``: inside that extension; ``fhirpath`` contexts are not checked); its own
  definition (value type, cardinality, bindings, nested extensions) applies to it. A core
  extension (``http://hl7.org/fhir/StructureDefinition/...``) out of its context is only a
  warning: the official R4 content itself uses some outside their declared contexts.
* FHIRPath invariants of the profile (its own keys, e.g. ``oi-insuree-1``), evaluated on
  the element with ``%resource``; an expression our engine cannot evaluate is skipped
  and counted (``skipped``), never a false error.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ..definitions import Definitions
from ..errors import Issue
from ..fhirpath import FhirPathError, evaluate_typed
from .native_invariants import native
from .snapshot import Discriminator, ElementNode, ProfileTree

Code = tuple[str, str]
_ANY_CONTEXT = frozenset({"Element", "Resource", "DomainResource", "BackboneElement"})


@dataclass
class Item:
    value: Any
    path: str  # FHIRPath of this value: Patient.identifier[0]
    key: str  # JSON property it came from: "identifier", "valueQuantity"


@dataclass
class Resolved:
    """What the async side prepared: expansions of bound ValueSets (None: not expandable)
    and extension definitions by url (None: unknown)."""

    valuesets: dict[str, frozenset[Code] | None] = field(default_factory=dict)
    extensions: dict[str, ProfileTree | None] = field(default_factory=dict)


def contains(value: Any, pattern: Any) -> bool:
    """Pattern semantics: ``value`` holds at least what ``pattern`` holds."""
    if isinstance(pattern, dict):
        return isinstance(value, dict) and all(contains(value.get(k), v) for k, v in pattern.items())
    if isinstance(pattern, list):
        return isinstance(value, list) and all(any(contains(x, p) for x in value) for p in pattern)
    return _same_primitive(value, pattern)


def _same_primitive(value: Any, expected: Any) -> bool:
    if type(value) is bool or type(expected) is bool:
        return value is expected
    if isinstance(value, int | float | Decimal) and isinstance(expected, int | float | Decimal):
        return Decimal(str(value)) == Decimal(str(expected))
    return type(value) is type(expected) and bool(value == expected)


def exactly(value: Any, fixed: Any) -> bool:
    if isinstance(fixed, dict):
        return (
            isinstance(value, dict)
            and set(value) == set(fixed)
            and all(exactly(value[k], fixed[k]) for k in fixed)
        )
    if isinstance(fixed, list):
        return (
            isinstance(value, list)
            and len(value) == len(fixed)
            and all(exactly(a, b) for a, b in zip(value, fixed, strict=True))
        )
    return _same_primitive(value, fixed)


def _codes_of(value: Any) -> tuple[list[Code | tuple[None, str]], bool]:
    """(system, code) pairs of a coded value and whether it carries only text."""
    if type(value) is str:
        return [(None, value)], False
    if type(value) is not dict:
        return [], False
    if "coding" in value or ("text" in value and "code" not in value):
        raw = value.get("coding")
        codings: list[Any] = raw if type(raw) is list else []
        out: list[Code | tuple[None, str]] = []
        for c in codings:
            if type(c) is dict and type(c.get("code")) is str:
                system = c.get("system")
                out.append((system, c["code"]) if type(system) is str else (None, c["code"]))
        return out, not out
    if type(value.get("code")) is str:
        system = value.get("system")
        return [(system, value["code"]) if type(system) is str else (None, value["code"])], False
    return [], False


def _in(codes: frozenset[Code], pair: Code | tuple[None, str]) -> bool:
    system, code = pair
    if system is None:
        return any(c == code for _, c in codes)
    return (system, code) in codes


class ProfileChecker:
    """Checks resources against profile trees (sync; everything async is in :class:`Resolved`)."""

    def __init__(self, definitions: Definitions, system: str) -> None:
        self.defs = definitions
        self.system = system
        self.skipped: Counter[str] = Counter()

    def check(
        self, tree: ProfileTree, resource: dict[str, Any], resolved: Resolved, path: str | None = None
    ) -> list[Issue]:
        run = _Run(self, tree.url, resolved, resource, [])
        root = path or tree.type
        run.value(tree.root, Item(resource, root, ""), tree.type)
        return run.out

    def issue(self, severity: str, code: str, message: str, path: str, key: str) -> Issue:
        return Issue(severity, code, message, (path,), key, self.system)

    def element_type(self, path: str) -> str | None:
        """The type of the element at definition path ``Patient.address`` (``Address``)."""
        parts = path.split(".")
        owner = parts[0]
        for i, name in enumerate(parts[1:], 1):
            elements = self.defs.elements(owner)
            el = elements.get(name.removesuffix("[x]"))
            if el is None or not el.types:
                return None
            owner = el.types[0]
            if i == len(parts) - 1:
                return owner
        return owner


@dataclass
class _Run:
    checker: ProfileChecker
    profile: str
    resolved: Resolved
    resource: dict[str, Any]
    out: list[Issue]

    def add(self, severity: str, code: str, message: str, path: str, key: str) -> None:
        self.out.append(self.checker.issue(severity, code, f"{message} (profile {self.profile})", path, key))

    # ------------------------------------------------------------------ one value

    def value(self, node: ElementNode, item: Item, type_path: str) -> None:
        v = item.value
        if node.fixed is not None and not exactly(v, node.fixed[1]):
            self.add("error", "value", f"Value must be exactly {node.fixed[1]!r}", item.path, "fixed")
        if node.pattern is not None and not contains(v, node.pattern[1]):
            self.add(
                "error", "value", f"Value must contain the pattern {node.pattern[1]!r}", item.path, "pattern"
            )
        if node.binding is not None:
            self.binding(node.binding, item)
        for c in node.constraints:
            fast = native(c.expression)
            result = fast(v) if fast is not None else None
            if result is None:
                env = {"resource": self.resource, "rootResource": self.resource, "context": v}
                try:
                    result = evaluate_typed(v, type_path, c.expression, env)
                except FhirPathError:
                    self.checker.skipped[c.key] += 1
                    continue
            if result == [False]:
                self.add(
                    "error" if c.severity == "error" else "warning",
                    "invariant",
                    f"Constraint failed: {c.key}: {c.human}",
                    item.path,
                    c.key,
                )
        if type(v) is not dict:
            return
        for child in node.children.values():
            items: list[Item] = []
            for key in child.keys_for(v):
                raw = v[key]
                if type(raw) is list:
                    items.extend(Item(x, f"{item.path}.{key}[{i}]", key) for i, x in enumerate(raw))
                elif raw is not None:
                    items.append(Item(raw, f"{item.path}.{key}", key))
            self.element(child, items, item.path)
        for name in ("extension", "modifierExtension"):
            if name not in node.children and type(v.get(name)) is list:
                self.extensions(
                    [Item(x, f"{item.path}.{name}[{i}]", name) for i, x in enumerate(v[name])],
                    node.path,
                    self._choice_type(node, item.key),
                )

    def binding(self, binding: tuple[str, str], item: Item) -> None:
        strength, url = binding
        if strength not in ("required", "extensible"):
            return
        codes = self.resolved.valuesets.get(url)
        if codes is None:
            return
        pairs, text_only = _codes_of(item.value)
        if not pairs:
            if strength == "required" and text_only:
                self.add(
                    "error",
                    "code-invalid",
                    f"A code from the required value set {url} is needed",
                    item.path,
                    "binding",
                )
            return
        if any(_in(codes, p) for p in pairs):
            return
        shown = ", ".join(f"{s}|{c}" if s else str(c) for s, c in pairs)
        if strength == "required":
            self.add(
                "error",
                "code-invalid",
                f"Code {shown} is not in the required value set {url}",
                item.path,
                "binding",
            )
        else:
            self.add(
                "warning",
                "code-invalid",
                f"Code {shown} is not in the extensible value set {url}",
                item.path,
                "binding",
            )

    # ------------------------------------------------------------------ an element's values

    def element(self, node: ElementNode, items: list[Item], parent: str) -> None:
        here = f"{parent}.{node.name.removesuffix('[x]')}"
        self.cardinality(node, items, here)
        if node.choice and node.types:
            allowed = {t.code for t in node.types}
            stem = node.name[:-3]
            for it in items:
                suffix = it.key[len(stem) :]
                if suffix and suffix[0].lower() + suffix[1:] not in allowed and suffix not in allowed:
                    self.add(
                        "error",
                        "structure",
                        f"Type {suffix} is not allowed here (allowed: {', '.join(sorted(allowed))})",
                        it.path,
                        "type",
                    )
        type_path = node.path
        if node.slices:
            self.slicing(node, items, here)
        for it in items:
            self.value(node, it, type_path)
        if node.name in ("extension", "modifierExtension"):
            self.extensions(items, node.path.rsplit(".", 1)[0], None, set(node.slices))

    def cardinality(self, node: ElementNode, items: list[Item], here: str, key: str = "cardinality") -> None:
        n = len(items)
        what = f" in slice {node.id}" if key == "slicing" else ""
        if node.min is not None and n < node.min:
            message = f"At least {node.min} value(s) required{what}, found {n}"
            self.add("error", "required", message, here, key)
        if node.max is not None and node.max != "*" and n > int(node.max):
            message = f"At most {node.max} value(s) allowed{what}, found {n}"
            self.add("error", "structure", message, here, key)

    def slicing(self, node: ElementNode, items: list[Item], here: str) -> None:
        assigned: dict[str, list[Item]] = {name: [] for name in node.slices}
        discriminators = node.slicing.discriminators if node.slicing else []
        rules = node.slicing.rules if node.slicing else "open"
        last_matched = -1
        unmatched: list[tuple[int, Item]] = []
        for idx, it in enumerate(items):
            for name, sl in node.slices.items():
                if discriminators and all(self.matches(sl, d, it) for d in discriminators):
                    assigned[name].append(it)
                    last_matched = idx
                    break
            else:
                unmatched.append((idx, it))
        for idx, it in unmatched:
            if rules == "closed" or (rules == "openAtEnd" and idx < last_matched):
                self.add(
                    "error",
                    "structure",
                    f"Value matches no slice of {node.id} (slicing {rules})",
                    it.path,
                    "slicing",
                )
        for name, sl in node.slices.items():
            sl_items = assigned[name]
            self.cardinality(sl, sl_items, here, "slicing")
            for it in sl_items:
                self.value(sl, it, sl.path)

    def matches(self, sl: ElementNode, d: Discriminator, it: Item) -> bool:
        target = _descend(sl, d.path)
        values = _navigate(it.value, d.path)
        if d.type in ("value", "pattern"):
            expected: Any = None
            check: Callable[[Any, Any], bool] = exactly
            if target is not None and target.fixed is not None:
                expected = target.fixed[1]
            elif target is not None and target.pattern is not None:
                expected, check = target.pattern[1], contains
            elif d.path == "url" and sl.types and sl.types[0].profiles:
                expected = sl.types[0].profiles[0]
            if expected is None:
                return False
            if d.type == "pattern":
                check = contains
            return any(check(v, expected) for v in values)
        if d.type == "type":
            if target is None or not target.types:
                return False
            codes = {t.code for t in target.types}
            if d.path == "$this":
                suffix = it.key[len(sl.name) - 3 :] if sl.choice else ""
                if suffix:
                    return suffix in codes or suffix[0].lower() + suffix[1:] in codes
                rt = it.value.get("resourceType") if type(it.value) is dict else None
                return rt in codes
            return any(type(v) is dict and v.get("resourceType") in codes for v in values)
        if d.type == "exists":
            if target is None:
                return False
            if target.min is not None and target.min >= 1:
                return bool(values)
            if target.max == "0":
                return not values
            return False
        return False

    # ------------------------------------------------------------------ extensions

    def _choice_type(self, node: ElementNode, key: str) -> str | None:
        """The type a choice element's JSON key names: ``valueAddress`` -> ``Address``."""
        if not node.choice or not key.startswith(node.name[:-3]):
            return None
        suffix = key[len(node.name) - 3 :]
        if not suffix:
            return None
        lower = suffix[0].lower() + suffix[1:]
        return lower if lower in self.checker.defs.types else suffix

    def extensions(
        self,
        items: list[Item],
        holder_path: str,
        holder_type: str | None = None,
        sliced: set[str] | None = None,
    ) -> None:
        for it in items:
            if type(it.value) is not dict:
                continue
            url = it.value.get("url")
            if type(url) is not str:
                continue
            tree = self.resolved.extensions.get(url)
            if tree is None:
                continue
            self.context(tree, it, holder_path, holder_type)
            self.value(tree.root, it, "Extension")

    def context(self, tree: ProfileTree, it: Item, holder_path: str, holder_type: str | None = None) -> None:
        if not tree.context:
            return
        if holder_type is None:
            holder_type = self.checker.element_type(holder_path) if "." in holder_path else holder_path
        in_extension = holder_path == "Extension" or holder_path.endswith(".extension")
        for ctx in tree.context:
            kind, expr = ctx.get("type"), ctx.get("expression")
            if kind == "fhirpath":
                return  # not checked
            if kind == "element" and (expr in (holder_path, holder_type) or expr in _ANY_CONTEXT):
                return
            if kind == "extension" and in_extension:
                return
        allowed = ", ".join(str(c.get("expression")) for c in tree.context)
        # The R4 core's own extension contexts are not always kept by the core's own content
        # (the official ValueSets carry structuredefinition-normative-version, whose context
        # is StructureDefinition): for core extensions a misplaced one is a warning.
        core = tree.url.startswith("http://hl7.org/fhir/StructureDefinition/")
        self.add(
            "warning" if core else "error",
            "structure",
            f"Extension {tree.url} is not allowed on {holder_path} (contexts: {allowed})",
            it.path,
            "extension-context",
        )


def _descend(node: ElementNode, path: str) -> ElementNode | None:
    if path in ("$this", ""):
        return node
    for step in path.split("."):
        child = node.children.get(step) or node.children.get(step + "[x]")
        if child is None:
            return None
        node = child
    return node


def _navigate(value: Any, path: str) -> list[Any]:
    if path in ("$this", ""):
        return [value]
    current = [value]
    for step in path.split("."):
        nxt: list[Any] = []
        for v in current:
            if type(v) is not dict:
                continue
            found = v.get(step)
            if found is None:
                continue
            nxt.extend(found if type(found) is list else [found])
        current = nxt
    return current


def trees_valuesets(tree: ProfileTree) -> set[str]:
    out: set[str] = set()

    def visit(node: ElementNode) -> None:
        if node.binding is not None and node.binding[0] in ("required", "extensible"):
            out.add(node.binding[1])
        for c in node.children.values():
            visit(c)
        for s in node.slices.values():
            visit(s)

    visit(tree.root)
    return out


def tree_extension_urls(tree: ProfileTree) -> set[str]:
    out: set[str] = set()

    def visit(node: ElementNode) -> None:
        for t in node.types:
            if t.code == "Extension":
                out.update(t.profiles)
        for c in node.children.values():
            visit(c)
        for s in node.slices.values():
            visit(s)

    visit(tree.root)
    return out


def instance_extension_urls(node: Any, out: set[str]) -> set[str]:
    if type(node) is dict:
        for k, v in node.items():
            if k in ("extension", "modifierExtension") and type(v) is list:
                for e in v:
                    if type(e) is dict and type(e.get("url")) is str:
                        out.add(e["url"])
            instance_extension_urls(v, out)
    elif type(node) is list:
        for v in node:
            instance_extension_urls(v, out)
    return out


Lookup = Mapping[str, ProfileTree | None]
