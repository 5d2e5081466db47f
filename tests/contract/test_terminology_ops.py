"""Contract: what the terminology operations need from a backend (find stored CodeSystems,
ValueSets and ConceptMaps by ``url``, ConceptMaps by ``source-system``/``target-system``)
works the same on every backend, and a change is seen by the next call."""

from __future__ import annotations

import json
from typing import Any

import pytest

from fhir_server.search.extract import Extractor
from fhir_server.search.registry import SearchRegistry
from fhir_server.storage.protocol import Store
from fhir_server.terminology import InvalidCodeError, Terminology, UnknownResourceError

from .test_crud import T0, make_op, write

EXTRACTOR = Extractor(SearchRegistry.from_definitions())
CS = "https://example.org/fhir/CodeSystem/levels"
VS = "https://example.org/fhir/ValueSet/levels"
MAP = "https://example.org/fhir/ConceptMap/levels-to-gender"
GENDER = "http://hl7.org/fhir/administrative-gender"


def _resources(version: int) -> list[dict[str, Any]]:
    extra = [{"code": "D", "display": "Dispensary"}] if version > 1 else []
    return [
        {
            "resourceType": "CodeSystem",
            "id": "levels",
            "url": CS,
            "name": "Levels",
            "status": "active",
            "content": "complete",
            "concept": [
                {
                    "code": "H",
                    "display": "Hospital",
                    "concept": [{"code": "H-ref", "display": "Referral hospital"}],
                },
                {"code": "C", "display": "Health centre"},
                *extra,
            ],
        },
        {
            "resourceType": "ValueSet",
            "id": "levels",
            "url": VS,
            "status": "active",
            "compose": {"include": [{"system": CS}]},
        },
        {
            "resourceType": "ConceptMap",
            "id": "levels-to-gender",
            "url": MAP,
            "status": "active",
            "group": [
                {
                    "source": CS,
                    "target": GENDER,
                    "element": [{"code": "C", "target": [{"code": "other", "equivalence": "inexact"}]}],
                }
            ],
        },
    ]


async def _store_all(store: Store, version: int) -> None:
    for n, res in enumerate(_resources(version)):
        body = json.dumps(res).encode()
        op = make_op(
            res["resourceType"],
            res["id"],
            version,
            expected=version - 1,
            index=EXTRACTOR.extract(res),
            us=T0 + version * 100 + n,
            body=body,
        )
        await write(store, op)


async def test_lookup_subsumes_translate_over_stored_resources(store: Store) -> None:
    await _store_all(store, 1)
    t = Terminology(store)
    found = await t.lookup(CS, "H-ref")
    assert (found.name, found.concept.display, found.concept.parents) == (
        "Levels",
        "Referral hospital",
        ("H",),
    )
    assert (await t.lookup(CS, "H")).children == ("H-ref",)
    assert await t.subsumes(CS, "H", "H-ref") == "subsumes"
    with pytest.raises(InvalidCodeError):
        await t.lookup(CS, "D")
    maps = await t.conceptmaps_for(CS, reverse=False)
    assert [m.url for m in maps] == [MAP]
    back = await t.conceptmaps_for(GENDER, reverse=True)
    assert MAP in [m.url for m in back]
    result = await t.translate(CS, "C", maps)
    assert result.result and [(m.code, m.display, m.equivalence) for m in result.matches] == [
        ("other", "Other", "inexact")
    ]
    assert (await t.conceptmap(MAP)) is not None
    codes = await t.expand(VS)
    assert (await t.check_in_valueset(codes, VS, CS, "C", "health CENTRE")).result
    assert not (await t.check_in_valueset(codes, VS, CS, "D", None)).result
    # an update is seen by the next call (the cached expansion is checked against the store)
    await _store_all(store, 2)
    assert (await t.lookup(CS, "D")).concept.display == "Dispensary"
    assert (await t.check_in_valueset(await t.expand(VS), VS, CS, "D", None)).result
    with pytest.raises(UnknownResourceError):
        await t.known_codesystem("https://example.org/fhir/CodeSystem/none")
