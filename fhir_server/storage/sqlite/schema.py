"""SQLite schema: current versions, all versions, and typed search-index tables.

One row per current resource in ``resources`` (``rid`` is the internal key the index
tables point to), every version in ``versions``, and one index table per entry kind
(see ``search/index.py``). ``params`` interns (resource type, parameter code) pairs
into small integers so index rows stay narrow. Indexes follow the query shapes:
a lookup by (param, value) that yields rids, and a delete by rid when a resource is
rewritten.
"""

from __future__ import annotations

SCHEMA_VERSION = 1

DDL = """
CREATE TABLE IF NOT EXISTS meta_info (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS resources (
    rid      INTEGER PRIMARY KEY,
    type     TEXT NOT NULL,
    id       TEXT NOT NULL,
    version  INTEGER NOT NULL,
    lu       INTEGER NOT NULL,
    lu_text  TEXT NOT NULL,
    deleted  INTEGER NOT NULL,
    body     BLOB NOT NULL,
    UNIQUE (type, id)
);
CREATE INDEX IF NOT EXISTS resources_type_lu ON resources (type, lu, rid);
-- all resources of a type in rid order (the default search order)
CREATE INDEX IF NOT EXISTS resources_type ON resources (type);
CREATE TABLE IF NOT EXISTS versions (
    vid      INTEGER PRIMARY KEY,
    type     TEXT NOT NULL,
    id       TEXT NOT NULL,
    version  INTEGER NOT NULL,
    lu       INTEGER NOT NULL,
    lu_text  TEXT NOT NULL,
    deleted  INTEGER NOT NULL,
    method   TEXT NOT NULL,
    body     BLOB NOT NULL,
    UNIQUE (type, id, version)
);
CREATE INDEX IF NOT EXISTS versions_lu ON versions (lu, vid);
CREATE INDEX IF NOT EXISTS versions_type_lu ON versions (type, lu, vid);
CREATE TABLE IF NOT EXISTS params (
    pid   INTEGER PRIMARY KEY,
    type  TEXT NOT NULL,
    code  TEXT NOT NULL,
    UNIQUE (type, code)
);
CREATE TABLE IF NOT EXISTS ix_token (pid INTEGER NOT NULL, system TEXT, code TEXT, text TEXT,
                                     rid INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS ix_token_code ON ix_token (pid, code, system, rid);
CREATE INDEX IF NOT EXISTS ix_token_text ON ix_token (pid, text, rid);
DROP INDEX IF EXISTS ix_token_rid;
CREATE INDEX IF NOT EXISTS ix_token_rid_pid ON ix_token (rid, pid);
CREATE TABLE IF NOT EXISTS ix_string (pid INTEGER NOT NULL, norm TEXT NOT NULL, exact TEXT NOT NULL,
                                      rid INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS ix_string_norm ON ix_string (pid, norm, rid);
DROP INDEX IF EXISTS ix_string_rid;
CREATE INDEX IF NOT EXISTS ix_string_rid_pid ON ix_string (rid, pid);
CREATE TABLE IF NOT EXISTS ix_date (pid INTEGER NOT NULL, lo INTEGER NOT NULL, hi INTEGER NOT NULL,
                                    rid INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS ix_date_lo ON ix_date (pid, lo, hi, rid);
CREATE INDEX IF NOT EXISTS ix_date_hi ON ix_date (pid, hi, lo, rid);
DROP INDEX IF EXISTS ix_date_rid;
CREATE INDEX IF NOT EXISTS ix_date_rid_pid ON ix_date (rid, pid);
CREATE TABLE IF NOT EXISTS ix_number (pid INTEGER NOT NULL, value REAL NOT NULL, lo REAL NOT NULL,
                                      hi REAL NOT NULL, rid INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS ix_number_value ON ix_number (pid, value, rid);
DROP INDEX IF EXISTS ix_number_rid;
CREATE INDEX IF NOT EXISTS ix_number_rid_pid ON ix_number (rid, pid);
CREATE TABLE IF NOT EXISTS ix_quantity (pid INTEGER NOT NULL, value REAL NOT NULL, lo REAL NOT NULL,
                                        hi REAL NOT NULL, system TEXT, code TEXT, unit TEXT,
                                        rid INTEGER NOT NULL, cvalue REAL, cunit TEXT);
CREATE INDEX IF NOT EXISTS ix_quantity_value ON ix_quantity (pid, value, rid);
DROP INDEX IF EXISTS ix_quantity_rid;
CREATE INDEX IF NOT EXISTS ix_quantity_rid_pid ON ix_quantity (rid, pid);
CREATE TABLE IF NOT EXISTS ix_reference (pid INTEGER NOT NULL, target TEXT NOT NULL, rtype TEXT,
                                         rid_part TEXT, version TEXT, rid INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS ix_reference_target ON ix_reference (pid, target, rid);
CREATE INDEX IF NOT EXISTS ix_reference_idpart ON ix_reference (pid, rid_part, rid);
DROP INDEX IF EXISTS ix_reference_rid;
CREATE INDEX IF NOT EXISTS ix_reference_rid_pid ON ix_reference (rid, pid);
CREATE TABLE IF NOT EXISTS ix_uri (pid INTEGER NOT NULL, value TEXT NOT NULL, rid INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS ix_uri_value ON ix_uri (pid, value, rid);
DROP INDEX IF EXISTS ix_uri_rid;
CREATE INDEX IF NOT EXISTS ix_uri_rid_pid ON ix_uri (rid, pid);
-- composite parameters (token$token|quantity|date|string): one row per CompositeEntry,
-- the first (token) component in t_system/t_code, the second in the columns of its kind
-- (token: system, code; quantity: value, lo, hi, system, code, unit; date: lo, hi as
-- integers, hence no declared type; string: norm, exact)
CREATE TABLE IF NOT EXISTS ix_composite (pid INTEGER NOT NULL, t_system TEXT, t_code TEXT,
                                         system TEXT, code TEXT, value REAL, lo, hi, unit TEXT,
                                         norm TEXT, exact TEXT, rid INTEGER NOT NULL,
                                         cvalue REAL, cunit TEXT);
CREATE INDEX IF NOT EXISTS ix_composite_code ON ix_composite (pid, t_code, t_system, rid);
CREATE INDEX IF NOT EXISTS ix_composite_rid_pid ON ix_composite (rid, pid);
"""

# columns added after a table's first release: (table, column, type), added when missing,
# then the statements that need them
ADDED_COLUMNS = (
    ("ix_quantity", "cvalue", "REAL"),
    ("ix_quantity", "cunit", "TEXT"),
    # the shape of a parameter's data (params.py): several entries per resource, widest date
    ("params", "multi", "INTEGER NOT NULL DEFAULT 0"),
    ("params", "span", "INTEGER"),
)
AFTER_COLUMNS = """
-- UCUM canonical quantities (search/ucum.py): unit equality, then a value range
CREATE INDEX IF NOT EXISTS ix_quantity_canon ON ix_quantity (pid, cunit, cvalue, rid);
"""

INDEX_TABLES = (
    "ix_token",
    "ix_string",
    "ix_date",
    "ix_number",
    "ix_quantity",
    "ix_reference",
    "ix_uri",
    "ix_composite",
)
