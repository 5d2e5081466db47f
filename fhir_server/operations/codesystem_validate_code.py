"""``CodeSystem/$validate-code`` (codesystem-operation-validate-code.html, OperationDefinition
CodeSystem-validate-code): "Validate that a coded value is in the code system".

Inputs: ``url`` "CodeSystem URL. The server must know the code system", ``codeSystem``
"The codeSystem is provided directly as part of the request", ``code``, ``version``,
``display`` "The display associated with the code, if provided ... Whether displays are
case sensitive is code system dependent" (we compare trimmed and case-folded, against the
display and the designations), ``coding`` "The system must match the specified code
system", ``codeableConcept`` "The server returns true if one of the coding values is in
the code system"; ``date`` refused, ``abstract`` and ``displayLanguage`` ignored. At
instance level the CodeSystem is that resource. Without ``url`` a ``coding`` names its
system. Outputs: ``result``, ``message``, ``display``.
"""

from __future__ import annotations

from typing import Any

from ..errors import InvalidError
from ..server import Server
from ..terminology.errors import TerminologyError
from ..terminology.model import CodeSystemContent
from ..terminology.results import CodeValidation
from .parameters import OperationParameters, required
from .terminology import fail
from .validate_code_common import codings_of, merge, parameters

Json = dict[str, Any]


async def run(server: Server, params: OperationParameters, instance: Json | None) -> Json:
    op = "$validate-code"
    params.refuse("date")
    params.exclusive("url", "codeSystem")
    body = params.resource("codeSystem", "CodeSystem")
    url = params.string("url")
    version = params.string("version")
    if instance is not None and (url is not None or body is not None):
        raise InvalidError(
            f"{op}: the CodeSystem is this instance: give no url/codeSystem", "url" if url else "codeSystem"
        )
    codings, given_as = codings_of(params, "url", "version", None)
    cs: CodeSystemContent | None = None
    where = "url"
    if instance is not None:
        cs = CodeSystemContent.from_resource(instance)
    elif body is not None:
        cs, where = CodeSystemContent.from_resource(body), "codeSystem"
    else:
        url = url or next((c.system for c in codings if c.system), None)
        if url is None:
            raise required(op, "url", "name the CodeSystem (url, codeSystem, or a coding with its system)")
        try:
            cs = await server.terminology.known_codesystem(url, version)
        except TerminologyError as err:
            raise fail(err, "url") from None
    results: list[CodeValidation] = []
    for c in codings:
        if c.system is not None and c.system != cs.url and given_as != "code":
            results.append(
                CodeValidation(False, f"The coding's system {c.system} is not the CodeSystem {cs.url}")
            )
            continue
        try:
            results.append(server.terminology.check_in_codesystem(cs, c.code, c.display))
        except TerminologyError as err:
            raise fail(err, where) from None
    return parameters(merge(results))
