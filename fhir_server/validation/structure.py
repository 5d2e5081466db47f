"""Structure against the R4 (4.0.1) definitions, by fhirkit (``fhirkit-rs``, Rust).

fhirkit reports unknown elements, wrong JSON types, missing required elements, cardinality,
choice-type conflicts and primitive syntax, each with a path like
``Patient.name[0].family``. This module is the only place that imports it: it maps
fhirkit's issues to ours (severity kept, path as the expression, an IssueType code chosen
from the kind of message) and smooths one quirk (a choice conflict also reports the second
choice as an unknown element).

Spec: http://hl7.org/fhir/R4/json.html, http://hl7.org/fhir/R4/datatypes.html.
"""

from __future__ import annotations

import re
from typing import Any

import fhirkit
import msgspec

from .. import fhirjson
from ..errors import Issue

# fhirkit messages either name a value first and end with what is wrong with it
# ('"x y " is not a valid code', '1.5 is not a FHIR integer') or start with the problem.
_VALUE_TAIL = re.compile(
    r" (is not a valid \w+|is not a FHIR (integer|decimal)|is not a positiveInt \(1 or more\)"
    r"|is not an unsignedInt \(0 or more\)|is outside the 32-bit range of a FHIR integer)$"
)
_PREFIXES: tuple[tuple[str, str], ...] = (
    ("required element missing", "required"),
    ("a resource needs a resourceType", "required"),
    ("unknown element", "structure"),
    ("only one type may be given", "structure"),
    ("the key appears more than once", "structure"),
    ("an empty array", "structure"),
    ("null", "structure"),
    ("expected ", "structure"),
    ("an empty string", "value"),
)

_CHOICE = "only one type may be given, found "


def issue_code(message: str) -> str:
    """The OperationOutcome IssueType for a fhirkit message (``invalid`` when unknown)."""
    if _VALUE_TAIL.search(message):
        return "value"
    for prefix, code in _PREFIXES:
        if message.startswith(prefix):
            return code
    if " needs at least " in message or message.startswith("needs at least"):
        return "required"
    return "invalid"


def _severity(raw: str) -> str:
    return raw if raw in ("fatal", "error", "warning", "information") else "error"


def structure_issues(resource: dict[str, Any]) -> list[Issue]:
    """Everything fhirkit finds in ``resource``, as our issues."""
    data: bytes | dict[str, Any]
    try:
        # fhirkit reads JSON text faster than it converts Python objects (~15 %); msgspec
        # writes Decimals as numbers, digit for digit.
        data = fhirjson.dumps(resource)
    except (msgspec.EncodeError, TypeError, ValueError, OverflowError):
        data = resource  # let fhirkit say what is wrong with it
    try:
        found = fhirkit.validate(data)
    except (TypeError, ValueError) as exc:  # non-string keys, values that are not JSON
        return [Issue("error", "structure", f"The content is not FHIR JSON: {exc}")]
    issues: list[Issue] = []
    ghosts: set[str] = set()  # "unknown element" echoes of a choice conflict
    for item in found:
        message, path = str(item.message), str(item.path)
        if message.startswith(_CHOICE) and path.endswith("[x]"):
            parent = path.rsplit(".", 1)[0]
            ghosts.update(f"{parent}.{name.strip()}" for name in message[len(_CHOICE) :].split(","))
        issues.append(
            Issue(_severity(str(item.severity)), issue_code(message), f"{path}: {message}", (path,))
        )
    if ghosts:
        issues = [
            i
            for i in issues
            if not (i.expression[0] in ghosts and i.diagnostics.endswith(": unknown element"))
        ]
    return issues
