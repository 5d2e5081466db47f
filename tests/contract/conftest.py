"""The storage contract suite runs against every backend.

* ``sqlite``: a real SQLite file in a temporary directory.
* ``mongo``: ``mongomock-motor`` in CI; a real MongoDB when ``FHIR_TEST_MONGODB_URI``
  is set (a replica set is needed for the transaction tests to run atomically).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from fhir_server.storage.protocol import Store

BACKENDS = ["sqlite", "mongo"]


async def make_store(kind: str, tmp_path: Path) -> Store:
    if kind == "sqlite":
        from fhir_server.storage.sqlite.store import SQLiteStore

        return SQLiteStore(tmp_path / "contract.db")
    from fhir_server.storage.mongo.store import MongoStore

    uri = os.environ.get("FHIR_TEST_MONGODB_URI")
    if uri:
        return MongoStore(uri, database=f"fhir_contract_{uuid.uuid4().hex[:8]}", drop_on_close=True)
    from mongomock_motor import AsyncMongoMockClient

    return MongoStore.from_client(AsyncMongoMockClient(), database="fhir_contract")


@pytest.fixture(params=BACKENDS)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    s = await make_store(request.param, tmp_path)
    await s.start()
    try:
        yield s
    finally:
        await s.close()
