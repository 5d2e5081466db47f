"""One exception family for everything that becomes an OperationOutcome.

Nothing below ``api/`` raises HTTP exceptions: code raises one of these, and
``api/outcomes.py`` turns it into an OperationOutcome with the HTTP status in
exactly one place. Issue codes are from http://hl7.org/fhir/R4/valueset-issue-type.html.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Issue:
    """One OperationOutcome.issue."""

    severity: str  # fatal | error | warning | information
    code: str  # IssueType code: invalid, structure, required, value, not-found, ...
    diagnostics: str
    expression: tuple[str, ...] = ()
    details_code: str | None = None  # e.g. a constraint key or our own reason code
    details_system: str | None = None  # the CodeSystem of details_code (validation rule keys)

    def to_fhir(self) -> dict[str, Any]:
        out: dict[str, Any] = {"severity": self.severity, "code": self.code}
        if self.details_code:
            coding = {"code": self.details_code}
            if self.details_system:
                coding = {"system": self.details_system, "code": self.details_code}
            out["details"] = {"coding": [coding], "text": self.diagnostics}
        out["diagnostics"] = self.diagnostics
        if self.expression:
            out["expression"] = list(self.expression)
        return out


@dataclass
class FhirError(Exception):
    """Base error: carries the HTTP status and the issues."""

    diagnostics: str
    expression: tuple[str, ...] = ()
    issue_code: str = "processing"
    status: int = 500
    extra_issues: list[Issue] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__(self.diagnostics)

    @property
    def issues(self) -> list[Issue]:
        first = Issue("error", self.issue_code, self.diagnostics, tuple(self.expression))
        return [first, *self.extra_issues] if self.diagnostics else list(self.extra_issues)

    def __str__(self) -> str:
        return self.diagnostics


def _kind(status: int, code: str) -> Any:
    def init(
        self: FhirError,
        diagnostics: str,
        expression: tuple[str, ...] | list[str] | str = (),
        issue_code: str | None = None,
        extra_issues: list[Issue] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        if isinstance(expression, str):
            expression = (expression,)
        FhirError.__init__(
            self,
            diagnostics,
            tuple(expression),
            issue_code or code,
            status,
            list(extra_issues or []),
            dict(headers or {}),
        )

    return init


class InvalidError(FhirError):
    """400: the request or its content cannot be processed as sent."""

    __init__ = _kind(400, "invalid")


class UnprocessableError(FhirError):
    """422: well-formed content that breaks a rule (profile, business rule)."""

    __init__ = _kind(422, "processing")


class NotFoundError(FhirError):
    """404."""

    __init__ = _kind(404, "not-found")


class GoneError(FhirError):
    """410: the resource was deleted."""

    __init__ = _kind(410, "deleted")


class ConflictError(FhirError):
    """409: version conflict or duplicate."""

    __init__ = _kind(409, "conflict")


class PreconditionFailedError(FhirError):
    """412: If-Match or a conditional interaction's criteria failed."""

    __init__ = _kind(412, "conflict")


class MethodNotAllowedError(FhirError):
    """405."""

    __init__ = _kind(405, "not-supported")


class NotSupportedError(FhirError):
    """400 or 501-like refusals of a feature we do not offer in this context."""

    __init__ = _kind(400, "not-supported")


class UnsupportedMediaTypeError(FhirError):
    """415."""

    __init__ = _kind(415, "not-supported")


class NotAcceptableError(FhirError):
    """406."""

    __init__ = _kind(406, "not-supported")


class TooLargeError(FhirError):
    """413."""

    __init__ = _kind(413, "too-costly")


class TooCostlyError(FhirError):
    """400 too-costly (search caps)."""

    __init__ = _kind(400, "too-costly")


class ForbiddenError(FhirError):
    """403."""

    __init__ = _kind(403, "forbidden")


class InvalidResourceError(FhirError):
    """400 (or 422) carrying several validation issues."""

    def __init__(self, issues: list[Issue], status: int = 400) -> None:
        first = issues[0] if issues else Issue("error", "invalid", "invalid resource")
        FhirError.__init__(self, first.diagnostics, first.expression, first.code, status, list(issues[1:]))
        self.all_issues = issues

    @property
    def issues(self) -> list[Issue]:
        return list(self.all_issues)


#: The code system of the reason codes our scheme rules refuse with (``fhir_server/insurance``).
SCHEME_RULE_SYSTEM = "https://openimis.org/fhir/CodeSystem/scheme-rule"


class BusinessRuleError(FhirError):
    """A scheme rule refused the request (422 ``business-rule`` unless told otherwise).

    ``reason`` is the rule's stable reason code (``Decision.reason``), returned in
    ``issue.details.coding`` with :data:`SCHEME_RULE_SYSTEM`, so clients can act on it.
    """

    def __init__(
        self,
        diagnostics: str,
        expression: tuple[str, ...] | list[str] | str = (),
        reason: str | None = None,
        status: int = 422,
        issue_code: str = "business-rule",
        extra_issues: list[Issue] | None = None,
    ) -> None:
        if isinstance(expression, str):
            expression = (expression,)
        FhirError.__init__(
            self, diagnostics, tuple(expression), issue_code, status, list(extra_issues or []), {}
        )
        self.reason = reason

    @property
    def issues(self) -> list[Issue]:
        first = Issue(
            "error",
            self.issue_code,
            self.diagnostics,
            tuple(self.expression),
            self.reason,
            SCHEME_RULE_SYSTEM if self.reason else None,
        )
        return [first, *self.extra_issues]
