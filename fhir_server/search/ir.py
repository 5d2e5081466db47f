"""The search intermediate representation (IR): frozen dataclasses.

``parser.py`` turns a query string into a ``SearchQuery``; each backend compiles it
(``storage/sqlite/search_sql.py``, ``storage/mongo/search_mongo.py``) and
``matcher.py`` evaluates it in memory. Values are already typed and normalised by
the parser, so compilers never parse strings.

Semantics (search.html):
* ``SearchQuery.resource_types`` empty means any type (system search).
* A chained clause has empty ``values``: its condition is ``chain.clause``.
* ``SearchQuery.clauses`` are ANDed; ``Clause.values`` are ORed.
* ``Clause.modifier`` is one of: None, "exact", "contains", "missing", "not", "text",
  "identifier", "of-type", "below", "above", "type" (the ``:[type]`` modifier on references: the
  type is in ``ReferenceValue.type``).
* ``:missing`` is a ``MissingValue``.
* ``near`` (the special parameter of Location) has ``NearValue`` values: a position
  matches when its great-circle distance to the point is at most the distance.
* token ``:in``/``:not-in`` (``ValueSetRef``) and ``:below``/``:above`` (``SubsumptionRef``)
  leave the parser unresolved; the search interaction resolves them into token OR-sets
  (modifier None, or "not" for ``:not-in``), so compilers and the matcher never see them.
* a composite parameter's values are ``CompositeValue`` (one value per component, matched
  against the components of one ``CompositeEntry``).
* ``:not`` on a token: the resource matches when NO entry of the parameter matches any
  of the values (resources without the element match too).
* prefixes: eq ne gt lt ge le sa eb ap (date, number, quantity).
* A chained clause (``subject:Patient.name=x``) has ``chain`` set: the clause matches
  when the reference parameter points to a resource of ``chain.target_type`` matching
  ``chain.clause``; chains nest (``subject:Patient.organization.name=x``).
* A ``HasClause`` (``_has:Observation:patient:code=x``, search.html#has, "reverse
  chaining") matches when at least one resource of ``source_type`` whose reference
  parameter ``reference_param`` points to the candidate (``Type/id``) matches
  ``clause`` (itself possibly a ``HasClause``: ``_has`` nests).
* A ``CompartmentClause`` (``GET [base]/Patient/1/Claim``, compartmentdefinition.html)
  matches when the resource's type has compartment parameters and one of them is a
  reference to ``target``; the code ``{def}`` means the resource is ``target`` itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Prefix = Literal["eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap"]
ParamType = Literal[
    "string", "token", "reference", "date", "number", "quantity", "uri", "composite", "special"
]


@dataclass(frozen=True)
class StringValue:
    norm: str  # normalised (see search/index.py) for default and :contains
    raw: str  # for :exact


@dataclass(frozen=True)
class TokenValue:
    system: str | None  # None: any system ("code"); "" : no system ("|code")
    code: str | None  # None: any code ("system|")
    text: str | None = None  # normalised, for :text


@dataclass(frozen=True)
class DateValue:
    prefix: Prefix
    lo: int  # microseconds, inclusive
    hi: int  # microseconds, inclusive


@dataclass(frozen=True)
class NumberValue:
    prefix: Prefix
    value: float
    lo: float  # implicit range from significant digits, [lo, hi)
    hi: float


@dataclass(frozen=True)
class QuantityValue:
    prefix: Prefix
    value: float
    lo: float
    hi: float
    system: str | None
    code: str | None  # code or unit
    # the UCUM canonical form (search/ucum.py) when the system is UCUM and the code converts:
    # then entries match on their canonical value in the same canonical unit
    cvalue: float | None = None
    clo: float | None = None
    chi: float | None = None
    cunit: str | None = None


@dataclass(frozen=True)
class ReferenceValue:
    target: str | None  # "Patient/123" or absolute URL / canonical; None with type only
    type: str | None = None  # from ":Patient" modifier or the "Type/id" form
    id: str | None = None  # plain id form ("123"), matched against any type allowed
    version: str | None = None


@dataclass(frozen=True)
class UriValue:
    value: str


@dataclass(frozen=True)
class CompositeValue:
    """``code$value``: one value per component, typed by the component's parameter; all
    must match the same CompositeEntry."""

    components: tuple[TokenValue | StringValue | DateValue | QuantityValue, ...]


@dataclass(frozen=True)
class NearValue:
    """``near=[latitude]|[longitude]|[distance]|[units]`` (``types/near.py``): the point, the
    distance in km, the point's unit vector and the squared-chord limit ``4 sin²(d/2R)``."""

    lat: float
    lng: float
    distance_km: float
    x: float
    y: float
    z: float
    limit: float


