"""The terminology modifiers of ``token`` parameters: ``:in``, ``:not-in``, ``:below``, ``:above``.

R4 search-modifier-code: ``in`` "The search parameter is a URI (relative or absolute)
that identifies a value set, and the search parameter tests whether the coding is in the
specified value set"; ``not-in`` "... tests whether the coding is not in the specified
value set"; ``below`` "The search parameter tests whether the value in a resource is
subsumed by the specified value (is-a, or hierarchical relationships)"; ``above`` "...
whether the value in a resource subsumes the specified value".

The parser only checks the form and emits unresolved values (``ValueSetRef``,
``SubsumptionRef``); ``terminology/search_modifiers.py`` expands them, before the query
reaches a store, into plain token OR-sets of ``system|code``:

* ``:in`` = the codes of the ValueSet; ``:not-in`` = ``:not`` over them (no coding of the
  resource is in the set; resources without the element match too, as for ``:not``);
* ``:below=system|code`` = the code and every code it subsumes in that system's
  hierarchy; ``:above=system|code`` = the code and every code that subsumes it.
"""

from __future__ import annotations

from ..ir import SubsumptionRef, ValueSetRef
from . import ParseContext, ValueParseError, split_unescaped, unescape

MODIFIERS = frozenset({"in", "not-in", "below", "above"})
VALUESET_MODIFIERS = frozenset({"in", "not-in"})


def parse(raw: str, modifier: str, ctx: ParseContext) -> ValueSetRef | SubsumptionRef:
    if modifier in VALUESET_MODIFIERS:
        ref = unescape(raw).strip()
        if not ref:
            raise ValueParseError(f"'{ctx.code}' takes a ValueSet url (or ValueSet/[id]), not an empty value")
        return ValueSetRef(ref, ctx.code)
    parts = split_unescaped(raw, "|", 1)
    system, code = (unescape(p) for p in parts) if len(parts) == 2 else ("", unescape(parts[0]))
    if not system or not code:
        raise ValueParseError(
            f"'{ctx.code}' takes [system]|[code] (the code system's hierarchy is searched), not '{raw}'"
        )
    return SubsumptionRef(system, code, ctx.code)
