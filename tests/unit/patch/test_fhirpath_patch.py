"""FHIRPath Patch: behaviour beyond the official cases (choice types, primitives' extensions,
decimals, errors and their expressions)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from fhir_server import fhirjson
from fhir_server.errors import InvalidError, UnprocessableError
from fhir_server.patch import apply_fhirpath_patch


def op(kind: str, path: str, name: str | None = None, **parts: Any) -> dict[str, Any]:
    """An operation parameter; ``value`` is the value part's content (minus its name)."""
    out = [{"name": "type", "valueCode": kind}, {"name": "path", "valueString": path}]
    if name is not None:
        out.append({"name": "name", "valueString": name})
    for key in ("index", "source", "destination"):
        if key in parts:
            out.append({"name": key, "valueInteger": parts[key]})
    if "value" in parts:
        out.append({"name": "value", **parts["value"]})
    return {"name": "operation", "part": out}


def patch(resource: dict[str, Any], *ops: dict[str, Any]) -> dict[str, Any]:
    return apply_fhirpath_patch(resource, {"resourceType": "Parameters", "parameter": list(ops)})


PATIENT = fhirjson.loads(
    b'{"resourceType":"Patient","id":"p1","active":true,"deceasedBoolean":false,'
    b'"birthDate":"1970-01-01","_birthDate":{"extension":[{"url":"http://e/bt","valueString":"x"}]},'
    b'"extension":[{"url":"http://e/a","valueString":"a"},{"url":"http://e/b","valueInteger":1}],'
    b'"name":[{"family":"F","given":["a","b"],"_given":[null,{"id":"g2"}]}]}'
)
OBS = fhirjson.loads(
    b'{"resourceType":"Observation","id":"o1","status":"final","code":{"text":"x"},'
    b'"valueQuantity":{"value":1.50,"unit":"mg"},'
    b'"component":[{"code":{"text":"a"},"valueQuantity":{"value":2.0}}]}'
)


def test_decimals_stay_decimals() -> None:
    out = patch(
        OBS,
        op("replace", "Observation.value.value", value={"valueDecimal": Decimal("3.140")}),
        op(
            "add", "Observation.component[0]", "interpretation", value={"valueCodeableConcept": {"text": "H"}}
        ),
    )
    assert b'"valueQuantity":{"value":3.140,"unit":"mg"}' in fhirjson.dumps(out)
    assert b'"valueQuantity":{"value":2.0}' in fhirjson.dumps(out)
    assert out["component"][0]["interpretation"] == [{"text": "H"}]  # repeating → array
    assert OBS["valueQuantity"]["value"] == Decimal("1.50")  # the input is untouched


def test_add_repeating_element_built_from_parts_with_a_choice() -> None:
    value = {
        "part": [
            {"name": "code", "valueCodeableConcept": {"text": "c"}},
            {"name": "value", "valueQuantity": {"value": Decimal("1.0")}},
        ]
    }
    out = patch(OBS, op("add", "Observation", "component", value=value))
    assert out["component"][1] == {"code": {"text": "c"}, "valueQuantity": {"value": Decimal("1.0")}}


def test_choice_elements() -> None:
    out = patch(PATIENT, op("replace", "Patient.deceased", value={"valueDateTime": "2020-01-01"}))
    assert "deceasedBoolean" not in out
    assert out["deceasedDateTime"] == "2020-01-01"
    out = patch(
        PATIENT,
        op("delete", "Patient.deceased"),
        op("add", "Patient", "deceased", value={"valueDateTime": "2020-01-02"}),
        op("add", "Patient", "multipleBirthInteger", value={"valueInteger": 2}),
    )
    assert (out["deceasedDateTime"], out["multipleBirthInteger"]) == ("2020-01-02", 2)
    with pytest.raises(UnprocessableError, match="already has 'deceased'"):
        patch(PATIENT, op("add", "Patient", "deceased", value={"valueDateTime": "2020-01-01"}))
    with pytest.raises(UnprocessableError, match="choice"):
        patch(PATIENT, op("add", "Patient", "multipleBirth", value={"valueString": "twins"}))


def test_primitive_extensions_follow_their_values() -> None:
    out = patch(PATIENT, op("delete", "Patient.name[0].given[0]"))
    assert out["name"][0]["given"] == ["b"]
    assert out["name"][0]["_given"] == [{"id": "g2"}]
    out = patch(PATIENT, op("move", "Patient.name[0].given", source=1, destination=0))
    assert out["name"][0]["given"] == ["b", "a"]
    assert out["name"][0]["_given"] == [{"id": "g2"}, None]
    out = patch(
        PATIENT,
        op(
            "insert",
            "Patient.name[0].given",
            index=0,
            value={"valueString": "z", "_valueString": {"id": "z"}},
        ),
    )
    assert out["name"][0]["_given"] == [{"id": "z"}, None, {"id": "g2"}]
    out = patch(PATIENT, op("delete", "Patient.name[0].given[1]"))
    assert out["name"][0] == {"family": "F", "given": ["a"]}
    out = patch(PATIENT, op("delete", "Patient.birthDate"))
    assert "birthDate" not in out and "_birthDate" not in out


