"""The search matrix, generated from the corpus itself.

For each resource type and each of its search parameters of type string, token,
reference, date, number, quantity or uri that has values in the data: values found in
the data (whole, prefixes, accent-stripped), a value absent from the data, every
modifier the parser supports for the type (``types/*.MODIFIERS``; ``:of-type`` from the
Identifier.type codings found), every prefix on
dates (year, month, day and second precision), numbers and quantities, OR lists, ANDs
of two parameters, one- and two-level chains, ``_has`` (one and two levels deep, with
modifiers, combined with other criteria; ``reverse.py``), ``_id``, ``_lastUpdated`` and ``_sort`` (both
directions), composites (``composite.py``). Every case is a query string the parser accepts in strict mode.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import pairwise
from typing import TypeVar

from fhir_server.errors import FhirError
from fhir_server.search.index import (
    DateEntry,
    NumberEntry,
    QuantityEntry,
    ReferenceEntry,
    StringEntry,
    TokenEntry,
    UriEntry,
)
from fhir_server.search.parser import parse_search
from fhir_server.search.registry import SearchParamDef, SearchRegistry

from .case import PAGE_SIZES, Case, pick
from .composite import composite_cases
from .corpus import BASE_URL, Item
from .reverse import reverse_cases
from .system import system_cases
from .values import (
    PRECISIONS,
    PREFIXES,
    date_anchor,
    date_text,
    escape,
    inner_value,
    number_text,
    strip_accents,
)

T = TypeVar("T")
SORTED_TYPES = ("string", "token", "date", "number", "quantity", "reference", "uri")
FULL_LAST_UPDATED = ("Patient", "Observation", "Claim", "Coverage")


@dataclass
class Generator:
    items: Sequence[Item]
    registry: SearchRegistry
    cases: dict[str, Case] = field(default_factory=dict)
    rejected: dict[str, str] = field(default_factory=dict)  # query -> parser message
    missing_calls: int = 0

    def __post_init__(self) -> None:
        self.by_type: dict[str, list[Item]] = {}
        for it in self.items:
            self.by_type.setdefault(it.type, []).append(it)
        self.by_ref = {f"{it.type}/{it.id}": it for it in self.items}

    # ------------------------------------------------------------------ bookkeeping

    def add(self, rtype: str, *params: tuple[str, str], sort: bool = False) -> bool:
        if not sort and len(self.cases) % 4 == 0:
            params = (*params, ("_total", "accurate"))
        case = Case(rtype, tuple(params), PAGE_SIZES[len(self.cases) % len(PAGE_SIZES)], sort)
        if case.name in self.cases or case.name in self.rejected:
            return False
        types = (rtype,) if rtype else ()
        try:
            parse_search(types, case.params, self.registry, strict=True, base_url=BASE_URL)
        except FhirError as exc:
            self.rejected[case.name] = str(exc)
            return False
        self.cases[case.name] = case
        return True

    def entries(self, rtype: str, code: str, kind: type[T]) -> list[T]:
        return [e for it in self.by_type[rtype] for e in it.index.get(code, ()) if isinstance(e, kind)]

    # ------------------------------------------------------------------ the matrix

    def generate(self) -> list[Case]:
        for rtype in sorted(self.by_type):
            self.resource_type(rtype)
        system_cases(self)
        reverse_cases(self)
        return list(self.cases.values())

    def resource_type(self, rtype: str) -> None:
        anchors: list[tuple[str, str]] = []
        params = self.registry.for_type(rtype)
        per_type: dict[str, Callable[[str, str, SearchParamDef], tuple[str, str] | None]] = {
            "string": self.string,
            "token": self.token,
            "reference": self.reference,
            "date": self.date,
            "number": self.number,
            "quantity": self.quantity,
            "uri": self.uri,
            "composite": lambda rtype, code, spd: composite_cases(self, rtype, code),
        }
        present = {code for it in self.by_type[rtype] for code in it.index}
        for code in sorted(params):
            spd = params[code]
            fn = per_type.get(spd.type)
            if fn is None or not ({code, f"{code}:identifier"} & present):
                continue
            anchor = fn(rtype, code, spd)
            if anchor is not None:
                anchors.append(anchor)
        self.ids(rtype)
        self.last_updated(rtype)
        for a, b in pairwise(anchors[:6]):
            if a[0] != b[0]:
                self.add(rtype, a, b)
        self.sorts(rtype, params, present)

    # ------------------------------------------------------------------ per parameter type

    def string(self, rtype: str, code: str, spd: SearchParamDef) -> tuple[str, str] | None:
        exacts = sorted({e.exact for e in self.entries(rtype, code, StringEntry)})
        samples = pick(exacts)
        for raw in samples:
            self.add(rtype, (code, escape(raw)))
            if len(raw) > 3:
                self.add(rtype, (code, escape(raw[:3].upper())))
            self.add(rtype, (f"{code}:exact", escape(raw)))
            if raw.lower() != raw:
                self.add(rtype, (f"{code}:exact", escape(raw.lower())))
            if len(raw) >= 5:
                self.add(rtype, (f"{code}:contains", escape(raw[2:5].lower())))
            plain = strip_accents(raw)
            if plain != raw:
                self.add(rtype, (code, escape(plain)))
                self.add(rtype, (f"{code}:exact", escape(plain)))
        self.add(rtype, (code, "zzqx"))
        self.add(rtype, (f"{code}:contains", "zzqx"))
        if len(samples) > 1:
            self.add(rtype, (code, ",".join(escape(s) for s in samples)))
        self.missing(rtype, code)
        return (code, escape(samples[0])) if samples else None

    def token(self, rtype: str, code: str, spd: SearchParamDef) -> tuple[str, str] | None:
        entries = self.entries(rtype, code, TokenEntry)
        coded = sorted({(e.system or "", e.code) for e in entries if e.code is not None})
        samples = pick(coded)
        for system, value in samples:
            self.add(rtype, (code, escape(value)))
            if value.swapcase() != value:  # codes are case-sensitive
                self.add(rtype, (code, escape(value.swapcase())))
            self.add(rtype, (code, f"{escape(system)}|{escape(value)}"))  # "|code" when no system
            self.add(rtype, (f"{code}:not", escape(value)))
        systems = sorted({s for s, _ in coded if s})
        if systems:
            self.add(rtype, (code, f"{escape(systems[0])}|"))
            self.add(rtype, (code, f"http://example.org/nowhere|{escape(samples[0][1])}"))
        if len(samples) > 1:
            both = ",".join(escape(v) for _, v in samples)
            self.add(rtype, (code, both))
            self.add(rtype, (f"{code}:not", both))
        texts = sorted({e.text for e in entries if e.text})
        for text in pick(texts, 1):
            self.add(rtype, (f"{code}:text", escape(text)))
            self.add(rtype, (f"{code}:text", escape(text[:3])))
        of_type = sorted(
            {(e.system or "", e.code) for e in self.entries(rtype, f"{code}:of-type", TokenEntry) if e.code}
        )
        for system, type_value in pick(of_type):
            type_code, _, value = type_value.partition("|")
            self.add(rtype, (f"{code}:of-type", f"{escape(system)}|{escape(type_code)}|{escape(value)}"))
            self.add(rtype, (f"{code}:of-type", f"{escape(system)}|{escape(type_code)}|zz-absent"))
        self.add(rtype, (code, "zz-absent"))
        self.add(rtype, (f"{code}:not", "zz-absent"))
        self.missing(rtype, code)
        return (code, escape(samples[0][1])) if samples else None

    def reference(self, rtype: str, code: str, spd: SearchParamDef) -> tuple[str, str] | None:
        refs = sorted(
            {(e.target, e.type or "", e.version or "") for e in self.entries(rtype, code, ReferenceEntry)}
        )
        samples = pick(refs)
        remote = [r for r in refs if "://" in r[0] or r[0].startswith("urn:")]
        versioned = [r for r in refs if r[2]]
        for target, ttype, version in samples + pick(remote, 1) + pick(versioned, 1):
            self.add(rtype, (code, escape(target)))
            if ttype and target.startswith(ttype + "/"):
                rid = target[len(ttype) + 1 :]
                self.add(rtype, (code, escape(rid)))
                self.add(rtype, (f"{code}:{ttype}", escape(rid)))
            if version:
                self.add(rtype, (code, escape(f"{target}/_history/{version}")))
                self.add(rtype, (code, escape(f"{target}/_history/{version}0")))
        absent_type = spd.targets[0] if spd.targets else "Patient"
        self.add(rtype, (code, f"{absent_type}/zz-absent"))
        if len(samples) > 1:
            self.add(rtype, (code, ",".join(escape(t) for t, _, _ in samples)))
        idents = sorted(
            {
                (e.system or "", e.code)
                for e in self.entries(rtype, f"{code}:identifier", TokenEntry)
                if e.code
            }
        )
        for system, value in pick(idents, 1):
            self.add(rtype, (f"{code}:identifier", f"{escape(system)}|{escape(value)}"))
            self.add(rtype, (f"{code}:identifier", escape(value)))
        self.missing(rtype, code)
        self.chains(rtype, code, refs)
        return (code, escape(samples[0][0])) if samples else None

    def chains(self, rtype: str, code: str, refs: Iterable[tuple[str, str, str]]) -> None:
        """``code:Target.param=value`` (and ``code.param=value``) for params of the referenced
        resources: identifier, name, a token and a date when they have values there."""
        targets: dict[str, list[Item]] = {}
        for target, ttype, _ in refs:
            it = self.by_ref.get(target)
            if ttype and it is not None:
                targets.setdefault(ttype, []).append(it)
        for ttype, its in sorted(targets.items()):
            inner = self.registry.for_type(ttype)
            chosen: list[tuple[str, str]] = []
            for it in its:
                for ic in sorted(it.index):
                    spd = inner.get(ic)
                    if spd is None or spd.type not in ("string", "token", "date"):
                        continue
                    value = inner_value(it.index[ic])
                    if value is not None and ic not in {c for c, _ in chosen}:
                        chosen.append((ic, value))
            preferred = sorted(
                chosen, key=lambda cv: (cv[0] not in ("identifier", "name", "birthdate"), cv[0])
            )
            for ic, value in preferred[:3]:
                self.add(rtype, (f"{code}:{ttype}.{ic}", value))
                self.add(rtype, (f"{code}.{ic}", value))
            for ic, value in preferred[:1]:
                self.add(rtype, (f"{code}:{ttype}.{ic}:missing", "true"))
                if inner[ic].type == "token":
                    self.add(rtype, (f"{code}:{ttype}.{ic}:not", value))
            self.add(rtype, (f"{code}:{ttype}._id", escape(its[0].id)))
            for it in [it for it in its if it.deleted][:1]:  # a chain never follows a deleted target
                for ic in ("identifier", "name"):
                    value = inner_value(it.index[ic]) if ic in it.index else None
                    if value is not None:
                        self.add(rtype, (f"{code}:{ttype}.{ic}", value))

    def date(self, rtype: str, code: str, spd: SearchParamDef) -> tuple[str, str] | None:
        entries = self.entries(rtype, code, DateEntry)
        anchors = sorted({a for e in entries if (a := date_anchor(e.lo, e.hi)) is not None})
        samples = pick(anchors)
        if not samples:
            self.missing(rtype, code)
            return None
        self.date_matrix(rtype, code, samples[0], PRECISIONS)
        for a in samples[1:]:
            self.date_matrix(rtype, code, a, ("day",))
        first = samples[0]
        if len(samples) > 1:
            self.add(rtype, (code, f"{date_text(first, 'day')},{date_text(samples[1], 'day')}"))
        year = int(date_text(first, "year"))
        self.add(rtype, (code, f"ge{year}"), (code, f"lt{year + 5}"))
        self.missing(rtype, code)
        return code, f"ge{date_text(first, 'month')}"

    def date_matrix(self, rtype: str, code: str, anchor: int, precisions: Iterable[str]) -> None:
        for precision in precisions:
            text = date_text(anchor, precision)
            for prefix in PREFIXES:
                self.add(rtype, (code, f"{'' if prefix == 'eq' and precision == 'year' else prefix}{text}"))

    def number(self, rtype: str, code: str, spd: SearchParamDef) -> tuple[str, str] | None:
        values = sorted({(e.value, e.lo, e.hi) for e in self.entries(rtype, code, NumberEntry)})
        samples = [number_text(*v) for v in pick(values)]
        for n, text in enumerate(samples):
            for prefix in PREFIXES if n == 0 else ("eq", "gt", "le"):
                self.add(rtype, (code, prefix + text))
            self.add(rtype, (code, text + ("0" if "." in text else ".0")))
            self.add(rtype, (code, f"{Decimal(text):e}"))
        self.add(rtype, (code, "987654321"))
        self.missing(rtype, code)
        return (code, samples[0]) if samples else None

    def quantity(self, rtype: str, code: str, spd: SearchParamDef) -> tuple[str, str] | None:
        found = {
            (e.value, e.lo, e.hi, e.system or "", e.code or "", e.unit or "")
            for e in self.entries(rtype, code, QuantityEntry)
        }
        samples = pick(sorted(found))
        for n, (value, lo, hi, system, unit_code, unit) in enumerate(samples):
            text = number_text(value, lo, hi)
            for prefix in PREFIXES if n == 0 else ("eq",):
                self.add(rtype, (code, prefix + text))
            if system and unit_code:
                self.add(rtype, (code, f"{text}|{escape(system)}|{escape(unit_code)}"))
                self.add(rtype, (code, f"{text}|{escape(system)}|zz"))
            if unit_code:
                self.add(rtype, (code, f"{text}||{escape(unit_code)}"))
                self.add(rtype, (code, f"gt{text}||{escape(unit_code)}"))
            if unit and unit != unit_code:
                self.add(rtype, (code, f"{text}||{escape(unit)}"))
        self.add(rtype, (code, "987654321"))
        self.missing(rtype, code)
        if not samples:
            return None
        return code, f"ge{number_text(*samples[0][:3])}"

    def uri(self, rtype: str, code: str, spd: SearchParamDef) -> tuple[str, str] | None:
        values = sorted({e.value for e in self.entries(rtype, code, UriEntry)})
        samples = pick(values)
        for v in samples:
            self.add(rtype, (code, escape(v)))
            self.add(rtype, (f"{code}:below", escape(v)))
            if "/" in v.rstrip("/"):
                self.add(rtype, (f"{code}:below", escape(v[: v.rstrip("/").rfind("/") + 1])))
            self.add(rtype, (f"{code}:above", escape(v + "/_history/2")))
            self.add(rtype, (f"{code}:above", escape(v[:-1])))
        self.add(rtype, (code, "http://example.org/zz-absent"))
        self.missing(rtype, code)
        return (code, escape(samples[0])) if samples else None

    def missing(self, rtype: str, code: str) -> None:
        self.add(rtype, (f"{code}:missing", "true"))
        self.add(rtype, (f"{code}:missing", "false"))
        self.missing_calls += 1
        if self.missing_calls % 3 == 1:  # OR of both: every resource
            self.add(rtype, (f"{code}:missing", "false,true"))

    # ------------------------------------------------------------------ _id, _lastUpdated, _sort

    def ids(self, rtype: str) -> None:
        ids = sorted(it.id for it in self.by_type[rtype])
        samples = pick(ids)
        self.add(rtype, ("_id", escape(samples[0])))
        self.add(rtype, ("_id", ",".join(escape(i) for i in samples)))
        self.add(rtype, ("_id", "zz-absent"))

    def last_updated(self, rtype: str) -> None:
        lus = sorted(it.last_updated_us for it in self.by_type[rtype])
        anchor = lus[len(lus) // 2]
        if rtype in FULL_LAST_UPDATED:
            precisions: Sequence[str] = PRECISIONS
            prefixes: Sequence[str] = PREFIXES
        else:
            precisions, prefixes = ("day", "second"), ("eq", "gt", "le")
        for precision in precisions:
            for prefix in prefixes:
                self.add(rtype, ("_lastUpdated", prefix + date_text(anchor, precision)))

    def sorts(self, rtype: str, params: dict[str, SearchParamDef], present: set[str]) -> None:
        if len(self.by_type[rtype]) < 3:
            return
        codes = [c for c in sorted(params) if c in present and params[c].type in SORTED_TYPES]
        for code in codes:
            self.add(rtype, ("_sort", code), sort=True)
            self.add(rtype, ("_sort", f"-{code}"), sort=True)
        self.add(rtype, ("_sort", "-_lastUpdated"), sort=True)
        self.add(rtype, ("_sort", "-_id"), sort=True)
        tokens = [c for c in codes if params[c].type == "token"]
        dates = [c for c in codes if params[c].type == "date"]
        if tokens and dates:
            self.add(rtype, ("_sort", f"{tokens[0]},-{dates[0]}"), sort=True)
            self.add(rtype, (f"{dates[0]}:missing", "false"), ("_sort", f"-{dates[0]}"), sort=True)


def generate(items: Sequence[Item], registry: SearchRegistry) -> Generator:
    gen = Generator(items, registry)
    gen.generate()
    return gen
