"""The input parameters of an operation, from a GET query or a POST ``Parameters`` body.

operations.html#request: "If the operation does not affect state ... and all the in
parameters are primitive types, the operation may be invoked using GET, with the
parameters as HTTP URL parameters"; otherwise the body is "a special infrastructure
resource type called Parameters", one ``parameter`` per value with its ``name`` and a
``value[x]`` or a ``resource``. So a complex parameter (Coding, CodeableConcept, a whole
ValueSet) needs POST; a GET that names one is refused (400) rather than guessed at.

Every error names the parameter in ``expression`` (its name), with issue code
``invalid`` (malformed, or a 0..1 parameter repeated), ``required`` (missing) or
``not-supported``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidError, NotSupportedError

Json = dict[str, Any]

_INTEGER = re.compile(r"^-?[0-9]{1,9}$")


@dataclass(frozen=True)
class Coding:
    system: str | None
    code: str
    version: str | None = None
    display: str | None = None


class OperationParameters:
    """Named values of one invocation (``name`` -> list of values: str for primitives given
    in a query; the JSON value (primitive, dict for Coding/CodeableConcept/resources) for
    ``Parameters``)."""

    def __init__(self, operation: str, values: dict[str, list[Any]], from_query: bool) -> None:
        self.operation = operation
        self.values = values
        self.in_query = from_query

    @classmethod
    def from_query(cls, operation: str, params: Iterable[tuple[str, str]]) -> OperationParameters:
        values: dict[str, list[Any]] = {}
        for name, value in params:
            values.setdefault(name, []).append(value)
        return cls(operation, values, True)

    @classmethod
    def from_body(
        cls, operation: str, body: Any, query: Iterable[tuple[str, str]] = ()
    ) -> OperationParameters:
        if not isinstance(body, dict) or body.get("resourceType") != "Parameters":
            raise InvalidError(
                f"POST {operation} expects a Parameters resource as its body",
                "Parameters",
                issue_code="structure",
            )
        values: dict[str, list[Any]] = {}
        for name, text in query:
            values.setdefault(name, []).append(text)
        for i, p in enumerate(body.get("parameter", []) or []):
            if not isinstance(p, dict) or not isinstance(p.get("name"), str):
                raise InvalidError(
                    f"Parameters.parameter[{i}] has no name",
                    f"Parameters.parameter[{i}]",
                    issue_code="structure",
                )
            value: Any
            if "resource" in p:
                value = p["resource"]
            else:
                keys = [k for k in p if k.startswith("value")]
                if len(keys) != 1:
                    raise InvalidError(
                        f"Parameter '{p['name']}' needs exactly one value[x] or a resource",
                        p["name"],
                        issue_code="structure",
                    )
                value = p[keys[0]]
            values.setdefault(p["name"], []).append(value)
        return cls(operation, values, False)

    # ------------------------------------------------------------------ accessors

    def has(self, name: str) -> bool:
        return name in self.values

    def _one(self, name: str) -> Any:
        got = self.values.get(name)
        if not got:
            return None
        if len(got) > 1:
            raise InvalidError(f"{self.operation}: parameter '{name}' may be given once only", name)
        return got[0]

    def string(self, name: str) -> str | None:
        value = self._one(name)
        if value is None:
            return None
        if isinstance(value, dict | list | bool):
            raise InvalidError(f"{self.operation}: parameter '{name}' must be a primitive value", name)
        text = str(value)
        if not text.strip():
            raise InvalidError(f"{self.operation}: parameter '{name}' is empty", name)
        return text

    def boolean(self, name: str, default: bool = False) -> bool:
        value = self._one(name)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        if value in ("true", "false"):
            return bool(value == "true")
        raise InvalidError(f"{self.operation}: parameter '{name}' must be true or false, not '{value}'", name)

    def integer(self, name: str, minimum: int = 0) -> int | None:
        value = self._one(name)
        if value is None:
            return None
        if isinstance(value, bool) or not (
            isinstance(value, int) or (isinstance(value, str) and _INTEGER.match(value))
        ):
            raise InvalidError(
                f"{self.operation}: parameter '{name}' must be an integer, not '{value}'", name
            )
        number = int(value)
        if number < minimum:
            raise InvalidError(f"{self.operation}: parameter '{name}' must be at least {minimum}", name)
        return number

    def complex(self, name: str, kind: str) -> Json | None:
        value = self._one(name)
        if value is None:
            return None
        if self.in_query and isinstance(value, str):
            raise NotSupportedError(
                f"{self.operation}: parameter '{name}' is a {kind}: send it in a Parameters body with POST",
                name,
            )
        if not isinstance(value, dict):
            raise InvalidError(f"{self.operation}: parameter '{name}' must be a {kind}", name)
        return value

    def resource(self, name: str, resource_type: str) -> Json | None:
        value = self.complex(name, resource_type)
        if value is not None and value.get("resourceType") != resource_type:
            raise InvalidError(
                f"{self.operation}: parameter '{name}' must be a {resource_type} resource", name
            )
        return value

    def coding(self, name: str) -> Coding | None:
        value = self.complex(name, "Coding")
        return None if value is None else to_coding(self.operation, value, name)

    def codings(self, name: str) -> list[Coding] | None:
        """The codings of a CodeableConcept parameter."""
        value = self.complex(name, "CodeableConcept")
        if value is None:
            return None
        raw = value.get("coding")
        if not isinstance(raw, list) or not raw:
            raise InvalidError(f"{self.operation}: parameter '{name}' has no coding", f"{name}.coding")
        return [to_coding(self.operation, c, f"{name}.coding[{i}]") for i, c in enumerate(raw)]

    def refuse(self, *names: str) -> None:
        """Parameters we do not support, refused rather than ignored (they change the answer)."""
        for name in names:
            if self.has(name):
                raise NotSupportedError(f"{self.operation}: parameter '{name}' is not supported here", name)

    def exclusive(self, *names: str) -> None:
        given = [n for n in names if self.has(n)]
        if len(given) > 1:
            raise InvalidError(
                f"{self.operation}: give only one of {', '.join(names)} (got {', '.join(given)})", given[1]
            )


def to_coding(operation: str, value: Any, where: str) -> Coding:
    if not isinstance(value, dict):
        raise InvalidError(f"{operation}: {where} must be a Coding", where)
    code = value.get("code")
    if not isinstance(code, str) or not code:
        raise InvalidError(f"{operation}: {where} has no code", f"{where}.code", issue_code="required")
    system = value.get("system")
    version = value.get("version")
    display = value.get("display")
    return Coding(
        system if isinstance(system, str) else None,
        code,
        version if isinstance(version, str) else None,
        display if isinstance(display, str) else None,
    )


def required(operation: str, name: str, what: str) -> InvalidError:
    return InvalidError(f"{operation}: {what}", name, issue_code="required")  # type: ignore[no-any-return]
