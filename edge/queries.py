"""The spool's SQL (SQLite), as named, parameterised statements."""

from __future__ import annotations

SCHEMA_VERSION = 3

# AUTOINCREMENT: a seq is never reused, even after the newest rows were deleted, so the
# publisher's "everything after seq N" position can never skip a new row.
CREATE_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq     INTEGER PRIMARY KEY AUTOINCREMENT,
    topic   TEXT NOT NULL,
    payload BLOB NOT NULL,
    digest  BLOB
);
CREATE TABLE IF NOT EXISTS cursors (
    source TEXT PRIMARY KEY,
    device INTEGER NOT NULL,
    inode  INTEGER NOT NULL,
    offset INTEGER NOT NULL,
    line   INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS checkpoints (
    source TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS counters (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL,
    note  TEXT
);
"""

# digest: the message's name in ingest's storage receipts (linli.receipts); version 2
# spools get the column and the digests of their rows when opened
ADD_DIGEST_COLUMN = "ALTER TABLE outbox ADD COLUMN digest BLOB"

CREATE_DIGEST_INDEX = "CREATE INDEX IF NOT EXISTS outbox_digest ON outbox (digest)"

SELECT_WITHOUT_DIGEST = "SELECT seq, payload FROM outbox WHERE digest IS NULL"

SET_DIGEST = "UPDATE outbox SET digest = ? WHERE seq = ?"

INSERT_MESSAGE = "INSERT INTO outbox (topic, payload, digest) VALUES (?, ?, ?)"

UPSERT_CURSOR = """
INSERT INTO cursors (source, device, inode, offset, line) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (source) DO UPDATE SET
    device = excluded.device, inode = excluded.inode,
    offset = excluded.offset, line = excluded.line
"""

UPSERT_CHECKPOINT = """
INSERT INTO checkpoints (source, value) VALUES (?, ?)
ON CONFLICT (source) DO UPDATE SET value = excluded.value
"""

SELECT_CHECKPOINT = "SELECT value FROM checkpoints WHERE source = ?"

SELECT_CURSOR = "SELECT device, inode, offset, line FROM cursors WHERE source = ?"

ADD_TO_COUNTER = """
INSERT INTO counters (name, value, note) VALUES (?, ?, ?)
ON CONFLICT (name) DO UPDATE SET
    value = value + excluded.value, note = coalesce(excluded.note, note)
"""

SELECT_COUNTER = "SELECT value, note FROM counters WHERE name = ?"

SELECT_PENDING = "SELECT seq, topic, payload FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?"

SELECT_MESSAGE = "SELECT seq, topic, payload FROM outbox WHERE seq = ?"

DELETE_MESSAGE = "DELETE FROM outbox WHERE seq = ?"

DELETE_STORED = "DELETE FROM outbox WHERE digest = ? RETURNING seq"

COUNT_MESSAGES = "SELECT count(*) FROM outbox"
