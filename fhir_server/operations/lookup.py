"""``CodeSystem/$lookup`` (codesystem-operation-lookup.html, OperationDefinition
CodeSystem-lookup): "Given a code/system, or a Coding, get additional details about the
concept, including definition, status, designations, and properties".

Inputs: ``code`` "The code that is to be located. If a code is provided, a system must be
provided", ``system``, ``version`` "The version of the system, if one was provided in the
source data", ``coding`` "A coding to look up", ``property`` (0..*) "A property that the
client wishes to be returned in the output. If no properties are specified, the server
chooses what to return" (we then return every property, ``parent``, ``child`` and the
designations), ``displayLanguage`` (ignored: one display per concept here), ``date``
(refused: only the current definitions are known). At instance level
(``CodeSystem/[id]/$lookup``) the CodeSystem is that resource.

Outputs: ``name`` "A display name for the code system", ``version``, ``display`` "The
preferred display for this concept", ``designation`` (``language``, ``use``, ``value``),
``property`` (``code``, ``value``), among them ``definition`` (for stored and
``terminology/`` CodeSystems; the shipped core keeps no definitions), ``parent``, ``child``.
"""

from __future__ import annotations

from typing import Any

from ..errors import InvalidError
from ..server import Server
from ..terminology.errors import TerminologyError
from ..terminology.model import CodeSystemContent, Designation
from .parameters import OperationParameters, required
from .terminology import fail

Json = dict[str, Any]

# CodeSystem.property.type -> the value[x] of the output property
VALUE_TYPES = {
    "code": "valueCode",
    "Coding": "valueCode",
    "string": "valueString",
    "integer": "valueInteger",
    "boolean": "valueBoolean",
    "dateTime": "valueDateTime",
}


async def run(server: Server, params: OperationParameters, instance: Json | None) -> Json:
    op = "$lookup"
    params.refuse("date")
    params.exclusive("code", "coding")
    coding = params.coding("coding")
    code = coding.code if coding else params.string("code")
    system = coding.system if coding else params.string("system")
    version = (coding.version if coding else None) or params.string("version")
    cs: CodeSystemContent | None = None
    if instance is not None:
        cs = CodeSystemContent.from_resource(instance)
        if system is not None and system != cs.url:
            raise InvalidError(
                f"{op}: system '{system}' is not the url of this CodeSystem ({cs.url})", "system"
            )
        system = cs.url
    if code is None:
        raise required(op, "code", "give code (with system) or coding")
    if not system:
        raise required(op, "coding.system" if coding else "system", "a code needs its system")
    wanted = set(params.values.get("property", []))
    try:
        found = await server.terminology.lookup(system, code, version, cs)
    except TerminologyError as err:
        raise fail(err, "code" if not coding else "coding") from None
    concept = found.concept
    out: list[Json] = [{"name": "name", "valueString": found.name}]
    if found.version:
        out.append({"name": "version", "valueString": found.version})
    out.append({"name": "display", "valueString": concept.display or concept.code})

    def want(name: str) -> bool:
        return not wanted or name in wanted

    if concept.definition and want("definition"):
        out.append(_property("definition", {"valueString": concept.definition}))
    if want("designation"):
        out += [_designation(d) for d in concept.designations]
    if want("parent"):
        out += [_property("parent", {"valueCode": p}) for p in concept.parents]
    if want("child"):
        out += [_property("child", {"valueCode": c}) for c in found.children]
    for key, value in concept.properties.items():
        if want(key):
            out.append(_property(key, _value(found.property_types.get(key), value)))
    return {"resourceType": "Parameters", "parameter": out}


def _property(code: str, value: Json) -> Json:
    return {"name": "property", "part": [{"name": "code", "valueCode": code}, {"name": "value", **value}]}


def _value(kind: str | None, value: str) -> Json:
    key = VALUE_TYPES.get(kind or "string", "valueString")
    if key == "valueBoolean":
        return {key: value == "true"}
    if key == "valueInteger":
        try:
            return {key: int(value)}
        except ValueError:
            return {"valueString": value}
    return {key: value}


def _designation(d: Designation) -> Json:
    parts: list[Json] = []
    if d.language:
        parts.append({"name": "language", "valueCode": d.language})
    if d.use_code or d.use_system:
        use = {k: v for k, v in (("system", d.use_system), ("code", d.use_code)) if v}
        parts.append({"name": "use", "valueCoding": use})
    parts.append({"name": "value", "valueString": d.value})
    return {"name": "designation", "part": parts}
