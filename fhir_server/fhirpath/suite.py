"""The official FHIRPath test suite (``fhir-test-cases/r4/fhirpath/tests-fhir-r4.xml``) run through
:mod:`fhir_server.fhirpath`, so that what the server evaluates (invariants, search extraction
fallbacks, FHIRPath Patch) is measured against the reference cases.

Suite format (HL7 FHIRPath ``tests/testSchema.xsd``): ``<group>`` of ``<test name inputfile
predicate mode ordered version>``; one ``<expression invalid="syntax|semantic|execution|true">``;
zero or more ``<output type="...">value</output>``. ``invalid`` means the expression must be refused
(at compile or evaluation time); ``predicate="true"`` means the result is taken as
``exists()``; ``ordered="false"`` compares outputs as a bag. ``<modeTest>`` elements run in an
alternative engine mode (e.g. ``lenient/polymorphics``) that we do not have; they are not counted.

The inputs are the ``.json`` variants of the named files, from ``r4/examples/`` and, where a file is
not there, the R4 examples npm package (``.cache/hl7.fhir.r4.examples/package``,
``Type-id.json``). Tests whose input exists in neither place are reported as ``input-missing``.

"What we evaluate" (the scored subset) leaves out only tests of features the server never uses;
:data:`OUT_OF_SCOPE` lists them with the reason. The raw score counts every test.
"""

from __future__ import annotations

import copy
import datetime as _dt
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from fhir_server.fhirpath import FhirPathError, compile_expression

__all__ = [
    "INPUT_DIFFERS",
    "OUT_OF_SCOPE",
    "CaseResult",
    "SuiteCase",
    "default_suite_path",
    "load_suite",
    "run_case",
    "run_suite",
    "summarise",
]

_REPO = Path(__file__).resolve().parents[2]


def default_suite_path() -> Path:
    """``../shared/data/fhir-test-cases/r4/fhirpath/tests-fhir-r4.xml`` next to the repository
    (``FHIR_TEST_CASES`` overrides the ``fhir-test-cases`` directory)."""
    import os

    root = os.environ.get("FHIR_TEST_CASES")
    base = Path(root) if root else _REPO.parent / "shared" / "data" / "fhir-test-cases"
    return base / "r4" / "fhirpath" / "tests-fhir-r4.xml"


# Groups/tests of features the server never evaluates. Keys are group names (whole group) or
# test names. Everything else is scored.
OUT_OF_SCOPE: dict[str, str] = {
    # FHIRPath 2.1 (R5-era) string functions, marked version="2.1.0" in the suite: R4 invariants,
    # search parameters and patch paths are written against FHIRPath 2.0 (normative N1).
    "version:2.1.0": "FHIRPath 2.1 functions (encode/decode/escape/unescape/trim/split/join); R4 uses 2.0",
    # mode="strict": semantic checking of paths against the model at compile time. The server
    # evaluates in the lenient mode every R4 invariant assumes (unknown paths yield empty).
    "mode:strict": "strict-mode static type checking of paths (the server evaluates leniently)",
}


# Tests whose JSON input differs from the XML the suite was written against (checked by hand):
# they are left out of the score, and listed.
INPUT_DIFFERS: dict[str, str] = {
    **dict.fromkeys(
        ("testFHIRPathIsFunction8", "testFHIRPathIsFunction9", "testFHIRPathIsFunction10"),
        "observation-example.json lacks the patient-age extension observation-example.xml has",
    ),
    **dict.fromkeys(
        ("testFHIRPathAsFunction14", "testFHIRPathAsFunction19"),
        "ValueSet-example-expansion.json (R4 package) has version 4.0.1, the suite's input 20150622",
    ),
}


@dataclass(frozen=True, slots=True)
class SuiteCase:
    group: str
    name: str
    expression: str
    inputfile: str | None
    invalid: str | None
    predicate: bool
    ordered: bool
    mode: str | None
    version: str | None
    outputs: tuple[tuple[str | None, str], ...]

    @property
    def scope_exclusion(self) -> str | None:
        """Why this case is outside "what we evaluate", or None."""
        for key in (self.group, self.name, f"version:{self.version}", f"mode:{self.mode}"):
            if key in OUT_OF_SCOPE:
                return OUT_OF_SCOPE[key]
        return INPUT_DIFFERS.get(self.name)