def test_extensions_of_resources_and_of_primitives() -> None:
    out = patch(
        PATIENT,
        op("replace", "Patient.extension('http://e/b').value", value={"valueDecimal": Decimal("1.10")}),
    )
    assert out["extension"][1] == {"url": "http://e/b", "valueDecimal": Decimal("1.10")}
    out = patch(
        PATIENT, op("replace", "Patient.birthDate.extension('http://e/bt').value", value={"valueCode": "c"})
    )
    assert out["_birthDate"] == {"extension": [{"url": "http://e/bt", "valueCode": "c"}]}
    out = patch(PATIENT, op("delete", "Patient.birthDate.extension('http://e/bt')"))
    assert "_birthDate" not in out and out["birthDate"] == "1970-01-01"
    ext = {"part": [{"name": "url", "valueUri": "http://e/c"}, {"name": "value", "valueBoolean": True}]}
    out = patch(PATIENT, op("add", "Patient.name[0].given[0]", "extension", value=ext))
    assert out["name"][0]["_given"][0] == {"extension": [{"url": "http://e/c", "valueBoolean": True}]}


def test_contained_resource_and_narrative() -> None:
    org = {"resourceType": "Organization", "id": "o", "name": "Org"}
    out = patch(
        PATIENT,
        op("add", "Patient", "contained", value={"resource": org}),
        op("replace", "Patient.contained[0].name", value={"valueString": "Org 2"}),
        op(
            "add",
            "Patient",
            "text",
            value={
                "part": [
                    {"name": "status", "valueCode": "generated"},
                    {"name": "div", "valueString": "<div>a</div>"},
                ]
            },
        ),
        op("replace", "Patient.text.div", value={"valueString": "<div>b</div>"}),
    )
    assert out["contained"] == [{**org, "name": "Org 2"}]
    assert out["text"] == {"status": "generated", "div": "<div>b</div>"}


def test_insert_into_a_missing_list_and_where() -> None:
    out = patch(
        PATIENT, op("insert", "Patient.identifier", index=0, value={"valueIdentifier": {"value": "1"}})
    )
    assert out["identifier"] == [{"value": "1"}]
    out = patch(PATIENT, op("replace", "Patient.name.where(family = 'F').family", value={"valueString": "G"}))
    assert out["name"][0]["family"] == "G"


@pytest.mark.parametrize(
    ("operation", "message"),
    [
        (op("replace", "Patient.name.given", value={"valueString": "q"}), "matches 2 elements"),
        (op("replace", "Patient.gender", value={"valueCode": "male"}), "No content found"),
        (op("add", "Patient.contact", "name", value={"valueHumanName": {}}), "No content found"),
        (op("delete", "Patient.extension"), "matches 2 elements"),
        (op("insert", "Patient.identifier", index=1, value={"valueIdentifier": {}}), "out of range"),
        (op("insert", "Patient.name", index=-1, value={"valueHumanName": {}}), "out of range"),
        (op("insert", "Patient.birthDate", index=0, value={"valueDate": "2000"}), "single list"),
        (op("move", "Patient.name[0].given", source=2, destination=0), "out of range"),
        (op("move", "Patient.name[0].given", source=0, destination=2), "out of range"),
        (op("replace", "Patient.active", value={"valueString": "true"}), "type boolean"),
        (op("replace", "Patient.birthDate", value={"valueInteger": 3}), "type date"),
        (op("replace", "Patient.name[0]", value={"valueCodeableConcept": {}}), "type HumanName"),
        (op("add", "Patient", "note", value={"valueString": "x"}), "has no element 'note'"),
        (op("add", "Patient", "birthDate", value={"valueDate": "2000-01-01"}), "use replace"),
        (op("replace", "Patient.id", value={"valueString": "p2"}), "'id'"),
        (op("delete", "Patient.id"), "'id'"),
        (op("delete", "Patient"), "resource itself"),
        (op("replace", "Patient", value={"valueString": "x"}), "resource itself"),
        (op("replace", "1 + 1", value={"valueInteger": 3}), "not an element"),
        (op("replace", "Patient.name.given.count()", value={"valueInteger": 3}), "not an element"),
        (op("replace", "Patient.active and false", value={"valueBoolean": True}), "not an element"),
    ],
)
def test_patches_this_resource_cannot_take_are_422(operation: dict[str, Any], message: str) -> None:
    with pytest.raises(UnprocessableError, match=message) as caught:
        patch(PATIENT, op("delete", "Patient.nothing"), operation)
    assert caught.value.status == 422
    assert caught.value.expression[0].startswith("Parameters.parameter[1]")


