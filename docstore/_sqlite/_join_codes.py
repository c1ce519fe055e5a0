"""The join-code column derived again when the normalization rule changes (sync: runs at open).

``sessions.active_join_code`` holds ``normalize_join_code`` of an active session's code.
When that rule changes (``JOIN_CODE_RULE``), a file written under the older rule holds
columns the new lookups would miss, so the first open under the new rule derives every
active session's column again, in the open's transaction. Which rule a file's columns
follow is a row of the small ``docstore_meta`` table, not ``PRAGMA user_version``: the
table layout and this rule change independently.

Rule 2 also made codes unique within a namespace rather than across the store: the
unique index is made again on (code, namespace) in the same step.

Two active sessions of one namespace whose codes were different under the old rule and
are the same under the new one (``CAFÉ`` in NFC and in NFD) cannot both hold it: the one
created first keeps it, the others are ended (``ended_at`` now, version + 1), as if their
instructor had ended them. Nothing else in any document changes.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from .._backend_common import active_join_code
from .._errors import PersistenceError
from .._mapping import METADATA
from .._models import JOIN_CODE_RULE
from .._time import utc_now
from ._schema import INDEXES
from ._tables import decode_row, put_document

__all__ = ["JOIN_CODE_RULE_KEY", "derive_join_codes"]

JOIN_CODE_RULE_KEY = "join_code_rule"
_UNIQUE = "sessions__active_join_code_unique"
_META = "CREATE TABLE IF NOT EXISTS docstore_meta (key TEXT PRIMARY KEY NOT NULL, value) WITHOUT ROWID"


def derive_join_codes(connection: sqlite3.Connection, path: Path) -> list[str]:
    """Bring the join-code column up to ``JOIN_CODE_RULE`` (in the caller's transaction); ids ended.

    One indexed read when the file is up to date, so every open can call it.
    """
    connection.execute(_META)
    row = connection.execute("SELECT value FROM docstore_meta WHERE key = ?", (JOIN_CODE_RULE_KEY,)).fetchone()
    if row is not None and row[0] == JOIN_CODE_RULE:
        return []
    rows = connection.execute(
        "SELECT id, doc, checksum FROM sessions WHERE active = 1 ORDER BY created_at, id"
    ).fetchall()
    # Free every code first, then hand them out oldest first: the order decides a clash.
    # The unique index is made again as declared now (rule 1 made it on the code alone).
    connection.execute(f"DROP INDEX IF EXISTS {_UNIQUE}")
    connection.execute("UPDATE sessions SET active_join_code = NULL WHERE active = 1")
    definition = INDEXES["sessions"]["active_join_code_unique"]
    connection.execute(f"CREATE {definition.replace('{name}', _UNIQUE, 1)}")
    ended: list[str] = []
    for session_id, blob, digest in rows:
        try:
            document = decode_row((blob, digest), path, "sessions")
        except PersistenceError:
            continue  # damaged: reads already name it; its column stays empty until it is rewritten
        try:
            connection.execute(
                "UPDATE sessions SET active_join_code = ? WHERE id = ?", (active_join_code(document), session_id)
            )
        except sqlite3.IntegrityError:
            _end(connection, document)
            ended.append(session_id)
    connection.execute(
        "INSERT OR REPLACE INTO docstore_meta (key, value) VALUES (?, ?)", (JOIN_CODE_RULE_KEY, JOIN_CODE_RULE)
    )
    return ended


def _end(connection: sqlite3.Connection, document: dict[str, object]) -> None:
    """End a session whose code an older active session of its namespace now holds."""
    now = utc_now()
    document["active"] = False
    document["ended_at"] = now
    metadata = document.get(METADATA)
    if isinstance(metadata, dict) and type(metadata.get("version")) is int:
        metadata["version"] += 1
        metadata["updated_at"] = now
    put_document(connection, "sessions", document)
