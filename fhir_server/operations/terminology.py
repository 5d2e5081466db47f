"""The terminology operations (terminology-service.html), dispatched on path segments.

GET|POST [base]/CodeSystem[/[id]]/$lookup          lookup.py
GET|POST [base]/CodeSystem[/[id]]/$validate-code   codesystem_validate_code.py
GET|POST [base]/CodeSystem[/[id]]/$subsumes        subsumes.py
GET|POST [base]/ValueSet[/[id]]/$expand            expand.py
GET|POST [base]/ValueSet[/[id]]/$validate-code     valueset_validate_code.py
GET|POST [base]/ConceptMap[/[id]]/$translate       translate.py

All of them go through the one ``Terminology`` service (``server.terminology``), which the
token search modifiers ``:in``/``:not-in``/``:below``/``:above`` use too, over the same
sources (stored resources, the ``terminology/`` folder, the shipped R4 core).

Errors: a CodeSystem, ValueSet or ConceptMap that the request names and that is not
known here is ``404 not-found`` (as for a read of an unknown resource; the expression
names the parameter that named it); bad or missing parameters are ``400`` (``invalid`` /
``required``); content we cannot enumerate or judge is ``400 not-supported``; an
expansion over the limit is ``400 too-costly``. A code that is not in a ValueSet or
CodeSystem is not an error for ``$validate-code`` (``result`` = false), but it is for
``$lookup`` and ``$subsumes`` (``400 code-invalid``), which have no way to say so in
their outputs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from ..errors import FhirError, GoneError, NotFoundError
from ..fhirjson import loads
from ..server import Server
from ..terminology.errors import TerminologyError, UnknownResourceError, to_fhir_error
from .parameters import OperationParameters

Json = dict[str, Any]
Handler = Callable[[Server, OperationParameters, "Json | None"], Awaitable[Json]]

CORE_DEFINITIONS = {
    ("CodeSystem", "$lookup"): "http://hl7.org/fhir/OperationDefinition/CodeSystem-lookup",
    ("CodeSystem", "$validate-code"): "http://hl7.org/fhir/OperationDefinition/CodeSystem-validate-code",
    ("CodeSystem", "$subsumes"): "http://hl7.org/fhir/OperationDefinition/CodeSystem-subsumes",
    ("ValueSet", "$expand"): "http://hl7.org/fhir/OperationDefinition/ValueSet-expand",
    ("ValueSet", "$validate-code"): "http://hl7.org/fhir/OperationDefinition/ValueSet-validate-code",
    ("ConceptMap", "$translate"): "http://hl7.org/fhir/OperationDefinition/ConceptMap-translate",
}


def capability_operations(resource_type: str) -> list[Json] | None:
    """CapabilityStatement.rest.resource.operation of ``resource_type`` (None: none)."""
    ops = [
        {"name": name[1:], "definition": url}
        for (rtype, name), url in CORE_DEFINITIONS.items()
        if rtype == resource_type
    ]
    return ops or None


def handles(segments: list[str]) -> bool:
    """Whether ``segments`` is ``[type, $op]`` or ``[type, id, $op]`` of a terminology operation."""
    return len(segments) in (2, 3) and (segments[0], segments[-1]) in CORE_DEFINITIONS


def _handler(resource_type: str, name: str) -> Handler:
    from . import codesystem_validate_code, expand, lookup, subsumes, translate, valueset_validate_code

    table: dict[tuple[str, str], Handler] = {
        ("CodeSystem", "$lookup"): lookup.run,
        ("CodeSystem", "$validate-code"): codesystem_validate_code.run,
        ("CodeSystem", "$subsumes"): subsumes.run,
        ("ValueSet", "$expand"): expand.run,
        ("ValueSet", "$validate-code"): valueset_validate_code.run,
        ("ConceptMap", "$translate"): translate.run,
    }
    return table[(resource_type, name)]


async def operation(
    server: Server, segments: list[str], query: list[tuple[str, str]], body: Any | None
) -> Json:
    """The response body of the operation on ``segments`` (GET: ``body`` is None)."""
    resource_type, name = segments[0], segments[-1]
    params = (
        OperationParameters.from_query(name, query)
        if body is None
        else OperationParameters.from_body(name, body, query)
    )
    instance = await read_instance(server, resource_type, segments[1]) if len(segments) == 3 else None
    return await _handler(resource_type, name)(server, params, instance)


async def read_instance(server: Server, resource_type: str, id: str) -> Json:
    stored = await server.store.read(resource_type, id)
    if stored is None:
        raise NotFoundError(f"{resource_type}/{id} is not known")
    if stored.deleted:
        raise GoneError(f"{resource_type}/{id} is deleted")
    body: Json = loads(stored.body)
    return body


def fail(err: TerminologyError, expression: str) -> FhirError:
    """A terminology error as the OperationOutcome of an operation (see the module docstring)."""
    if isinstance(err, UnknownResourceError):
        return NotFoundError(err.message, expression)  # type: ignore[no-any-return]
    return to_fhir_error(err, expression)
