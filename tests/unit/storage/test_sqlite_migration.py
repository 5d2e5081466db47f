"""SQLite: a database from before the UCUM canonical columns gets them at start-up."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from fhir_server.storage.sqlite.store import SQLiteStore

OLD_QUANTITY = """
CREATE TABLE ix_quantity (pid INTEGER NOT NULL, value REAL NOT NULL, lo REAL NOT NULL,
                          hi REAL NOT NULL, system TEXT, code TEXT, unit TEXT, rid INTEGER NOT NULL);
INSERT INTO ix_quantity VALUES (1, 5.4, 5.35, 5.45, 'http://unitsofmeasure.org', 'mg', 'mg', 1);
"""


async def test_old_quantity_table_gets_the_canonical_columns(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as old:
        old.executescript(OLD_QUANTITY)
    for _ in range(2):  # idempotent
        store = SQLiteStore(path)
        await store.start()
        await store.close()
    with sqlite3.connect(path) as db:
        columns = [row[1] for row in db.execute("PRAGMA table_info(ix_quantity)")]
        assert columns[-2:] == ["cvalue", "cunit"]
        assert db.execute("SELECT value, cvalue, cunit FROM ix_quantity").fetchall() == [(5.4, None, None)]
        indexes = {row[1] for row in db.execute("PRAGMA index_list(ix_quantity)")}
        assert "ix_quantity_canon" in indexes