def test_primitive_with_only_its_extension_side() -> None:
    source = {"resourceType": "Patient", "id": "p", "_birthDate": {"id": "b", "extension": [{"url": "u"}]}}
    ext = {"part": [{"name": "url", "valueUri": "v"}]}
    out = patch(source, op("add", "Patient.birthDate", "extension", value=ext))
    assert out["_birthDate"]["extension"] == [{"url": "u"}, {"url": "v"}]
    out = patch(source, op("replace", "Patient.birthDate", value={"valueDate": "2000-01-01"}))
    assert out == {"resourceType": "Patient", "id": "p", "birthDate": "2000-01-01"}
    assert patch(source, op("delete", "Patient.birthDate")) == {"resourceType": "Patient", "id": "p"}


def test_delete_of_nothing_is_a_no_op() -> None:
    assert patch(PATIENT, op("delete", "Patient.gender")) == PATIENT


def _param(*parts: dict[str, Any]) -> dict[str, Any]:
    return {"name": "operation", "part": list(parts)}


TYPE_ADD = {"name": "type", "valueCode": "add"}
PATH = {"name": "path", "valueString": "Patient"}


@pytest.mark.parametrize(
    ("body", "expression"),
    [
        ([], "Parameters"),
        ({"resourceType": "Patient"}, "Parameters"),
        ({"resourceType": "Parameters", "parameter": {}}, "Parameters.parameter"),
        (
            {"resourceType": "Parameters", "parameter": [{"name": "op", "part": []}]},
            "Parameters.parameter[0]",
        ),
        ({"resourceType": "Parameters", "parameter": [{"name": "operation"}]}, "Parameters.parameter[0]"),
        (
            {
                "resourceType": "Parameters",
                "parameter": [_param({"name": "type", "valueCode": "upsert"}, PATH)],
            },
            "Parameters.parameter[0]",
        ),
        ({"resourceType": "Parameters", "parameter": [_param(TYPE_ADD, PATH)]}, "Parameters.parameter[0]"),
        (
            {"resourceType": "Parameters", "parameter": [_param(TYPE_ADD, PATH, PATH)]},
            "Parameters.parameter[0].part[2]",
        ),
        (
            {
                "resourceType": "Parameters",
                "parameter": [_param(TYPE_ADD, {"name": "colour", "valueString": "x"})],
            },
            "Parameters.parameter[0].part[1]",
        ),
        (
            {
                "resourceType": "Parameters",
                "parameter": [_param(TYPE_ADD, {"name": "path", "valueCode": "x"})],
            },
            "Parameters.parameter[0].part[1].valueString",
        ),
        (
            {
                "resourceType": "Parameters",
                "parameter": [
                    _param(
                        {"name": "type", "valueCode": "insert"}, PATH, {"name": "index", "valueInteger": True}
                    )
                ],
            },
            "Parameters.parameter[0].part[2].valueInteger",
        ),
        (
            {
                "resourceType": "Parameters",
                "parameter": [
                    _param(TYPE_ADD, PATH, {"name": "name", "valueString": "gender"}, {"name": "value"})
                ],
            },
            "Parameters.parameter[0].part[3]",
        ),
        (
            {
                "resourceType": "Parameters",
                "parameter": [
                    _param(
                        TYPE_ADD,
                        PATH,
                        {"name": "name", "valueString": "gender"},
                        {"name": "value", "valueCode": "male", "valueString": "male"},
                    )
                ],
            },
            "Parameters.parameter[0].part[3]",
        ),
        (
            {
                "resourceType": "Parameters",
                "parameter": [
                    _param(
                        TYPE_ADD,
                        PATH,
                        {"name": "name", "valueString": "active"},
                        {"name": "value", "valueBoolean": "yes"},
                    )
                ],
            },
            "Parameters.parameter[0].part[3].valueBoolean",
        ),
        (
            {
                "resourceType": "Parameters",
                "parameter": [
                    _param(
                        TYPE_ADD,
                        PATH,
                        {"name": "name", "valueString": "contact"},
                        {"name": "value", "part": [{"x": 1}]},
                    )
                ],
            },
            "Parameters.parameter[0].part[3].part[0]",
        ),
        (
            {"resourceType": "Parameters", "parameter": [op("add", "Patient", "x", value={"valueFoo": {}})]},
            "Parameters.parameter[0].part[3].valueFoo",
        ),
        (
            {
                "resourceType": "Parameters",
                "parameter": [op("replace", "Patient.name[", value={"valueString": "x"})],
            },
            "Parameters.parameter[0]",
        ),
    ],
)
def test_malformed_parameters_are_400(body: Any, expression: str) -> None:
    with pytest.raises(InvalidError) as caught:
        apply_fhirpath_patch(PATIENT, body)
    assert caught.value.status == 400
    assert caught.value.expression == (expression,)


def test_deeply_nested_parameters_are_refused() -> None:
    value: dict[str, Any] = {"name": "value", "valueString": "x"}
    for _ in range(100):
        value = {"name": "value", "part": [value]}
    with pytest.raises(InvalidError):
        patch(PATIENT, op("add", "Patient", "contact", value=value))
