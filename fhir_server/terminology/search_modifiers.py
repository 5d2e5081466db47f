"""Resolve the terminology modifiers of a parsed search into plain token OR-sets.

The parser leaves ``:in``/``:not-in`` (``ValueSetRef``) and ``:below``/``:above``
(``SubsumptionRef``) unresolved (``search/types/token_terminology.py``). ``resolve``
replaces every such clause, at any depth (chains, ``_has``), by a clause whose values are
the ``system|code`` TokenValues of the expansion, with modifier None (``:in``,
``:below``, ``:above``) or ``"not"`` (``:not-in``: no coding of the resource is in the
value set, resources without the element included, as ``:not``), so the backends'
compilers and the reference matcher only see ordinary token criteria. Comma-separated
values are ORed: their sets are united.

A ValueSet or CodeSystem that cannot be used is refused with a 400 OperationOutcome
whose expression is the parameter: ``not-found`` (unknown ValueSet), ``not-supported``
(content we cannot enumerate, an unsupported filter, a CodeSystem that is unknown or not
hierarchical for ``:below``/``:above``), ``too-costly`` (over the expansion limit) or
``code-invalid`` (a code the CodeSystem does not define).
"""

from __future__ import annotations

from dataclasses import replace

from ..search.ir import (
    Clause,
    Criterion,
    HasClause,
    SearchQuery,
    SubsumptionRef,
    TokenValue,
    Value,
    ValueSetRef,
)
from .errors import TerminologyError, to_fhir_error
from .expand import Code
from .service import Terminology

_RESOLVED_MODIFIER = {"in": None, "below": None, "above": None, "not-in": "not"}


def needs_terminology(criteria: tuple[Criterion, ...] | list[Criterion]) -> bool:
    return any(_needs(c) for c in criteria)


def _needs(c: Criterion) -> bool:
    if isinstance(c, HasClause):
        return _needs(c.clause)
    if isinstance(c, Clause):
        if c.chain is not None:
            return _needs(c.chain.clause)
        return any(isinstance(v, ValueSetRef | SubsumptionRef) for v in c.values)
    return False


async def resolve(query: SearchQuery, terminology: Terminology) -> SearchQuery:
    """``query`` with every terminology modifier replaced by its token OR-set."""
    if not needs_terminology(query.criteria):
        return query
    criteria = [await _criterion(c, terminology) for c in query.criteria]
    return replace(query, criteria=tuple(criteria))


async def _criterion(c: Criterion, terminology: Terminology) -> Criterion:
    if isinstance(c, HasClause):
        return replace(c, clause=await _criterion(c.clause, terminology))
    if isinstance(c, Clause):
        return await _clause(c, terminology)
    return c


async def _clause(c: Clause, terminology: Terminology) -> Clause:
    if c.chain is not None:
        return replace(c, chain=replace(c.chain, clause=await _clause(c.chain.clause, terminology)))
    if not any(isinstance(v, ValueSetRef | SubsumptionRef) for v in c.values):
        return c
    codes: set[Code] = set()
    for v in c.values:
        codes |= await _codes(v, c.modifier, terminology)
    values: tuple[Value, ...] = tuple(TokenValue(system, code) for system, code in sorted(codes))
    return replace(c, modifier=_RESOLVED_MODIFIER.get(c.modifier or ""), values=values)


async def _codes(v: Value, modifier: str | None, terminology: Terminology) -> frozenset[Code]:
    if isinstance(v, ValueSetRef):
        try:
            return await terminology.expand(v.ref)
        except TerminologyError as err:
            raise to_fhir_error(err, v.parameter) from None
    if isinstance(v, SubsumptionRef):
        try:
            if modifier == "below":
                return await terminology.subsumption(v.system, v.code, "descendants")
            return await terminology.subsumption(v.system, v.code, "ancestors")
        except TerminologyError as err:
            raise to_fhir_error(err, v.parameter) from None
    raise TypeError(f"not a terminology value: {v!r}")
