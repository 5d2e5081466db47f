"""What ``CodeSystem/$validate-code`` and ``ValueSet/$validate-code`` share: the code to
check, given as ``code`` (+ ``system``, version, ``display``), ``coding`` or
``codeableConcept`` ("The server returns true if one of the coding values is in the value
set"), and the output ``Parameters`` (``result``, ``message``, ``display``).
"""

from __future__ import annotations

from typing import Any

from ..terminology.results import CodeValidation
from .parameters import Coding, OperationParameters, required

Json = dict[str, Any]


def codings_of(
    params: OperationParameters, system_param: str, version_param: str, default_system: str | None = None
) -> tuple[list[Coding], str]:
    """The codings to check and the name of the parameter that gave them."""
    op = params.operation
    params.exclusive("code", "coding", "codeableConcept")
    coding = params.coding("coding")
    if coding is not None:
        return [coding], "coding"
    concept = params.codings("codeableConcept")
    if concept is not None:
        return concept, "codeableConcept"
    code = params.string("code")
    if code is None:
        raise required(op, "code", "give code (with system), coding or codeableConcept")
    system = params.string(system_param) or default_system
    display = params.string("display")
    return [Coding(system, code, params.string(version_param), display)], "code"


def merge(results: list[CodeValidation]) -> CodeValidation:
    """One answer for several codings: valid when one of them is; the messages of the others
    are kept as hints."""
    good = [r for r in results if r.result]
    messages = [r.message for r in results if r.message]
    if good:
        return CodeValidation(True, "; ".join(messages) or None, good[0].display)
    display = next((r.display for r in results if r.display), None)
    return CodeValidation(False, "; ".join(messages) or None, display)


def parameters(result: CodeValidation) -> Json:
    out: list[Json] = [{"name": "result", "valueBoolean": result.result}]
    if result.message:
        out.append({"name": "message", "valueString": result.message})
    if result.display:
        out.append({"name": "display", "valueString": result.display})
    return {"resourceType": "Parameters", "parameter": out}
