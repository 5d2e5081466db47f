"""``token`` parameters (search.html R4 3.1.1.4.8).

Spec forms: "[parameter]=[code]: the value of [code] matches a Coding.code or
Identifier.value irrespective of the value of the system property";
"[parameter]=[system]|[code]: the value of [code] matches a Coding.code or
Identifier.value, and the value of [system] matches the system property";
"[parameter]=|[code]: the value of [code] matches a Coding.code or Identifier.value,
and the Coding/Identifier has no system property"; "[parameter]=[system]|: any element
where the value of [system] matches the system property of the Identifier or Coding".
":text ... the search parameter is processed as a string that searches text associated
with the code/value - either CodeableConcept.text, Coding.display, or
Identifier.type.text" (here: case- and accent-insensitive starts-with). ":not ... the
search parameter returns resources that do not contain a match" (the clause is negated
as a whole by the matcher: resources without any value match too).

Extraction (search.html, Search Types and FHIR types): code (with the implicit system of
its required binding when unambiguous), Coding, CodeableConcept (each coding, plus the
text as a code-less entry for :text), Identifier (system, value; type.text for :text),
ContactPoint (value, no system), boolean ("true"/"false"), and string/uri/id values.

``:of-type`` (R4 CodeSystem search-modifier-code): "The search parameter has the format
system|code|value, where the system and code refer to an Identifier.type.coding.system
and .code, and match if any of the type codes match. All 3 parts must be present."
Extraction (``extract_of_type``) stores, per Identifier and per type coding with a system
and a code, a TokenEntry ``(type system, "<type code>|<value>")`` under the derived key
``"<code>:of-type"`` (``OF_TYPE_SUFFIX``); the parser builds the same pair, so the search
is plain token equality on system and code in every backend.
"""

from __future__ import annotations

from typing import Any

from ..index import Entry, TokenEntry
from ..ir import TokenValue
from ..normalize import norm
from . import ExtractContext, Node, ParseContext, ValueParseError, split_unescaped, unescape

# in, not-in, below, above: token_terminology.py (resolved to token OR-sets before the stores)
MODIFIERS = frozenset({"missing", "not", "text", "of-type", "in", "not-in", "below", "above"})
OF_TYPE_SUFFIX = ":of-type"

_CONTACT_SYSTEMS = frozenset({"phone", "fax", "email", "pager", "url", "sms", "other"})


def _text(value: Any) -> str | None:
    return norm(value) if isinstance(value, str) and value else None


def _coding(c: Any, out: list[Entry]) -> None:
    if not isinstance(c, dict):
        return
    system = c.get("system")
    code = c.get("code")
    display = c.get("display")
    if system is None and code is None and display is None:
        return
    out.append(
        TokenEntry(
            system if isinstance(system, str) else None,
            code if isinstance(code, str) else None,
            _text(display),
        )
    )


def _codeable_concept(cc: dict[str, Any], out: list[Entry]) -> None:
    codings = cc.get("coding")
    if isinstance(codings, list):
        for c in codings:
            _coding(c, out)
    text = cc.get("text")
    if isinstance(text, str) and text:
        out.append(TokenEntry(None, None, norm(text)))


def _identifier(ident: dict[str, Any], out: list[Entry]) -> None:
    system = ident.get("system")
    value = ident.get("value")
    type_ = ident.get("type")
    text = _text(type_.get("text")) if isinstance(type_, dict) else None
    if system is None and value is None:
        return
    out.append(
        TokenEntry(
            system if isinstance(system, str) else None,
            value if isinstance(value, str) else None,
            text,
        )
    )


def of_type_code(type_code: str, value: str) -> str:
    """The stored/searched code of an ``:of-type`` entry."""
    return f"{type_code}|{value}"


