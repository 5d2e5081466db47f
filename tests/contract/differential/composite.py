"""Composite cases (``code$value``) from the composite entries found in the corpus: each
sampled entry's token with its own value (whole, and with prefixes), and crossed with
another entry's value (the components must match within one element)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fhir_server.search.index import CompositeEntry, DateEntry, Entry, QuantityEntry, StringEntry, TokenEntry

from .case import pick
from .values import date_anchor, date_text, escape, number_text

if TYPE_CHECKING:
    from .cases import Generator


def token_text(e: Entry, with_system: bool) -> str | None:
    if not isinstance(e, TokenEntry) or e.code is None:
        return None
    if with_system:
        return f"{escape(e.system or '')}|{escape(e.code)}"
    return escape(e.code)


def value_texts(e: Entry) -> list[str]:
    """Query values matching (mostly) the component entry ``e``."""
    if isinstance(e, TokenEntry):
        return [t for t in (token_text(e, False), token_text(e, True)) if t]
    if isinstance(e, QuantityEntry):
        n = number_text(e.value, e.lo, e.hi)
        out = [n, f"gt{n}", f"le{n}"]
        if e.system and e.code:
            out.append(f"{n}|{escape(e.system)}|{escape(e.code)}")
        return out
    if isinstance(e, DateEntry):
        a = date_anchor(e.lo, e.hi)
        return (
            []
            if a is None
            else [date_text(a, "day"), f"ge{date_text(a, 'month')}", f"lt{date_text(a, 'year')}"]
        )
    if isinstance(e, StringEntry):
        return [escape(e.exact), escape(e.exact[:3].lower())]
    return []


def composite_cases(gen: Generator, rtype: str, code: str) -> tuple[str, str] | None:
    entries = sorted(set(gen.entries(rtype, code, CompositeEntry)), key=repr)
    samples = pick(entries, 3)
    for n, e in enumerate(samples):
        head, tail = e.components
        for with_system in (False, True):
            t = token_text(head, with_system)
            if t is None:
                continue
            for v in value_texts(tail)[: 4 if n == 0 else 2]:
                gen.add(rtype, (code, f"{t}${v}"))
            other = samples[(n + 1) % len(samples)].components[1]
            for v in value_texts(other)[:1]:
                gen.add(rtype, (code, f"{t}${v}"))  # crossed: matches only if some element has both
    if len(samples) > 1:
        firsts = [
            f"{token_text(e.components[0], False)}${(value_texts(e.components[1]) or ['x'])[0]}"
            for e in samples
        ]
        gen.add(rtype, (code, ",".join(firsts)))
    gen.missing(rtype, code)
    if not samples:
        return None
    first = samples[0]
    values = value_texts(first.components[1])
    t = token_text(first.components[0], True)
    return (code, f"{t}${values[0]}") if t and values else None
