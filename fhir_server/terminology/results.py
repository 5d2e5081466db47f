"""What the terminology service answers to the terminology operations (``$lookup``,
``$validate-code``, ``$expand``, ``$subsumes``, ``$translate``), independent of how the
operation layer (``fhir_server/operations/``) writes them as ``Parameters`` or ``ValueSet``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .conceptmap import Match
from .model import Concept, Designation


@dataclass(frozen=True)
class LookupResult:
    """CodeSystem-lookup's outputs: ``name`` "A display name for the code system",
    ``version``, ``display`` "The preferred display for this concept", ``designation``,
    ``property`` (with ``parent`` and ``child``)."""

    system: str
    name: str
    version: str | None
    concept: Concept
    children: tuple[str, ...]
    property_types: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CodeValidation:
    """``$validate-code`` outputs: ``result`` "True if the concept details supplied are
    valid", ``message`` "Error details, if result = false. If this is provided when result =
    true, the message carries hints and warnings", ``display`` "A valid display for the
    concept"."""

    result: bool
    message: str | None = None
    display: str | None = None


@dataclass(frozen=True)
class ExpansionEntry:
    """One ``ValueSet.expansion.contains``."""

    system: str
    code: str
    display: str
    version: str | None = None
    designations: tuple[Designation, ...] = ()


@dataclass(frozen=True)
class Translation:
    """ConceptMap-translate outputs: ``result`` (a match other than unmatched/disjoint),
    ``message`` and the ``match``es."""

    result: bool
    matches: tuple[Match, ...]
    message: str | None = None
