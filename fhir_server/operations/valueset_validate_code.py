"""``ValueSet/$validate-code`` (valueset-operation-validate-code.html, OperationDefinition
ValueSet-validate-code): "Validate that a coded value is in the set of codes allowed by a
value set".

Inputs: ``url`` "Value set Canonical URL. The server must know the value set",
``valueSet`` "The value set is provided directly as part of the request",
``valueSetVersion``, ``code`` "If a code is provided, a system or a context must be
provided", ``system``, ``systemVersion``, ``display``, ``coding``, ``codeableConcept``
"The server returns true if one of the coding values is in the value set"; ``context``
and ``date`` refused, ``abstract`` and ``displayLanguage`` ignored. At instance level the
ValueSet is that resource. Membership uses the same expansion (``Terminology.expand``,
cached per reference) as the ``:in``/``:not-in`` search modifiers, so a ValueSet we cannot
enumerate is refused (400 not-supported / too-costly), never answered from part of it.
Outputs: ``result``, ``message``, ``display``.
"""

from __future__ import annotations

from typing import Any

from ..errors import InvalidError
from ..server import Server
from ..terminology.errors import TerminologyError
from ..terminology.expand import Code
from ..terminology.model import ValueSetDefinition
from ..terminology.results import CodeValidation
from .parameters import OperationParameters, required
from .terminology import fail
from .validate_code_common import codings_of, merge, parameters

Json = dict[str, Any]


async def resolve(
    server: Server, params: OperationParameters, instance: Json | None, id: str | None
) -> tuple[frozenset[Code], str, str]:
    """The codes of the ValueSet the request names (``url``, ``valueSet`` or the instance),
    its label and the parameter that named it (shared with ``$expand``)."""
    op = params.operation
    params.refuse("context", "date")
    params.exclusive("url", "valueSet")
    body = params.resource("valueSet", "ValueSet")
    url = params.string("url")
    version = params.string("valueSetVersion")
    terminology = server.terminology
    if instance is not None:
        if url is not None or body is not None:
            raise InvalidError(
                f"{op}: the ValueSet is this instance: give no url/valueSet", "url" if url else "valueSet"
            )
        where, label = "id", str(instance.get("url") or f"ValueSet/{id}")
        ref = f"ValueSet/{instance.get('id', id)}"
    elif body is not None:
        where, label, ref = "valueSet", str(body.get("url") or "(in the request)"), ""
    elif url is not None:
        if version and "|" in url:
            raise InvalidError(
                f"{op}: give the version in url or in valueSetVersion, not both", "valueSetVersion"
            )
        where, label, ref = "url", url, f"{url}|{version}" if version else url
    else:
        raise required(op, "url", "name the ValueSet (url or valueSet) or call the operation on one")
    try:
        if body is not None:
            codes = await terminology.expand_definition(ValueSetDefinition.from_resource(body))
        else:
            codes = await terminology.expand(ref)
    except TerminologyError as err:
        raise fail(err, where) from None
    return codes, label, where


async def run(server: Server, params: OperationParameters, instance: Json | None) -> Json:
    op = "$validate-code"
    codes, label, _ = await resolve(server, params, instance, instance.get("id") if instance else None)
    codings, given_as = codings_of(params, "system", "systemVersion")
    results: list[CodeValidation] = []
    for c in codings:
        if not c.system:
            where = "system" if given_as == "code" else f"{given_as}.system"
            raise required(op, where, "a code needs its system to be checked against a ValueSet")
        try:
            results.append(
                await server.terminology.check_in_valueset(
                    codes, label, c.system, c.code, c.display, c.version
                )
            )
        except TerminologyError as err:
            raise fail(err, given_as) from None
    return parameters(merge(results))