def extract_of_type(node: Node, out: list[Entry]) -> None:
    """``:of-type`` entries of an Identifier: one per type coding with system and code."""
    value, fhir_type, _ = node
    if not isinstance(value, dict) or (fhir_type or _guess(value)) != "Identifier":
        return
    ident_value = value.get("value")
    type_ = value.get("type")
    if not isinstance(ident_value, str) or not ident_value or not isinstance(type_, dict):
        return
    codings = type_.get("coding")
    for c in codings if isinstance(codings, list) else ():
        if not isinstance(c, dict):
            continue
        system, code = c.get("system"), c.get("code")
        if isinstance(system, str) and system and isinstance(code, str) and code:
            out.append(TokenEntry(system, of_type_code(code, ident_value)))


def _implicit_system(code: str, binding: str | None, ctx: ExtractContext) -> str | None:
    if binding is None:
        return None
    systems = ctx.valuesets.get(binding)
    if not systems:
        return None
    found = [s for s, codes in systems.items() if code in codes]
    return found[0] if len(found) == 1 else None


def extract(node: Node, ctx: ExtractContext, out: list[Entry]) -> None:
    value, fhir_type, binding = node
    if isinstance(value, bool):
        out.append(TokenEntry(None, "true" if value else "false"))
        return
    if isinstance(value, str):
        if value:
            system = _implicit_system(value, binding, ctx) if fhir_type == "code" else None
            out.append(TokenEntry(system, value))
        return
    if isinstance(value, int):
        out.append(TokenEntry(None, str(value)))
        return
    if not isinstance(value, dict):
        return
    if fhir_type is None:
        fhir_type = _guess(value)
    if fhir_type == "CodeableConcept":
        _codeable_concept(value, out)
    elif fhir_type == "Coding":
        _coding(value, out)
    elif fhir_type == "Identifier":
        _identifier(value, out)
    elif fhir_type == "ContactPoint":
        v = value.get("value")
        if isinstance(v, str) and v:
            out.append(TokenEntry(None, v))


def _guess(value: dict[str, Any]) -> str | None:
    if "coding" in value or set(value) == {"text"}:
        return "CodeableConcept"
    if "code" in value:
        return "Coding"
    if "value" in value:
        return "ContactPoint" if value.get("system") in _CONTACT_SYSTEMS else "Identifier"
    return None


def parse(raw: str, modifier: str | None, ctx: ParseContext) -> TokenValue:
    if modifier == "of-type":
        parts = split_unescaped(raw, "|", 2)
        if len(parts) != 3 or not all(parts):
            raise ValueParseError(
                f"'{ctx.code}:of-type' takes [type system]|[type code]|[identifier value], "
                f"all 3 parts present, not '{raw}'"
            )
        system, type_code, value = (unescape(p) for p in parts)
        return TokenValue(system, of_type_code(type_code, value))
    if modifier == "text":
        text = norm(unescape(raw))
        if not text:
            raise ValueParseError(f"Empty value for '{ctx.code}:text'")
        return TokenValue(None, None, text)
    parts = split_unescaped(raw, "|", 1)
    if len(parts) == 1:
        code = unescape(parts[0])
        if not code:
            raise ValueParseError(f"Empty token value for parameter '{ctx.code}'")
        return TokenValue(None, code)
    system, code = unescape(parts[0]), unescape(parts[1])
    if not system and not code:
        raise ValueParseError(f"Token value '|' for parameter '{ctx.code}' has neither system nor code")
    return TokenValue(system, code or None)


def match_value(value: TokenValue, modifier: str | None, entry: TokenEntry) -> bool:
    """One OR-value against one entry (``:not`` is applied by the matcher to the clause).

    ``system`` None: any system; "": the entry has no system; otherwise equal. ``code``
    None: any code (the ``system|`` form). ``:text``: normalised starts-with on the entry's
    display/text."""
    if modifier == "text":
        return entry.text is not None and value.text is not None and entry.text.startswith(value.text)
    if value.code is not None and entry.code != value.code:
        return False
    if value.system is None:
        return value.code is not None
    if value.system == "":
        return entry.system is None
    return entry.system == value.system


def sort_key(entries: list[Entry], descending: bool) -> str | None:
    """The smallest code ascending, the largest descending."""
    keys = [e.code for e in entries if isinstance(e, TokenEntry) and e.code is not None]
    return (max(keys) if descending else min(keys)) if keys else None
