"""Profiles enforced on every write (create, update, patch, batch and transaction entries).

What is enforced (validation.html, profiling.html): every profile the resource claims in
``meta.profile`` that is known here (:mod:`fhir_server.validation.profiles`: stored, then
``profiles/``, then core), and the profiles the scheme requires per resource type
(``FHIR_REQUIRED_PROFILES=Patient=https://openimis.org/fhir/StructureDefinition/insuree,...``)
whether claimed or not. It runs after the base validation, so a profile is only checked
on a structurally valid resource.

A violation is refused with **422** Unprocessable Entity: http.html (create/update) "422
Unprocessable Entity - The proposed resource violated applicable FHIR profiles or server
business rules". The OperationOutcome lists every error (then the warnings), each with
the rule key in ``details.coding`` and the FHIRPath ``expression``. Nothing is looked up
for a resource that neither claims a profile nor has one required: that path costs one
dictionary lookup.
"""

from __future__ import annotations

from typing import Any

from ..errors import InvalidResourceError, Issue
from ..server import Server
from ..validation import has_errors

UNPROCESSABLE = 422


def _claims(resource: dict[str, Any]) -> bool:
    meta = resource.get("meta")
    return isinstance(meta, dict) and bool(meta.get("profile"))


async def enforce(server: Server, resource: dict[str, Any], *, completed: bool = False) -> list[Issue]:
    """Raise ``InvalidResourceError`` (422) when ``resource`` breaks a claimed or required
    profile; otherwise the warnings found.

    A type whose write hooks complete it (``scheme/hooks.py``) is enforced after the hooks
    (``completed``), on what will be stored."""
    profiles = server.profiles
    if profiles is None or (not completed and server.write_hooks.completes(resource.get("resourceType"))):
        return []
    demanded = profiles.required.get(str(resource.get("resourceType")), ())
    if not demanded and not _claims(resource):
        return []
    issues = await profiles.validate(resource, demanded=demanded)
    if has_errors(issues):
        ordered = sorted(issues, key=lambda i: i.severity not in ("fatal", "error"))
        raise InvalidResourceError(ordered, status=UNPROCESSABLE)
    return issues
