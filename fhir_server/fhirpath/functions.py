"""FHIRPath functions merged over fhirpathpy's (2.2.x) invocation table by :mod:`.engine`.

Each entry says what upstream lacks. Entries use fhirpathpy's raw calling convention
(``fn(ctx, input_collection, *params)``; ``arity`` maps a parameter count to parameter kinds:
``Expr`` is a closure evaluated per item, ``Any``/``AnyAtRoot`` a collection, ``String``/``Integer``
a checked singleton).

FHIR-specific functions (fhir.html#functions, R4 §2.1.9.1): ``extension``, ``hasValue``,
``getValue``, ``resolve``, ``memberOf``, ``conformsTo``, ``htmlChecks``. FHIRPath 2.0/3.0
functions: ``sort``, ``matchesFull``, ``lowBoundary``, ``highBoundary``, ``precision``,
``comparable``; fixes to ``round``, ``toString``, ``startsWith``, ``indexOf``, ``replace``,
``replaceMatches``, ``abs`` and to the order comparisons on quantities from resources.

``memberOf`` and ``conformsTo`` need the server (terminology, profiles): they call the hooks set
with :func:`set_member_of` and :func:`set_conforms_to`; without a hook ``memberOf`` is an error and
``conformsTo`` only knows the core resource types.
"""

from __future__ import annotations

import calendar
import functools
import html.parser
import re
from collections.abc import Callable, Mapping
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import Any

from fhirpathpy.engine.invocations import equality, math, strings
from fhirpathpy.engine.nodes import FP_DateTime, FP_Quantity, FP_Time, FP_TimeBase, ResourceNode
from fhirpathpy.engine.util import get_data, is_empty

__all__ = ["FUNCTIONS", "SORT_DESC", "set_conforms_to", "set_member_of"]

FHIR_SD = "http://hl7.org/fhir/StructureDefinition/"
UCUM = "http://unitsofmeasure.org"

MemberOf = Callable[[str, Any], bool | None]
ConformsTo = Callable[[str, Mapping[str, Any]], bool | None]
_hooks: dict[str, Any] = {"memberOf": None, "conformsTo": None}


def set_member_of(fn: MemberOf | None) -> None:
    """``fn(valueset_url, code|Coding|CodeableConcept as JSON)``: True/False, or None when the
    ValueSet is unknown (the FHIRPath result is then empty)."""
    _hooks["memberOf"] = fn


def set_conforms_to(fn: ConformsTo | None) -> None:
    """``fn(profile_url, resource)``: True/False, or None when the profile is unknown (then an
    error, as the suite's ``conformsTo('http://trash')``)."""
    _hooks["conformsTo"] = fn


def _single(coll: list[Any]) -> Any:
    if len(coll) > 1:
        raise ValueError(f"expected a single item, got {len(coll)}")
    return _value(coll[0]) if coll else None


def _value(item: Any) -> Any:
    """The item as a FHIRPath value: typed dates/times/quantities from resources converted."""
    if isinstance(item, ResourceNode):
        data = item.data
        if isinstance(data, Mapping):
            return _quantity(data) or data
        if isinstance(data, str) and item.path:
            from .engine import MODEL

            kind = item.path if "." not in item.path else MODEL["path2Type"].get(item.path)
            if kind in ("date", "dateTime", "instant"):
                return FP_DateTime(data) or data
            if kind == "time":
                return FP_Time(data) or data
        return get_data(item)
    return get_data(item)


def _quantity(data: Mapping[str, Any]) -> FP_Quantity | None:
    """A Quantity element (``value`` and a UCUM ``code``, or a ``unit``) as a FHIRPath quantity."""
    value = data.get("value")
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return None
    code = data.get("code") if data.get("system", UCUM) == UCUM else None
    unit = code or data.get("unit")
    if not isinstance(unit, str):
        return None
    value = Decimal(str(value)) if isinstance(value, float) else value
    return FP_Quantity(value, FP_Quantity.timeUnitsToUCUM.get(unit, f"'{unit}'"))


# -- FHIR-specific ---------------------------------------------------------------------------