@dataclass(slots=True)
class CaseResult:
    case: SuiteCase
    status: str  # "pass" | "fail" | "input-missing"
    detail: str = ""


@dataclass(slots=True)
class Summary:
    total: int = 0
    passed: int = 0
    scoped_total: int = 0
    scoped_passed: int = 0
    groups: dict[str, tuple[int, int]] = field(default_factory=dict)
    failing: list[str] = field(default_factory=list)
    excluded: dict[str, list[str]] = field(default_factory=dict)

    @property
    def raw_score(self) -> float:
        return self.passed / self.total if self.total else 0.0

    @property
    def score(self) -> float:
        return self.scoped_passed / self.scoped_total if self.scoped_total else 0.0


def load_suite(path: Path | None = None) -> list[SuiteCase]:
    """Every ``<test>`` of the suite (``<modeTest>`` left out), in file order."""
    suite = path or default_suite_path()
    root = ET.parse(suite).getroot()
    cases: list[SuiteCase] = []
    for group in root.iter("group"):
        gname = group.get("name", "")
        for n, test in enumerate(group.findall("test")):
            expr = test.find("expression")
            if expr is None:
                continue
            outputs = tuple((o.get("type"), o.text or "") for o in test.findall("output"))
            cases.append(
                SuiteCase(
                    group=gname,
                    name=test.get("name") or f"{gname}#{n}",
                    expression=(expr.text or "").strip(),
                    inputfile=test.get("inputfile"),
                    invalid=expr.get("invalid"),
                    predicate=test.get("predicate") == "true",
                    ordered=test.get("ordered") != "false",
                    mode=test.get("mode") or expr.get("mode"),
                    version=test.get("version"),
                    outputs=outputs,
                )
            )
    return cases


class _Inputs:
    """The suite's input resources as JSON, each loaded once (handed out as copies: the engine
    annotates what it walks)."""

    def __init__(self, suite: Path) -> None:
        self.examples = suite.parent.parent / "examples"
        self.package = _REPO / ".cache" / "hl7.fhir.r4.examples" / "package"
        self._cache: dict[str, dict[str, Any] | None] = {}

    def get(self, name: str) -> dict[str, Any] | None:
        if name not in self._cache:
            self._cache[name] = self._load(name)
        found = self._cache[name]
        return copy.deepcopy(found) if found is not None else None

    def _load(self, name: str) -> dict[str, Any] | None:
        stem = name.rsplit(".", 1)[0]
        for candidate in (self.examples / f"{stem}.json", *self._package_candidates(stem)):
            if candidate.is_file():
                data: dict[str, Any] = json.loads(candidate.read_text(encoding="utf-8"))
                return data
        return None

    def _package_candidates(self, stem: str) -> Iterable[Path]:
        # "valueset-example-expansion" -> "ValueSet-example-expansion.json" (type is case-folded)
        if "-" not in stem or not self.package.is_dir():
            return ()
        head, rest = stem.split("-", 1)
        return [p for p in self.package.glob(f"*-{rest}.json") if p.name.split("-", 1)[0].lower() == head]


def run_suite(path: Path | None = None) -> list[CaseResult]:
    suite = path or default_suite_path()
    inputs = _Inputs(suite)
    return [run_case(case, inputs) for case in load_suite(suite)]


def run_case(case: SuiteCase, inputs: _Inputs) -> CaseResult:
    resource: Any = {}
    if case.inputfile:
        loaded = inputs.get(case.inputfile)
        if loaded is None:
            return CaseResult(case, "input-missing", f"no JSON input for {case.inputfile}")
        resource = loaded
    try:
        result = compile_expression(case.expression)(resource, {})
    except FhirPathError as exc:
        if case.invalid:
            return CaseResult(case, "pass")
        return CaseResult(case, "fail", f"error: {exc}"[:300])
    except RecursionError as exc:  # pragma: no cover - engine defect, reported as a failure
        return CaseResult(case, "fail", f"error: {exc!r}"[:300])
    if case.invalid:
        return CaseResult(case, "fail", f"expected an error ({case.invalid}), got {_show(result)}")
    if case.predicate:
        result = [bool(result)]
    ok, why = _matches(result, case.outputs, case.ordered)
    return CaseResult(case, "pass" if ok else "fail", why)