@dataclass(frozen=True)
class MissingValue:
    missing: bool


@dataclass(frozen=True)
class ValueSetRef:
    """``:in`` / ``:not-in`` on a token, before resolution: the ValueSet (canonical ``url``,
    ``url|version``, or ``ValueSet/[id]`` on this server). Replaced by its expansion, as
    ordinary TokenValues, by ``terminology/search_modifiers.py`` before any backend or the
    matcher sees the query; ``parameter`` is the parameter as written, for errors."""

    ref: str
    parameter: str


@dataclass(frozen=True)
class SubsumptionRef:
    """``:below`` / ``:above`` on a token, before resolution: ``system|code``, replaced by the
    code with its descendants (``:below``) or ancestors (``:above``) as TokenValues."""

    system: str
    code: str
    parameter: str


Value = (
    StringValue
    | TokenValue
    | DateValue
    | NumberValue
    | QuantityValue
    | ReferenceValue
    | UriValue
    | CompositeValue
    | NearValue
    | MissingValue
    | ValueSetRef
    | SubsumptionRef
)


@dataclass(frozen=True)
class ParamRef:
    """The SearchParameter a clause uses (by code), with its type and targets."""

    code: str
    type: ParamType
    targets: tuple[str, ...] = ()


@dataclass(frozen=True)
class Chain:
    target_type: str  # the resource type the reference must point to
    clause: Clause  # evaluated on resources of target_type


@dataclass(frozen=True)
class Clause:
    param: ParamRef
    modifier: str | None
    values: tuple[Value, ...]
    chain: Chain | None = None


@dataclass(frozen=True)
class IdClause:
    """``_id``: matches the logical id (values ORed)."""

    ids: tuple[str, ...]
    negate: bool = False


@dataclass(frozen=True)
class LastUpdatedClause:
    """``_lastUpdated``: one DateValue per OR value, against meta.lastUpdated."""

    values: tuple[DateValue, ...]


@dataclass(frozen=True)
class HasClause:
    """``_has:[source_type]:[reference_param]:[inner]=value``: reverse chaining."""

    source_type: str
    reference_param: str
    clause: Criterion


@dataclass(frozen=True)
class CompartmentClause:
    """Membership of the compartment ``target`` ("Patient/123"): per resource type, the
    parameters (from the CompartmentDefinition) that can reference it."""

    target: str
    params: tuple[tuple[str, tuple[str, ...]], ...]  # (resource type, codes)

    def codes(self, resource_type: str) -> tuple[str, ...]:
        return dict(self.params).get(resource_type, ())


Criterion = Clause | IdClause | LastUpdatedClause | HasClause | CompartmentClause


def criterion_name(c: Criterion) -> str:
    """The search parameter name a criterion came from (for messages)."""
    if isinstance(c, IdClause):
        return "_id"
    if isinstance(c, LastUpdatedClause):
        return "_lastUpdated"
    if isinstance(c, HasClause):
        return f"_has:{c.source_type}:{c.reference_param}:{criterion_name(c.clause)}"
    if isinstance(c, CompartmentClause):
        return f"compartment {c.target}"
    if c.chain is not None:
        return f"{c.param.code}:{c.chain.target_type}.{criterion_name(c.chain.clause)}"
    return c.param.code + (f":{c.modifier}" if c.modifier and c.modifier != "type" else "")


@dataclass(frozen=True)
class SortKey:
    param: str  # code, or "_id" / "_lastUpdated"
    type: ParamType | Literal["_id", "_lastUpdated"]
    descending: bool = False


@dataclass(frozen=True)
class Include:
    source_type: str
    param: str  # reference parameter code, or "*"
    target_type: str | None = None
    iterate: bool = False
    reverse: bool = False  # _revinclude


@dataclass(frozen=True)
class SearchQuery:
    resource_types: tuple[str, ...]  # one type for type search; several/all for system search
    criteria: tuple[Criterion, ...] = ()
    sort: tuple[SortKey, ...] = ()
    count: int = 50
    cursor: str | None = None  # opaque, produced by the backend
    total: Literal["none", "estimate", "accurate"] = "none"
    summary: str | None = None  # true | text | data | count | false
    elements: tuple[str, ...] = ()
    includes: tuple[Include, ...] = ()
    ignored: tuple[str, ...] = field(default=())  # unknown parameters (lenient mode)
    # _contained / _containedType (search/contained.py): which resources the criteria apply
    # to (false: the resources themselves; true: contained ones; both) and what is returned
    contained: Literal["false", "true", "both"] = "false"
    contained_type: Literal["container", "contained"] = "container"
