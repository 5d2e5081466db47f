"""The resource types a reference search parameter can point to ON ONE resource type.

A shared parameter lists the targets of all its bases: R4's ``clinical-patient`` (``patient``
on Observation, Encounter, ...) declares ``target: [Patient, Group]`` although its
Observation branch is ``Observation.subject.where(resolve() is Patient)``. search.html#chaining
lets a chain name the type only "for when the search parameter refers to multiple possible
target types"; ``Observation?patient.identifier=http://example.com/fhir/mrn|1234`` (an example
of search.html#errors) must not be ambiguous. So when every branch of the expression for the
type ends in ``.where(resolve() is X)``, the targets are those ``X`` (within the declared ones).
"""

from __future__ import annotations

import re

from .fhirpath_paths import branches_for
from .registry import SearchParamDef

__all__ = ["targets_on"]

_RESOLVE_IS = re.compile(r"\.where\(\s*resolve\(\)\s+is\s+([A-Z][A-Za-z]+)\s*\)\s*$")


def targets_on(spd: SearchParamDef, resource_type: str) -> tuple[str, ...]:
    """``spd.targets`` narrowed to what its expression allows on ``resource_type``."""
    if not spd.expression or not spd.targets:
        return spd.targets
    typed: list[str] = []
    for branch in branches_for(spd.expression, resource_type):
        m = _RESOLVE_IS.search(branch.strip())
        if m is None:
            return spd.targets
        typed.append(m.group(1))
    if not typed:
        return spd.targets
    narrowed = tuple(t for t in spd.targets if t in typed)
    return narrowed or spd.targets
