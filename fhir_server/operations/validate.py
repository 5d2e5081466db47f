"""``$validate``: validate a resource without storing it (Resource-validate, R4).

OperationDefinition http://hl7.org/fhir/OperationDefinition/Resource-validate:
``[base]/[Resource]/$validate`` and ``[base]/[Resource]/[id]/$validate``; in:
``resource`` (0..1), ``mode`` (0..1: create | update | delete | profile), ``profile``
(0..1 uri); out: ``return`` (1..1 OperationOutcome): "If the operation outcome does not
list any errors, and a mode was specified, then this is an indication that the operation
would be expected to succeed". The answer is always **200** with the OperationOutcome
(an information issue "All OK" when nothing is found); never anything stored.

* ``POST [base]/Type/$validate`` with the resource as body, or a ``Parameters`` with
  ``resource``, ``mode`` and ``profile``.
* ``POST [base]/Type/id/$validate``: ``mode=update`` also checks the id of the resource
  matches (as an update would); ``mode=delete`` checks the stored resource exists (no
  body needed).
* ``GET [base]/Type/id/$validate?profile=url``: the stored current version, against
  ``profile`` (and what it claims).
* ``GET``/``POST`` query parameters ``mode`` and ``profile`` are read too.

What is checked: the base validation of every write (structure, bindings, base
invariants), then the profiles (:mod:`fhir_server.validation.profiles`): the ones it
claims in ``meta.profile``, those required for its type by ``FHIR_REQUIRED_PROFILES``, and
``profile`` (an unknown ``profile`` is an error: the client asked for it by name).
"""

from __future__ import annotations

from typing import Any

import orjson

from ..errors import Issue, MethodNotAllowedError, NotFoundError
from ..server import Server
from ..validation import validate_resource

Json = dict[str, Any]
NAME = "$validate"
MODES = ("create", "update", "delete", "profile")


def outcome(issues: list[Issue]) -> Json:
    if not issues:
        issues = [Issue("information", "informational", "All OK: no issues found")]
    ordered = sorted(issues, key=lambda i: {"fatal": 0, "error": 1, "warning": 2}.get(i.severity, 3))
    return {"resourceType": "OperationOutcome", "issue": [i.to_fhir() for i in ordered]}


def _arguments(body: Any, params: list[tuple[str, str]]) -> tuple[Json | None, str | None, str | None]:
    query = dict(params)
    resource: Json | None = None
    mode, profile = query.get("mode"), query.get("profile")
    if (
        isinstance(body, dict)
        and body.get("resourceType") == "Parameters"
        and any(
            isinstance(p, dict) and p.get("name") in ("resource", "mode", "profile")
            for p in body.get("parameter") or []
        )
    ):
        for p in body.get("parameter") or []:
            if not isinstance(p, dict):
                continue
            if p.get("name") == "resource" and isinstance(p.get("resource"), dict):
                resource = p["resource"]
            elif p.get("name") == "mode":
                mode = p.get("valueCode") or p.get("valueString") or mode
            elif p.get("name") == "profile":
                profile = p.get("valueUri") or p.get("valueCanonical") or p.get("valueString") or profile
    elif isinstance(body, dict):
        resource = body
    return resource, mode, profile


async def operation(
    server: Server, method: str, segments: list[str], params: list[tuple[str, str]], body: Any
) -> Json:
    """The OperationOutcome of ``$validate`` on ``segments`` (``[Type]`` or ``[Type, id]``)."""
    target = segments[:-1]
    if method not in ("GET", "POST"):
        raise MethodNotAllowedError(f"{method} is not allowed on $validate (allowed: GET, POST)")
    if not target or len(target) > 2:
        raise NotFoundError("$validate is a type or instance operation: [base]/[Type][/id]/$validate")
    rtype = target[0]
    if not server.definitions.is_resource_type(rtype):
        raise NotFoundError(f"Unknown resource type '{rtype}'", issue_code="not-supported")
    id = target[1] if len(target) == 2 else None
    resource, mode, profile = _arguments(body if method == "POST" else None, params)
    issues: list[Issue] = []
    if mode is not None and mode not in MODES:
        issues.append(
            Issue("error", "value", f"Unknown mode '{mode}' (allowed: {', '.join(MODES)})", ("mode",))
        )
        return outcome(issues)
    stored: Json | None = None
    if id is not None and (resource is None or mode == "delete"):
        current = await server.store.read(rtype, id)
        if current is None or current.deleted:
            if mode == "delete":
                issues.append(
                    Issue("information", "not-found", f"{rtype}/{id} does not exist: nothing to delete")
                )
                return outcome(issues)
            raise NotFoundError(f"{rtype}/{id} does not exist")
        stored = orjson.loads(current.body)
    if mode == "delete":
        return outcome(issues)  # no referential integrity rules to break here
    if resource is None:
        resource = stored
    if resource is None:
        issues.append(Issue("error", "required", "No resource to validate (body or parameter 'resource')"))
        return outcome(issues)
    if id is not None and mode == "update" and resource.get("id") != id:
        issues.append(
            Issue(
                "error",
                "invalid",
                f"The resource id ('{resource.get('id')}') does not match the URL ('{id}')",
                (f"{rtype}.id",),
            )
        )
    issues.extend(validate_resource(resource, expected_type=rtype))
    structural = [i for i in issues if i.severity in ("fatal", "error") and i.code != "invariant"]
    if structural or server.profiles is None:
        return outcome(issues)  # profiles say nothing useful about a malformed resource
    demanded = list(server.profiles.required.get(rtype, ()))
    if profile:
        demanded.append(profile)
    issues.extend(await server.profiles.validate(resource, demanded=demanded))
    return outcome(issues)