def _show(values: list[Any]) -> str:
    return "[" + ", ".join(f"{type(v).__name__}:{v!s}" for v in values)[:250] + "]"


def _matches(
    result: list[Any], outputs: tuple[tuple[str | None, str], ...], ordered: bool
) -> tuple[bool, str]:
    if len(result) != len(outputs):
        return False, f"expected {len(outputs)} value(s) {list(outputs)}, got {_show(result)}"
    if ordered:
        for value, (typ, text) in zip(result, outputs, strict=True):
            if not _same(value, typ, text):
                return False, f"expected {typ} {text!r}, got {_show(result)}"
        return True, ""
    remaining = list(outputs)
    for value in result:
        for i, (typ, text) in enumerate(remaining):
            if _same(value, typ, text):
                del remaining[i]
                break
        else:
            return False, f"unordered: {value!r} not among {remaining}"
    return True, ""


_STRINGISH = {"string", "code", "id", "uri", "url", "canonical", "markdown", "oid", "uuid", "base64Binary"}


def _same(value: Any, typ: str | None, text: str) -> bool:
    from fhirpathpy.engine.nodes import FP_Quantity, FP_TimeBase

    if typ == "boolean":
        return isinstance(value, bool) and ("true" if value else "false") == text
    if typ == "integer":
        return isinstance(value, int) and not isinstance(value, bool) and str(value) == text
    if typ == "decimal":
        return _num_eq(value, text)
    if typ in _STRINGISH:
        return isinstance(value, str) and value == text
    if typ == "Quantity":
        if not isinstance(value, FP_Quantity):
            return False
        number, _, unit = text.partition(" ")
        return _num_eq(value.value, number) and _unit(str(value.unit)) == _unit(unit)
    if typ in ("date", "dateTime", "time"):
        expected = text.lstrip("@")
        if typ == "time":
            expected = expected.removeprefix("T")
        if isinstance(value, FP_TimeBase):
            got = [str(value), str(getattr(value, "asStr", ""))]
        elif isinstance(value, str):
            got = [value]
        else:
            return False
        got = [g.removeprefix("@").removeprefix("T") for g in got]
        return expected in got or any(_instant_eq(g, expected) for g in got)
    # untyped <output>: compare the text form (dates/times by their literal form)
    if text.startswith("@"):
        return _same(value, "time" if text.startswith("@T") else "dateTime", text)
    if isinstance(value, bool):
        return ("true" if value else "false") == text
    return str(value) == text


def _unit(unit: str) -> str:
    return unit.strip().strip("'")


def _num_eq(value: Any, text: str) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return False
    try:
        return Decimal(str(value)) == Decimal(text)
    except InvalidOperation:
        return False


_TZ = re.compile(r"Z$")


def _instant_eq(a: str, b: str) -> bool:
    try:
        x = _dt.datetime.fromisoformat(_TZ.sub("+00:00", a))
        y = _dt.datetime.fromisoformat(_TZ.sub("+00:00", b))
    except ValueError:
        return False
    return x == y and len(a.split("T")[0]) == len(b.split("T")[0])


def summarise(results: list[CaseResult]) -> Summary:
    s = Summary()
    groups: dict[str, list[int]] = {}
    for r in results:
        passed = r.status == "pass"
        s.total += 1
        s.passed += passed
        g = groups.setdefault(r.case.group, [0, 0])
        g[0] += passed
        g[1] += 1
        why = r.case.scope_exclusion
        if why is None and r.status == "input-missing":
            why = "input file not available as JSON (" + (r.case.inputfile or "") + ")"
        if why is not None:
            s.excluded.setdefault(why, []).append(r.case.name)
            continue
        s.scoped_total += 1
        s.scoped_passed += passed
        if not passed:
            s.failing.append(r.case.name)
    s.groups = {k: (v[0], v[1]) for k, v in groups.items()}
    return s
