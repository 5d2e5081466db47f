"""Terminology errors, independent of who asked (a search modifier, ``$expand`` later).

Each carries the OperationOutcome issue code (valueset-issue-type) its caller reports;
``to_fhir_error`` gives the 400 InvalidError naming the element or parameter.
"""

from __future__ import annotations

from ..errors import FhirError, InvalidError


class TerminologyError(Exception):
    """A ValueSet or CodeSystem that cannot be used as asked."""

    issue_code = "processing"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UnknownResourceError(TerminologyError):
    """No ValueSet / CodeSystem with that url (or id) in any source."""

    issue_code = "not-found"


class NotSupportedError(TerminologyError):
    """Content we cannot expand (a CodeSystem without content, such as SNOMED CT or LOINC,
    an unsupported filter, a code system that is not hierarchical for subsumption)."""

    issue_code = "not-supported"


class TooCostlyError(TerminologyError):
    """The expansion would exceed the configured bound (never a partial answer)."""

    issue_code = "too-costly"


class InvalidCodeError(TerminologyError):
    """A code that the CodeSystem does not define."""

    issue_code = "code-invalid"


def to_fhir_error(err: TerminologyError, expression: str) -> FhirError:
    return InvalidError(err.message, expression, issue_code=err.issue_code)  # type: ignore[no-any-return]
