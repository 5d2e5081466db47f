"""``CodeSystem/$subsumes`` (codesystem-operation-subsumes.html, OperationDefinition
CodeSystem-subsumes): "Test the subsumption relationship between code/Coding A and
code/Coding B given the semantics of subsumption in the underlying code system".

Inputs: ``codeA``, ``codeB`` "If a code is provided, a system must be provided";
``system`` "The code system in which subsumption testing is to be performed. This must be
provided unless the operation is invoked on a code system instance"; ``version``;
``codingA``, ``codingB`` (their systems must be that code system here: we test within one
CodeSystem's is-a hierarchy). Output ``outcome``: equivalent | subsumes | subsumed-by |
not-subsumed (``subsumes``: A is an ancestor of B).
"""

from __future__ import annotations

from typing import Any

from ..errors import InvalidError
from ..server import Server
from ..terminology.errors import TerminologyError
from ..terminology.model import CodeSystemContent
from .parameters import OperationParameters, required
from .terminology import fail

Json = dict[str, Any]


async def run(server: Server, params: OperationParameters, instance: Json | None) -> Json:
    op = "$subsumes"
    params.exclusive("codeA", "codingA")
    params.exclusive("codeB", "codingB")
    system = params.string("system")
    version = params.string("version")
    cs: CodeSystemContent | None = None
    if instance is not None:
        cs = CodeSystemContent.from_resource(instance)
        if system is not None and system != cs.url:
            raise InvalidError(
                f"{op}: system '{system}' is not the url of this CodeSystem ({cs.url})", "system"
            )
        system = cs.url
    codes: list[str] = []
    for side in ("A", "B"):
        coding = params.coding(f"coding{side}")
        if coding is not None:
            if coding.system is None:
                raise required(op, f"coding{side}.system", f"coding{side} needs its system")
            if system is None:
                system = coding.system
            elif coding.system != system:
                raise InvalidError(
                    f"{op}: coding{side} is from {coding.system}, not {system}: subsumption is tested "
                    "within one CodeSystem here",
                    f"coding{side}.system",
                    issue_code="not-supported",
                )
            codes.append(coding.code)
            continue
        code = params.string(f"code{side}")
        if code is None:
            raise required(op, f"code{side}", f"give code{side} or coding{side}")
        codes.append(code)
    if system is None:
        raise required(op, "system", "codeA/codeB need the system they are from")
    try:
        outcome = await server.terminology.subsumes(system, codes[0], codes[1], version, cs)
    except TerminologyError as err:
        where = "system"
        message = err.message
        if "Code A" in message:
            where = "codingA" if params.has("codingA") else "codeA"
        elif "Code B" in message:
            where = "codingB" if params.has("codingB") else "codeB"
        raise fail(err, where) from None
    return {"resourceType": "Parameters", "parameter": [{"name": "outcome", "valueCode": outcome}]}
