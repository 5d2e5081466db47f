"""Required bindings: coded values must come from the bound ValueSet.

Spec: http://hl7.org/fhir/R4/terminologies.html#strength. ``required``: "To be conformant,
the concept in this element SHALL be from the specified value set."

* ``code``: the value is one of the codes of the ValueSet (of any of its systems: the
  system is implied by the element's definition).
* ``Coding``: ``system`` and ``code`` are a pair of the ValueSet.
* ``CodeableConcept``: the rules of terminologies.html for required bindings on a
  CodeableConcept: "at least one Coding element SHALL be present", "one of the Coding
  values SHALL be from the specified value set", and "text ... is not an acceptable
  substitute for the required code". Codings from other systems are allowed beside it
  (translations). A Coding that claims one of the ValueSet's own systems but carries a code
  the ValueSet does not hold is refused even when another Coding is fine: it is not a
  valid code of the bound set, only a wrong one.

Only the ValueSets the definitions could expand (``definitions.load().valuesets``) are
checked; bindings to the others (``mimetypes``, ``ucum-units``, ``currencies``, LOINC
answer lists) are skipped silently.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .walker import Check, ElementContext, Finding

CODE_INVALID = "code-invalid"
_LIST_LIMIT = 12  # name the allowed codes in the message when there are at most this many


def _allowed(codes: frozenset[str]) -> str:
    if len(codes) > _LIST_LIMIT:
        return ""
    return " (allowed: " + ", ".join(sorted(codes)) + ")"


class CodeCheck:
    """``code`` elements: the value is one of the ValueSet's codes."""

    def __init__(self, url: str, systems: Mapping[str, frozenset[str]]) -> None:
        self.url = url
        self.codes: frozenset[str] = frozenset().union(*systems.values())

    def __call__(self, value: Any) -> Sequence[Finding]:
        if type(value) is not str or value in self.codes:
            return ()
        return (
            Finding(
                CODE_INVALID,
                f"Code '{value}' is not in the required value set {self.url}{_allowed(self.codes)}",
            ),
        )


class CodingCheck:
    """``Coding`` elements: the system/code pair is in the ValueSet."""

    def __init__(self, url: str, systems: Mapping[str, frozenset[str]]) -> None:
        self.url = url
        self.systems = systems

    def problem(self, coding: dict[str, Any]) -> str | None:
        system, code = coding.get("system"), coding.get("code")
        if type(system) is not str or type(code) is not str:
            return f"A Coding with system and code from the required value set {self.url} is needed"
        codes = self.systems.get(system)
        if codes is None:
            return f"System '{system}' is not in the required value set {self.url}"
        if code not in codes:
            return f"Code '{system}|{code}' is not in the required value set {self.url}{_allowed(codes)}"
        return None

    def __call__(self, value: Any) -> Sequence[Finding]:
        if type(value) is not dict:
            return ()
        message = self.problem(value)
        return () if message is None else (Finding(CODE_INVALID, message),)


class CodeableConceptCheck:
    """``CodeableConcept`` elements: at least one Coding from the ValueSet."""

    def __init__(self, url: str, systems: Mapping[str, frozenset[str]]) -> None:
        self.url = url
        self.systems = systems

    def __call__(self, value: Any) -> Sequence[Finding]:
        if type(value) is not dict:
            return ()
        codings = value.get("coding")
        if type(codings) is not list:
            codings = []
        findings: list[Finding] = []
        found = False
        present = False
        for i, coding in enumerate(codings):
            if type(coding) is not dict:
                continue
            present = True
            system, code = coding.get("system"), coding.get("code")
            codes = self.systems.get(system) if type(system) is str else None
            if codes is None:
                continue  # another system: a translation, allowed beside a code from the set
            if code in codes:
                found = True
            else:
                findings.append(
                    Finding(
                        CODE_INVALID,
                        f"Code '{system}|{code}' is not in the required value set "
                        f"{self.url}{_allowed(codes)}",
                        f".coding[{i}]",
                    )
                )
        if not present:
            findings.append(
                Finding(
                    CODE_INVALID,
                    f"A Coding from the required value set {self.url} is needed; text alone is not enough",
                )
            )
        elif not found and not findings:
            findings.append(
                Finding(
                    CODE_INVALID,
                    f"None of the Codings is from the required value set {self.url}",
                )
            )
        return findings


class RequiredBindingRule:
    """Plugs the binding checks into the walker for elements bound with strength required."""

    def __init__(self, valuesets: Mapping[str, Mapping[str, frozenset[str]]]) -> None:
        self._valuesets = valuesets
        self._cache: dict[tuple[str, str], Check] = {}

    def check_for(self, ctx: ElementContext) -> Check | None:
        url = ctx.element.binding
        if url is None or url not in self._valuesets or ctx.type_code not in _FACTORIES:
            return None
        key = (url, ctx.type_code)
        check = self._cache.get(key)
        if check is None:
            check = self._cache[key] = _FACTORIES[ctx.type_code](url, self._valuesets[url])
        return check


_FACTORIES: dict[str, Callable[[str, Mapping[str, frozenset[str]]], Check]] = {
    "code": CodeCheck,
    "Coding": CodingCheck,
    "CodeableConcept": CodeableConceptCheck,
}
