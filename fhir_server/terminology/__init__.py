"""Terminology: CodeSystems and ValueSets (codesystem.html, valueset.html).

``Terminology`` (``service.py``) expands ValueSets and answers subsumption over the
resources stored in the server, the top-level ``terminology/`` folder and the shipped R4
core; ``search_modifiers.py`` uses it for the token search modifiers ``:in``, ``:not-in``,
``:below`` and ``:above``. Errors are ``TerminologyError``s carrying their issue code.
"""

from .errors import (
    InvalidCodeError,
    NotSupportedError,
    TerminologyError,
    TooCostlyError,
    UnknownResourceError,
)
from .expand import Code
from .model import CodeSystemContent, ValueSetDefinition
from .service import DEFAULT_LIMIT, Direction, Terminology

__all__ = [
    "DEFAULT_LIMIT",
    "Code",
    "CodeSystemContent",
    "Direction",
    "InvalidCodeError",
    "NotSupportedError",
    "Terminology",
    "TerminologyError",
    "TooCostlyError",
    "UnknownResourceError",
    "ValueSetDefinition",
]