def extension(ctx: Any, coll: list[Any], url: Any) -> list[Any]:
    """Every extension with ``url`` (upstream keeps only the first match per element; fhir.html:
    "Will filter the input collection for items named 'extension' with the given url")."""
    if is_empty(url) or url is None:
        return []
    out: list[Any] = []
    for item in coll:
        element = get_data(item)
        exts: list[Any] = []
        if isinstance(element, Mapping):
            exts = element.get("extension") or []
        elif isinstance(item, ResourceNode) and isinstance(item._data, Mapping):
            exts = item._data.get("extension") or []  # a primitive's "_x" sibling
        out.extend(ResourceNode.create_node(e, "Extension") for e in exts if e.get("url") == url)
    return out


def _is_primitive_value(item: Any) -> bool:
    data = get_data(item)
    return data is not None and not isinstance(data, Mapping | list)


def has_value(ctx: Any, coll: list[Any]) -> bool:
    """fhir.html: "true if the input collection contains a single value which is a FHIR primitive,
    and it has a primitive value (e.g. as opposed to not having a value and just having
    extensions)". Missing upstream."""
    from .engine import without_twins

    coll = without_twins(coll)
    return len(coll) == 1 and _is_primitive_value(coll[0])


def get_value(ctx: Any, coll: list[Any]) -> list[Any]:
    """fhir.html: the underlying system value of a single FHIR primitive (empty otherwise)."""
    from .engine import without_twins

    coll = without_twins(coll)
    if len(coll) == 1 and _is_primitive_value(coll[0]):
        return [_value(coll[0])]
    return []


def resolve(ctx: Any, coll: list[Any]) -> list[Any]:
    """fhir.html ``resolve()``: the resources the references point to, as far as the evaluation
    context holds them: ``#id`` in the root resource's ``contained``, and entries of a Bundle
    being evaluated (by ``fullUrl`` or ``Type/id``). Other targets resolve to nothing (the server
    does not read the store while validating). Missing upstream."""
    root = ctx["vars"].get("rootResource") or ctx["vars"].get("resource")
    if root is None and ctx.get("dataRoot"):
        root = get_data(ctx["dataRoot"][0])
    out: list[Any] = []
    for item in coll:
        data = get_data(item)
        ref = data.get("reference") if isinstance(data, Mapping) else data
        if not isinstance(ref, str) or not isinstance(root, Mapping):
            continue
        for target in _targets(root, ref):
            out.append(ResourceNode.create_node(target, target.get("resourceType")))
    return out


def _targets(root: Mapping[str, Any], ref: str) -> list[Mapping[str, Any]]:
    if ref.startswith("#"):
        if ref == "#":
            return [root]
        return [c for c in root.get("contained") or () if isinstance(c, Mapping) and c.get("id") == ref[1:]]
    found: list[Mapping[str, Any]] = []
    if root.get("resourceType") == "Bundle":
        for entry in root.get("entry") or ():
            res = entry.get("resource") if isinstance(entry, Mapping) else None
            if not isinstance(res, Mapping):
                continue
            local = f"{res.get('resourceType')}/{res.get('id')}"
            full = entry.get("fullUrl")
            if ref in (full, local) or (isinstance(full, str) and full.endswith("/" + ref)):
                found.append(res)
    return found


def member_of(ctx: Any, coll: list[Any], url: Any) -> list[bool]:
    """fhir.html ``memberOf(valueset)``: through the server's terminology service (hook)."""
    if not coll or not isinstance(url, str):
        return []
    hook = _hooks["memberOf"]
    if hook is None:
        raise ValueError("memberOf() needs the terminology service")
    answer = hook(url, get_data(_single_item(coll)))
    return [] if answer is None else [bool(answer)]


def _single_item(coll: list[Any]) -> Any:
    if len(coll) > 1:
        raise ValueError(f"expected a single item, got {len(coll)}")
    return coll[0]


def conforms_to(ctx: Any, coll: list[Any], url: Any) -> list[bool]:
    """fhir.html ``conformsTo(structure)``: core types by their definition url; other profiles
    through the validation hook; an unknown profile is an error."""
    if not coll or not isinstance(url, str):
        return []
    item = get_data(_single_item(coll))
    if not isinstance(item, Mapping):
        return [False]
    hook = _hooks["conformsTo"]
    if hook is not None:
        answer = hook(url, item)
        if answer is not None:
            return [bool(answer)]
    if url.startswith(FHIR_SD):
        name = url[len(FHIR_SD) :]
        from .engine import MODEL

        if name in MODEL["type2Parent"] or name in ("Resource", "DomainResource"):
            return [_is_a(item.get("resourceType"), name, MODEL)]
    raise ValueError(f"conformsTo(): unknown profile {url}")


