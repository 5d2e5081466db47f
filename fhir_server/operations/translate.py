"""``ConceptMap/$translate`` (conceptmap-operation-translate.html, OperationDefinition
ConceptMap-translate): "Translate a code from one value set to another, based on the
existing value set and concept maps resources, and/or other additional knowledge available
to the server".

Inputs: ``url`` "A canonical URL for a concept map", ``conceptMap`` "The concept map is
provided directly as part of the request", ``conceptMapVersion``; at instance level that
ConceptMap; otherwise every ConceptMap known here with a group from the code's system
(stored, ``terminology/``, core). ``code`` "If a code is provided, a system must be
provided", ``system``, ``version``, ``coding``, ``codeableConcept`` ("The server can
translate any of the coding values": we translate each); ``source`` "Identifies the value
set used when the concept (system/code pair) was chosen", ``target`` "Identifies the value
set in which a translation is sought", ``targetsystem`` "identifies a target code system
in which a mapping is sought"; ``reverse`` "if this is true, then the operation should
return all the codes that might be mapped to this code. This parameter reverses the
meaning of the source and target parameters"; ``dependency`` is refused (no dependsOn
evaluation here).

Outputs: ``result`` "True if the concept could be translated successfully. The value can
only be true if at least one returned match has an equivalence which is not unmatched or
disjoint", ``message``, ``match`` (``equivalence``, ``concept`` Coding, ``source`` the
ConceptMap's url).
"""

from __future__ import annotations

from typing import Any

from ..errors import InvalidError, NotFoundError
from ..server import Server
from ..terminology.conceptmap import ConceptMapContent
from .parameters import Coding, OperationParameters, required

Json = dict[str, Any]


async def run(server: Server, params: OperationParameters, instance: Json | None) -> Json:
    op = "$translate"
    params.refuse("dependency", "date")
    params.exclusive("url", "conceptMap")
    params.exclusive("code", "coding", "codeableConcept")
    params.exclusive("target", "targetsystem")
    body = params.resource("conceptMap", "ConceptMap")
    url = params.string("url")
    version = params.string("conceptMapVersion")
    reverse = params.boolean("reverse")
    coding = params.coding("coding")
    codings = [coding] if coding is not None else params.codings("codeableConcept")
    if codings is None:
        code = params.string("code")
        if code is None:
            raise required(op, "code", "give code (with system), coding or codeableConcept")
        system = params.string("system")
        if system is None:
            raise required(op, "system", "a code needs its system")
        codings = [Coding(system, code, params.string("version"))]
    for i, c in enumerate(codings):
        if not c.system:
            raise required(
                op, "coding.system" if coding else f"codeableConcept.coding[{i}].system", "needs a system"
            )
    maps: list[ConceptMapContent] | None = None
    if instance is not None:
        if url is not None or body is not None:
            raise InvalidError(f"{op}: the ConceptMap is this instance: give no url/conceptMap", "url")
        maps = [ConceptMapContent.from_resource(instance)]
    elif body is not None:
        maps = [ConceptMapContent.from_resource(body)]
    elif url is not None:
        cm = await server.terminology.conceptmap(
            url.partition("|")[0], version or url.partition("|")[2] or None
        )
        if cm is None:
            raise NotFoundError(f"ConceptMap {url} is not known here", "url")
        maps = [cm]
    matches: list[Json] = []
    messages: list[str] = []
    ok = False
    for c in codings:
        assert c.system is not None
        candidates = maps if maps is not None else await server.terminology.conceptmaps_for(c.system, reverse)
        found = await server.terminology.translate(
            c.system,
            c.code,
            candidates,
            source=params.string("source"),
            target=params.string("target"),
            target_system=params.string("targetsystem"),
            reverse=reverse,
        )
        ok = ok or found.result
        if found.message:
            messages.append(found.message)
        for m in found.matches:
            concept = {k: v for k, v in (("system", m.system), ("code", m.code), ("display", m.display)) if v}
            matches.append(
                {
                    "name": "match",
                    "part": [
                        {"name": "equivalence", "valueCode": m.equivalence},
                        {"name": "concept", "valueCoding": concept},
                        {"name": "source", "valueUri": m.source},
                    ],
                }
            )
    out: list[Json] = [{"name": "result", "valueBoolean": ok}]
    if messages:
        out.append({"name": "message", "valueString": "; ".join(messages)})
    return {"resourceType": "Parameters", "parameter": out + matches}
