"""Reverse chains (``_has``, search.html#has) and multi-level chains (search.html#chaining)
for the differential matrix, generated from the references found in the corpus."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from fhir_server.search.index import ReferenceEntry

from .corpus import Item
from .values import escape, inner_value

if TYPE_CHECKING:
    from .cases import Generator

INNER_TYPES = ("string", "token", "date")
PER_LINK = 2  # inner parameters tried per (target type, source type, reference parameter)


def links(gen: Generator) -> Iterator[tuple[Item, str, Item]]:
    """(source, reference parameter code, target) for every local reference in the corpus
    whose target is in the corpus too (deleted ones included: they must match nothing)."""
    for src in gen.items:
        for code, entries in sorted(src.index.items()):
            if ":" in code or code.startswith("_"):
                continue
            for e in entries:
                if isinstance(e, ReferenceEntry) and e.type:
                    target = gen.by_ref.get(e.target)
                    if target is not None:
                        yield src, code, target


def inner_params(gen: Generator, it: Item, n: int) -> list[tuple[str, str]]:
    """Up to ``n`` (parameter, value) pairs matching ``it``, identifier and name first."""
    params = gen.registry.for_type(it.type)
    out: list[tuple[str, str]] = []
    for code in sorted(it.index, key=lambda c: (c not in ("identifier", "name", "status", "code"), c)):
        spd = params.get(code)
        if spd is None or spd.type not in INNER_TYPES:
            continue
        value = inner_value(it.index[code])
        if value is not None:
            out.append((code, value))
        if len(out) >= n:
            break
    return out


def reverse_cases(gen: Generator) -> None:
    seen: set[tuple[str, str, str]] = set()
    by_source: dict[str, list[tuple[str, Item]]] = {}  # source type -> (code, target)
    for src, code, target in links(gen):
        by_source.setdefault(src.type, []).append((code, target))
        key = (target.type, src.type, code)
        if key in seen:
            continue
        seen.add(key)
        has = f"_has:{src.type}:{code}"
        for ic, value in inner_params(gen, src, PER_LINK):
            gen.add(target.type, (f"{has}:{ic}", value))
            if gen.registry.for_type(src.type)[ic].type == "token":
                gen.add(target.type, (f"{has}:{ic}:not", value))
        gen.add(target.type, (f"{has}:_id", escape(src.id)))
        gen.add(target.type, (f"{has}:_id", escape(src.id)), ("_id", escape(target.id)))
        gen.add(target.type, (f"{has}:_lastUpdated", "ge2000"))
        first = inner_params(gen, target, 1)
        if first:  # combined with a criterion on the candidate itself
            gen.add(target.type, (f"{has}:_id", escape(src.id)), first[0])
    nested(gen, by_source)


def nested(gen: Generator, by_source: dict[str, list[tuple[str, Item]]]) -> None:
    """``R?c:T.c2:T2.x=v`` (and ``c.c2.x=v`` when unambiguous): two-hop forward chains
    along references found in the corpus; then nested ``_has``."""
    done: set[tuple[str, ...]] = set()
    for src, code, target in links(gen):
        for code2, target2 in by_source.get(target.type, []):
            key = (src.type, code, target.type, code2, target2.type)
            if key in done or len(done) >= 120:
                continue
            done.add(key)
            chain = f"{code}:{target.type}.{code2}:{target2.type}"
            for ic, value in inner_params(gen, target2, 1):
                gen.add(src.type, (f"{chain}.{ic}", value))
                gen.add(src.type, (f"{code}.{code2}.{ic}", value))
            gen.add(src.type, (f"{chain}._id", escape(target2.id)))
    nested_has(gen)


def nested_has(gen: Generator) -> None:
    """``T?_has:S:p:_has:S2:p2:_id=x``: an S2 refers (p2) to an S that refers (p) to a T."""
    refs = list(links(gen))
    into: dict[str, list[tuple[Item, str]]] = {}  # "Type/id" -> [(source, code)]
    for src, code, target in refs:
        into.setdefault(f"{target.type}/{target.id}", []).append((src, code))
    done: set[tuple[str, str, str, str, str]] = set()
    for src, code, target in refs:
        for src2, code2 in into.get(f"{src.type}/{src.id}", []):
            key = (target.type, src.type, code, src2.type, code2)
            if key in done or len(done) >= 60:
                continue
            done.add(key)
            has = f"_has:{src.type}:{code}:_has:{src2.type}:{code2}"
            gen.add(target.type, (f"{has}:_id", escape(src2.id)))
            for ic, value in inner_params(gen, src2, 1):
                gen.add(target.type, (f"{has}:{ic}", value))
