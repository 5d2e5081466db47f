"""RFC 6902 JSON Patch on FHIR resources: behaviour beyond the official cases."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from fhir_server import fhirjson
from fhir_server.errors import InvalidError, UnprocessableError
from fhir_server.patch import apply_json_patch
from fhir_server.patch.json_patch import json_equal

OBS = fhirjson.loads(
    b'{"resourceType":"Observation","id":"o1","status":"final","code":{"text":"x"},'
    b'"valueQuantity":{"value":1.50,"unit":"mg"},"component":[{"code":{"text":"a"},'
    b'"valueQuantity":{"value":2.0}}]}'
)


def test_decimals_stay_decimals_with_their_precision() -> None:
    out = apply_json_patch(
        OBS,
        [
            {"op": "copy", "from": "/valueQuantity/value", "path": "/component/0/valueQuantity/value"},
            {"op": "add", "path": "/component/-", "value": {"valueQuantity": {"value": Decimal("3.100")}}},
            {"op": "test", "path": "/valueQuantity/value", "value": Decimal("1.5")},
        ],
    )
    assert out["component"][0]["valueQuantity"]["value"] == Decimal("1.50")
    assert b'"value":1.50' in fhirjson.dumps(out)
    assert b'"value":3.100' in fhirjson.dumps(out)
    assert all(not isinstance(v, float) for v in _leaves(out))


def _leaves(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [leaf for v in value.values() for leaf in _leaves(v)]
    if isinstance(value, list):
        return [leaf for v in value for leaf in _leaves(v)]
    return [value]


def test_input_is_not_modified_and_patch_values_are_not_aliased() -> None:
    before = fhirjson.dumps(OBS)
    value = {"text": "new"}
    out = apply_json_patch(OBS, [{"op": "replace", "path": "/code", "value": value}])
    out["code"]["text"] = "changed later"
    assert value == {"text": "new"}
    assert fhirjson.dumps(OBS) == before


def test_all_or_nothing() -> None:
    with pytest.raises(UnprocessableError):
        apply_json_patch(
            OBS,
            [{"op": "replace", "path": "/status", "value": "amended"}, {"op": "remove", "path": "/nope"}],
        )
    assert OBS["status"] == "final"


@pytest.mark.parametrize(
    ("patch", "expression"),
    [
        ({"op": "add", "path": "/x", "value": 1}, "Patch"),
        ([1], "Patch[0]"),
        ([{"op": "frobnicate", "path": "/x"}], "Patch[0].op"),
        ([{"path": "/x", "value": 1}], "Patch[0].op"),
        ([{"op": "add", "value": 1}], "Patch[0].path"),
        ([{"op": "add", "path": "x", "value": 1}], "Patch[0].path"),
        ([{"op": "add", "path": "/a~2b", "value": 1}], "Patch[0].path"),
        (
            [{"op": "test", "path": "/status", "value": "final"}, {"op": "add", "path": "/x"}],
            "Patch[1].value",
        ),
        ([{"op": "move", "path": "/x"}], "Patch[0].from"),
        ([{"op": "copy", "from": 3, "path": "/x"}], "Patch[0].from"),
    ],
)
def test_malformed_documents_are_400(patch: Any, expression: str) -> None:
    with pytest.raises(InvalidError) as caught:
        apply_json_patch(OBS, patch)
    assert caught.value.status == 400
    assert caught.value.expression == (expression,)


@pytest.mark.parametrize(
    "op",
    [
        {"op": "remove", "path": "/nope"},
        {"op": "replace", "path": "/nope", "value": 1},
        {"op": "add", "path": "/a/b", "value": 1},
        {"op": "add", "path": "/component/5", "value": {}},
        {"op": "remove", "path": "/component/-"},
        {"op": "move", "from": "/code", "path": "/code/coding"},
        {"op": "copy", "from": "/nope", "path": "/x"},
        {"op": "test", "path": "/nope", "value": 1},
        {"op": "test", "path": "/status", "value": "preliminary"},
        {"op": "add", "path": "/status/x", "value": 1},
    ],
)
def test_unappliable_operations_are_422(op: dict[str, Any]) -> None:
    with pytest.raises(UnprocessableError) as caught:
        apply_json_patch(OBS, [{"op": "test", "path": "/id", "value": "o1"}, op])
    assert caught.value.status == 422
    assert caught.value.expression == ("Patch[1]",)
    assert "o1" not in caught.value.diagnostics or "test" in op["op"]  # the document is not echoed


@pytest.mark.parametrize(
    "op",
    [
        {"op": "replace", "path": "/id", "value": "other"},
        {"op": "remove", "path": "/id"},
        {"op": "replace", "path": "/resourceType", "value": "Patient"},
        {"op": "replace", "path": "", "value": {"resourceType": "Observation", "id": "o2"}},
        {"op": "replace", "path": "", "value": [1]},
        {"op": "move", "from": "/id", "path": "/code/id"},
    ],
)
def test_resource_type_and_id_cannot_change(op: dict[str, Any]) -> None:
    with pytest.raises(UnprocessableError) as caught:
        apply_json_patch(OBS, [op])
    assert caught.value.expression == ("Patch[0]",)


def test_whole_document_replacement_keeping_identity_is_allowed() -> None:
    new = {"resourceType": "Observation", "id": "o1", "status": "final", "code": {"text": "y"}}
    assert apply_json_patch(OBS, [{"op": "replace", "path": "", "value": new}]) == new


@pytest.mark.parametrize(
    ("a", "b", "equal"),
    [
        (1, Decimal("1.0"), True),
        (1, True, False),
        (0, False, False),
        ("1", 1, False),
        ({"a": [1, {"b": None}]}, {"a": [Decimal("1"), {"b": None}]}, True),
        ({"a": 1}, {"a": True}, False),
        ([1, 2], [2, 1], False),
        (None, None, True),
        (1.5, Decimal("1.50"), True),
    ],
)
def test_json_equality_of_test_op(a: Any, b: Any, equal: bool) -> None:
    assert json_equal(a, b) is equal


def test_deeply_nested_patch_documents_are_refused() -> None:
    value: Any = 1
    for _ in range(100):
        value = {"a": value}
    with pytest.raises(InvalidError):
        apply_json_patch(OBS, [{"op": "add", "path": "/x", "value": value}])