def _is_a(type_name: Any, wanted: str, model: Mapping[str, Any]) -> bool:
    while isinstance(type_name, str):
        if type_name == wanted:
            return True
        type_name = model["type2Parent"].get(type_name)
    return False


# the HTML 4 elements txt-1 allows (the reference implementation's list)
_HTML_ALLOWED_NAMES = (
    "p br div h1 h2 h3 h4 h5 h6 a span b em i strong small big tt dfn q var abbr acronym cite "
    "blockquote hr address bdo kbd sub sup ul ol li dl dt dd pre table caption colgroup col thead "
    "tr tfoot tbody th td code samp img map area"
)
_HTML_ALLOWED = frozenset(_HTML_ALLOWED_NAMES.split())


class _Xhtml(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ok = True

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _HTML_ALLOWED:
            self.ok = False
        for name, value in attrs:
            if name.startswith("on") or (value or "").strip().lower().startswith("javascript:"):
                self.ok = False


def html_checks(ctx: Any, coll: list[Any]) -> bool:
    """fhir.html ``htmlChecks()`` (approximate, as the reference implementation): the narrative
    parses and uses only the HTML elements txt-1 allows, with no event handlers or ``javascript:``
    links. Like the reference implementation it does not check for non-whitespace content (txt-2
    shares the expression; several official examples have an empty div). Missing upstream."""
    if len(coll) != 1:
        return False
    div = get_data(coll[0])
    if not isinstance(div, str):
        return False
    parser = _Xhtml()
    try:
        parser.feed(div)
        parser.close()
    except Exception:
        return False
    return parser.ok


# -- FHIRPath functions upstream lacks -----------------------------------------------------

SORT_DESC = "fhirServerSortDescending"


class _Desc:
    """A sort key in descending order (produced by ``sort(-key)``, see engine.rewrite)."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


def _desc(ctx: Any, coll: list[Any]) -> list[Any]:
    return [_Desc(_value(v)) for v in coll]


def sort(ctx: Any, coll: list[Any], *keys: Callable[[Any], list[Any]]) -> list[Any]:
    """FHIRPath 3.0 ``sort([key, ...])``: by the items themselves or by the key expressions,
    ``-key`` descending; empty keys sort first."""

    def key_values(item: Any) -> list[tuple[bool, Any]]:
        if not keys:
            return [(False, _value(item))]
        out: list[tuple[bool, Any]] = []
        for key in keys:
            got = key(item)
            v = got[0] if got else None
            if isinstance(v, _Desc):
                out.append((True, v.value))
            else:
                out.append((False, _value(v) if v is not None else None))
        return out

    decorated = [(key_values(item), item) for item in coll]

    def cmp(a: tuple[list[tuple[bool, Any]], Any], b: tuple[list[tuple[bool, Any]], Any]) -> int:
        for (desc, x), (_, y) in zip(a[0], b[0], strict=True):
            if x is None or y is None:  # empty keys first, whatever the direction
                c = (x is not None) - (y is not None)
                if c:
                    return c
                continue
            c = _compare(x, y)
            if c:
                return -c if desc else c
        return 0

    decorated.sort(key=functools.cmp_to_key(cmp))
    return [item for _, item in decorated]


def _compare(x: Any, y: Any) -> int:
    if x is None or y is None:
        return (x is not None) - (y is not None)
    if isinstance(x, FP_TimeBase) and isinstance(y, FP_TimeBase):
        c = x.compare(y)
        return int(c) if c is not None else 0
    try:
        return (x > y) - (x < y)
    except TypeError:
        return (str(x) > str(y)) - (str(x) < str(y))


def matches_full(ctx: Any, coll: list[Any], regex: Any) -> list[bool] | bool:
    """FHIRPath ``matchesFull(regex)``: the whole string matches."""
    if not coll or not isinstance(regex, str):
        return []
    s = strings.ensure_string_singleton(coll)
    return re.fullmatch(regex, s, re.DOTALL) is not None


_DEFAULT_DECIMAL_PRECISION = 8
_MAX_DECIMAL_PRECISION = 28


def _decimal_boundary(value: int | Decimal, precision: int | None, high: bool) -> Decimal | None:
    """FHIRPath ``lowBoundary``/``highBoundary`` on a decimal: the least/greatest value it may
    stand for, given its own precision (half a unit of its last digit), to ``precision`` digits
    (default 8; beyond 28 or below 0 there is no answer). A negative number mirrors the positive
    one (low(-x) = -high(x)); below the input's precision the low boundary truncates and the high
    one rounds half up (the reference implementation's choices, which the suite pins)."""
    p = _DEFAULT_DECIMAL_PRECISION if precision is None else precision
    if p < 0 or p > _MAX_DECIMAL_PRECISION:
        return None
    d = Decimal(value)
    if d.is_signed():
        mirrored = _decimal_boundary(-d, precision, not high)
        return None if mirrored is None else mirrored.copy_negate()
    exponent = d.as_tuple().exponent
    scale = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    half = Decimal(5).scaleb(-(scale + 1))
    bound = d + half if high else d - half
    quantum = Decimal(1).scaleb(-p)
    if p >= scale + 1:
        return bound.quantize(quantum)
    return bound.quantize(quantum, rounding=ROUND_HALF_UP if high else ROUND_DOWN)


_DT = re.compile(
    r"^(?P<y>\d{4})(?:-(?P<mo>\d{2})(?:-(?P<d>\d{2}))?)?"
    r"(?:T(?P<h>\d{2})(?::(?P<mi>\d{2})(?::(?P<s>\d{2})(?:\.(?P<ms>\d+))?)?)?)?"
    r"(?P<tz>Z|[+-]\d{2}:\d{2})?$"
)
_TIME = re.compile(r"^T?(?P<h>\d{2})(?::(?P<mi>\d{2})(?::(?P<s>\d{2})(?:\.(?P<ms>\d+))?)?)?$")


def _date_boundary(value: FP_TimeBase, precision: int | None, high: bool) -> Any:
    """``lowBoundary``/``highBoundary`` on a date, dateTime or time: missing parts filled with
    their least/greatest value up to ``precision`` digits (date 4/6/8, dateTime up to 17, time
    up to 9); a dateTime without a timezone takes the most extreme one (+14:00 low, -12:00 high)."""
    text = str(getattr(value, "asStr", "")).lstrip("@")
    if isinstance(value, FP_Time):
        m = _TIME.match(text)
        if not m or (precision is not None and precision not in (2, 4, 6, 9)):
            return None
        p = 9 if precision is None else precision
        parts = [m["h"], m["mi"] or "00", m["s"] or ("59" if high else "00")]
        if m["mi"] is None:
            parts[1] = "59" if high else "00"
        ms = (m["ms"] or ("999" if high else "000")).ljust(3, "0")[:3]
        out = ":".join(parts[: {2: 1, 4: 2, 6: 3, 9: 3}[p]])
        if p == 9:
            out += "." + ms
        return FP_Time("T" + out) or FP_Time(out)
    m = _DT.match(text)
    if not m or (precision is not None and precision not in (4, 6, 8, 10, 12, 14, 17)):
        return None
    p = 17 if precision is None else precision
    year = m["y"]
    month = m["mo"] or ("12" if high else "01")
    last = calendar.monthrange(int(year), int(month))[1]
    day = m["d"] or (f"{last:02d}" if high else "01")
    out = year
    if p >= 6:
        out += f"-{month}"
    if p >= 8:
        out += f"-{day}"
    if p >= 10:
        hour = m["h"] or ("23" if high else "00")
        minute = m["mi"] or "00"
        second = m["s"] or ("59" if high else "00")
        ms = (m["ms"] or ("999" if high else "000")).ljust(3, "0")[:3]
        out += f"T{hour}"
        if p >= 12:
            out += f":{minute}"
        if p >= 14:
            out += f":{second}"
        if p >= 17:
            out += f".{ms}"
        out += m["tz"] or ("-12:00" if high else "+14:00")
    return FP_DateTime(out)


def _boundary(high: bool) -> Callable[..., list[Any]]:
    def fn(ctx: Any, coll: list[Any], precision: Any = None) -> list[Any]:
        if not coll:
            return []
        v = _single(coll)
        p = None if precision is None or is_empty(precision) else int(precision)
        result: Any = None
        if isinstance(v, bool):
            return []
        if isinstance(v, int | Decimal):
            result = _decimal_boundary(v, p, high)
        elif isinstance(v, FP_Quantity) and isinstance(v.value, int | Decimal):
            b = _decimal_boundary(v.value, p, high)
            result = None if b is None else FP_Quantity(b, v.unit)
        elif isinstance(v, FP_TimeBase):
            result = _date_boundary(v, p, high)
        return [] if result is None else [result]

    fn.__name__ = "high_boundary" if high else "low_boundary"
    return fn


def precision(ctx: Any, coll: list[Any]) -> list[int]:
    """FHIRPath ``precision()``: digits after the point of a decimal; digits of a date/time
    (``@2014`` 4, ``@2014-01-05T10:30:00.000`` 17, ``@T10:30`` 4)."""
    if not coll:
        return []
    v = _single(coll)
    if isinstance(v, bool):
        return []
    if isinstance(v, int | Decimal):
        exponent = Decimal(v).as_tuple().exponent
        return [-exponent if isinstance(exponent, int) and exponent < 0 else 0]
    if isinstance(v, FP_TimeBase):
        text = str(getattr(v, "asStr", "")).lstrip("@").lstrip("T")
        text = (
            re.sub(r"(Z|[+-]\d{2}:\d{2})$", "", text)
            if "T" in str(getattr(v, "asStr", "")) or ":" in text
            else text
        )
        return [sum(ch.isdigit() for ch in text)]
    return []


def comparable(ctx: Any, coll: list[Any], other: list[Any]) -> list[bool]:
    """FHIRPath ``comparable(quantity)``: both units convert to the same UCUM dimension."""
    if not coll or not other:
        return []
    a, b = _single(coll), _single(other)
    if not isinstance(a, FP_Quantity) or not isinstance(b, FP_Quantity):
        return []
    from fhir_server.search.ucum import canonical

    ca, cb = canonical(_unit_code(a.unit)), canonical(_unit_code(b.unit))
    return [ca is not None and cb is not None and ca[2] == cb[2]]


def _unit_code(unit: str) -> str:
    unit = str(unit)
    if unit.startswith("'") and unit.endswith("'"):
        return unit[1:-1]
    for ucum, calendar_unit in ((v, k) for k, v in FP_Quantity.timeUnitsToUCUM.items()):
        if unit == calendar_unit:
            return ucum.strip("'")
    return unit


# -- fixes to upstream functions -----------------------------------------------------------


def round_fn(ctx: Any, coll: list[Any], digits: Any = None) -> Any:
    """``round([precision])``: the precision is optional (upstream requires it)."""
    return math.rround(ctx, coll, [] if digits is None else digits)


def to_string(ctx: Any, coll: list[Any]) -> list[str]:
    """``toString()``: booleans as ``true``/``false``, quantities as ``1 'mg'`` (upstream gives
    Python's ``True``)."""
    if len(coll) != 1:
        return []
    v = get_data(coll[0])
    if isinstance(v, bool):
        return ["true" if v else "false"]
    if isinstance(v, Mapping | list):
        return []
    return [str(v)]


def starts_with(ctx: Any, coll: list[Any], prefix: Any) -> Any:
    """``''.startsWith('')`` is true (upstream: false for an empty input string)."""
    if is_empty(prefix) or prefix is None:
        return []
    s = strings.ensure_string_singleton(coll)
    return s.startswith(prefix) if isinstance(s, str) and isinstance(prefix, str) else False


def index_of(ctx: Any, coll: list[Any], sub: Any) -> Any:
    """``indexOf({})`` is empty (upstream raises)."""
    if not isinstance(sub, str):
        return []
    return strings.index_of(ctx, coll, sub)


def replace(ctx: Any, coll: list[Any], pattern: Any, substitution: Any) -> Any:
    """``replace`` with an empty argument is empty (upstream raises)."""
    if not isinstance(pattern, str) or not isinstance(substitution, str):
        return []
    return strings.replace(ctx, coll, pattern, substitution)


def replace_matches(ctx: Any, coll: list[Any], regex: Any, substitution: Any) -> Any:
    """``replaceMatches('', x)`` leaves the string as it is (upstream inserts x everywhere)."""
    if regex == "":
        s = strings.ensure_string_singleton(coll)
        return s if isinstance(s, str) else []
    return strings.replace_matches(ctx, coll, regex, substitution)


def abs_fn(ctx: Any, coll: list[Any]) -> Any:
    """``abs()`` of a quantity keeps its unit (upstream: numbers only)."""
    if len(coll) == 1:
        v = _value(coll[0])
        if isinstance(v, FP_Quantity):
            return [FP_Quantity(abs(v.value), v.unit)]
    return math.abs(ctx, coll)


def _quantities_converted(op: Callable[[Any, list[Any], list[Any]], Any]) -> Callable[..., Any]:
    """An order comparison where a Quantity element from a resource (a choice like
    ``Observation.value`` that upstream leaves untyped) meets a quantity literal: the element is
    taken as a quantity (fhirpath.html#comparison: quantities compare after unit conversion)."""

    def fn(ctx: Any, a: list[Any], b: list[Any]) -> Any:
        if len(a) == 1 and len(b) == 1:
            x, y = get_data(a[0]), get_data(b[0])
            if isinstance(x, Mapping) and isinstance(y, FP_Quantity):
                q = _quantity(x)
                a = [q] if q is not None else a
            elif isinstance(y, Mapping) and isinstance(x, FP_Quantity):
                q = _quantity(y)
                b = [q] if q is not None else b
        if len(a) == 1 and len(b) == 1:
            x, y = _value(a[0]), _value(b[0])
            if isinstance(x, FP_Quantity) and isinstance(y, FP_Quantity):
                c = _quantity_order(x, y)
                return [] if c is None else [_ORDER[op.__name__](c)]
        return op(ctx, a, b)

    fn.__name__ = op.__name__
    return fn


def _quantity_order(x: FP_Quantity, y: FP_Quantity) -> int | None:
    """-1/0/1 after converting both to the canonical UCUM unit; None if not comparable.
    Upstream's order operators call a ``compare`` FP_Quantity does not have (TypeError)."""
    from fhir_server.search.ucum import canonical

    ux, uy = _unit_code(x.unit), _unit_code(y.unit)
    vx, vy = Decimal(str(x.value)), Decimal(str(y.value))
    if ux != uy:
        cx, cy = canonical(ux), canonical(uy)
        if cx is None or cy is None or cx[2] != cy[2]:
            return None
        vx = vx * Decimal(str(cx[0])) + Decimal(str(cx[1]))
        vy = vy * Decimal(str(cy[0])) + Decimal(str(cy[1]))
    return (vx > vy) - (vx < vy)


_ORDER: dict[str, Callable[[int], bool]] = {
    "lt": lambda c: c < 0,
    "gt": lambda c: c > 0,
    "lte": lambda c: c <= 0,
    "gte": lambda c: c >= 0,
}


def _dt_parts(v: FP_TimeBase) -> tuple[list[str], str | None] | None:
    text = str(getattr(v, "asStr", "")).lstrip("@")
    m = _TIME.match(text) if isinstance(v, FP_Time) else _DT.match(text)
    if not m:
        return None
    keys = ["h", "mi", "s", "ms"] if isinstance(v, FP_Time) else ["y", "mo", "d", "h", "mi", "s", "ms"]
    parts = [m[k] for k in keys]
    # seconds and milliseconds are one precision (fhirpath.html#equals: "seconds and
    # milliseconds are considered a single precision using a decimal")
    ms = parts.pop()
    if ms is not None and parts[-1] is not None:
        parts[-1] = f"{parts[-1]}.{ms}"
    while parts and parts[-1] is None:
        parts.pop()
    tz = None if isinstance(v, FP_Time) else m["tz"]
    return parts, tz


_UPSTREAM = object()  # "let upstream's comparison decide"


def _datetime_equal(x: FP_TimeBase, y: FP_TimeBase) -> object:
    """fhirpath.html#equals: date/time values are compared precision by precision; "if one input
    has a value for the precision and the other does not, the comparison stops and the result is
    empty". Values with a time of day where only one has a timezone cannot be compared (empty).
    Returns _UPSTREAM when upstream's comparison applies (same precision, same tz shape)."""
    px, py = _dt_parts(x), _dt_parts(y)
    if px is None or py is None:
        return _UPSTREAM
    (ax, tzx), (ay, tzy) = px, py
    with_time = isinstance(x, FP_Time) or len(ax) > 3 or len(ay) > 3
    if with_time and (tzx is None) != (tzy is None):
        return None
    if len(ax) == len(ay):
        if len(ax) and Decimal(ax[-1]) == Decimal(ay[-1]) and ax[:-1] == ay[:-1] and tzx == tzy:
            return True  # 31 = 31.0 (upstream compares the text of the seconds)
        return _UPSTREAM
    if tzx != tzy and with_time:
        return _UPSTREAM
    for a, b in zip(ax, ay, strict=False):
        if Decimal(a) != Decimal(b):
            return False
    return None


def _equality(negate: bool, upstream: Callable[[Any, list[Any], list[Any]], Any]) -> Callable[..., Any]:
    def fn(ctx: Any, a: list[Any], b: list[Any]) -> Any:
        if len(a) == 1 and len(b) == 1:
            x, y = _value(a[0]), _value(b[0])
            if isinstance(x, FP_TimeBase) and isinstance(y, FP_TimeBase) and type(x) is type(y):
                r = _datetime_equal(x, y)
                if r is not _UPSTREAM:
                    return [] if r is None else [(not r) if negate else bool(r)]
        return upstream(ctx, a, b)

    fn.__name__ = upstream.__name__
    return fn


def _equivalence(negate: bool) -> Callable[..., Any]:
    """``~`` on collections: same size and every item equivalent to one of the other (order does
    not matter: fhirpath.html#equivalent); upstream compares only the first items."""

    def fn(ctx: Any, a: list[Any], b: list[Any]) -> Any:
        if len(a) > 1 or len(b) > 1:
            result = len(a) == len(b)
            if result:
                rest = list(b)
                for x in a:
                    for i, y in enumerate(rest):
                        if equality.equivalence(ctx, [x], [y]):
                            del rest[i]
                            break
                    else:
                        result = False
                        break
            return [result != negate]
        return (equality.unequival if negate else equality.equival)(ctx, a, b)

    return fn


def single(ctx: Any, coll: list[Any]) -> list[Any]:
    """``single()`` on more than one item is an error (upstream returns an error marker)."""
    if len(coll) > 1:
        raise ValueError(f"single(): {len(coll)} items")
    return coll


def not_fn(ctx: Any, coll: list[Any]) -> Any:
    """``not()`` on more than one item is an error (singleton evaluation)."""
    if len(coll) > 1:
        raise ValueError(f"not(): {len(coll)} items")
    from fhirpathpy.engine.invocations import existence

    return existence.not_fn(ctx, coll)


def iif(ctx: Any, data: list[Any], cond: Any, ok: Any, fail: Any = None) -> Any:
    """``iif`` called on a collection of more than one item is an error."""
    if len(data) > 1:
        raise ValueError(f"iif(): called on {len(data)} items")
    from fhirpathpy.engine.invocations import misc

    return misc.iif_macro(ctx, data, cond, ok, fail)


def is_type(ctx: Any, coll: list[Any], type_info: Any) -> Any:
    """``is(System.Date)`` on a date literal: upstream types every date as DateTime."""
    if len(coll) == 1 and not isinstance(coll[0], ResourceNode) and isinstance(coll[0], FP_DateTime):
        name = getattr(type_info, "name", None)
        if name in ("Date", "DateTime") and getattr(type_info, "namespace", None) in (None, "System"):
            parts = _dt_parts(coll[0])
            date_only = parts is not None and len(parts[0]) <= 3
            return (name == "Date") == date_only
    from fhirpathpy.engine.invocations import types

    return types.is_fn(ctx, coll, type_info)


def _integral_decimal(coll: list[Any]) -> list[Any]:
    if len(coll) == 1:
        v = get_data(coll[0])
        if isinstance(v, Decimal) and v == v.to_integral_value():
            return [int(v)]
    return coll


def to_boolean(ctx: Any, coll: list[Any]) -> Any:
    """``1.0.toBoolean()`` is true (upstream only maps int/float 1/0)."""
    from fhirpathpy.engine.invocations import misc

    return misc.to_boolean(ctx, _integral_decimal(coll))


def converts_to_boolean(ctx: Any, coll: list[Any]) -> Any:
    if not coll:
        return []
    got = to_boolean(ctx, coll)
    return isinstance(got, bool)


def children(ctx: Any, coll: list[Any]) -> list[Any]:
    """``children()`` also yields primitives that have only extensions (``"_event": [{...}]``
    without ``event``): upstream skips every ``_x`` key, so ``ele-1`` is false on a Timing whose
    only content is such an element."""
    from fhirpathpy.engine.invocations import navigation

    out = list(navigation.children(ctx, coll))
    for item in coll:
        data = get_data(item)
        if not isinstance(data, Mapping):
            continue
        for key, value in data.items():
            if key.startswith("_") and key[1:] not in data:
                for v in value if isinstance(value, list) else [value]:
                    if v is not None:
                        out.append(ResourceNode.create_node(v, None))
    return out


DECIMAL_LITERAL = "fhirServerDecimalLiteral"


def decimal_literal(ctx: Any, coll: list[Any], text: Any) -> list[Decimal]:
    """A decimal literal with its scale (``1.0`` stays a Decimal; upstream's number literal turns
    ``1.0`` into the integer 1). Produced by engine.rewrite."""
    return [Decimal(str(text))]


FUNCTIONS: dict[str, dict[str, Any]] = {
    "extension": {"fn": extension, "arity": {1: ["String"]}},
    "hasValue": {"fn": has_value},
    "getValue": {"fn": get_value},
    "resolve": {"fn": resolve},
    "memberOf": {"fn": member_of, "arity": {1: ["String"]}},
    "conformsTo": {"fn": conforms_to, "arity": {1: ["String"]}},
    "htmlChecks": {"fn": html_checks},
    "sort": {"fn": sort, "variadic": "Expr"},
    SORT_DESC: {"fn": _desc},
    "matchesFull": {"fn": matches_full, "arity": {1: ["String"]}, "nullable_input": True},
    "lowBoundary": {"fn": _boundary(False), "arity": {0: [], 1: ["Integer"]}},
    "highBoundary": {"fn": _boundary(True), "arity": {0: [], 1: ["Integer"]}},
    "precision": {"fn": precision},
    "comparable": {"fn": comparable, "arity": {1: ["Any"]}},
    "round": {"fn": round_fn, "arity": {0: [], 1: ["Number"]}},
    "toString": {"fn": to_string},
    "startsWith": {"fn": starts_with, "arity": {1: ["String"]}, "nullable_input": True},
    "indexOf": {"fn": index_of, "arity": {1: ["String"]}, "nullable_input": True},
    "replace": {"fn": replace, "arity": {2: ["String", "String"]}, "nullable_input": True},
    "replaceMatches": {
        "fn": replace_matches,
        "arity": {2: ["String", "String"]},
        "nullable_input": True,
    },
    "abs": {"fn": abs_fn},
    "<": {"fn": _quantities_converted(equality.lt), "arity": {2: ["Any", "Any"]}, "nullable": True},
    ">": {"fn": _quantities_converted(equality.gt), "arity": {2: ["Any", "Any"]}, "nullable": True},
    "<=": {"fn": _quantities_converted(equality.lte), "arity": {2: ["Any", "Any"]}, "nullable": True},
    ">=": {"fn": _quantities_converted(equality.gte), "arity": {2: ["Any", "Any"]}, "nullable": True},
    "=": {"fn": _equality(False, equality.equal), "arity": {2: ["Any", "Any"]}, "nullable": True},
    "!=": {"fn": _equality(True, equality.unequal), "arity": {2: ["Any", "Any"]}, "nullable": True},
    "~": {"fn": _equivalence(False), "arity": {2: ["Any", "Any"]}},
    "!~": {"fn": _equivalence(True), "arity": {2: ["Any", "Any"]}},
    "single": {"fn": single},
    "not": {"fn": not_fn},
    "iif": {"fn": iif, "arity": {2: ["Expr", "Expr"], 3: ["Expr", "Expr", "Expr"]}},
    "is": {"fn": is_type, "arity": {1: ["TypeSpecifier"]}},
    "children": {"fn": children},
    "isOp": {"fn": is_type, "arity": {2: ["Any", "TypeSpecifier"]}},
    "toBoolean": {"fn": to_boolean},
    "convertsToBoolean": {"fn": converts_to_boolean},
    DECIMAL_LITERAL: {"fn": decimal_literal, "arity": {1: ["String"]}},
}
