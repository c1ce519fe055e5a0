"""The database file: its identity, tables and indexes.

One table per repository collection, each row the whole document as a BSON blob
with its checksum, plus real columns for every field a repository filters or sorts
on (each with the index its queries need). A session's students are rows of
``session_students`` (one per session and student, ``docstore._students``), so a
student's post rewrites one small row, never the class. Other collections (``legacy_*``, tokens)
share one table keyed by (collection, id). Problem tags get a table of their own
(``tag = ?`` is an index seek) and titles/descriptions an FTS5 index.
"""

from __future__ import annotations

import sqlite3

__all__ = [
    "APPLICATION_ID",
    "DATABASE_FILE",
    "INDEXES",
    "LOG_OF_BEFORE_VERSION",
    "REPOSITORY_COLLECTIONS",
    "SCHEMA_VERSION",
    "create_schema",
]

DATABASE_FILE = "docstore.sqlite3"
# "dSt1" in the file header: how a docstore file is told from any other SQLite file.
APPLICATION_ID = 0x64537431
# 1: students inside their session's document (up to the release before issue 14);
# 2: students in ``session_students`` (an open converts a version 1 file, ``_convert.py``);
# 3: the live feed's log numbered without AUTOINCREMENT (``_feed.py``). A version 2 file keeps its
# log, and its version, as they are: the release before reads the log's head from
# ``sqlite_sequence``, so a file it can open must keep that row true. Both are current.
SCHEMA_VERSION = 3
LOG_OF_BEFORE_VERSION = 2
REPOSITORY_COLLECTIONS = ("problems", "revisions", "session_students", "sessions")

_TABLES = """
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY NOT NULL,
    namespace_id TEXT,
    active INTEGER NOT NULL,
    active_join_code TEXT,
    join_code NOT NULL,
    instructor_id TEXT,
    created_at NOT NULL,
    last_activity NOT NULL,
    doc BLOB NOT NULL,
    checksum BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS problems (
    -- An explicit rowid: the FTS5 rows point at it, and VACUUM may renumber implicit ones.
    pk INTEGER PRIMARY KEY,
    id TEXT UNIQUE NOT NULL,
    namespace_id TEXT,
    title NOT NULL,
    difficulty TEXT,
    created_by TEXT,
    created_at NOT NULL,
    doc BLOB NOT NULL,
    checksum BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS problem_tags (
    problem_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    namespace_id TEXT,
    tag TEXT NOT NULL,
    PRIMARY KEY (problem_id, position)
) WITHOUT ROWID;
CREATE VIRTUAL TABLE IF NOT EXISTS problem_text USING fts5(
    title, description, tokenize = "unicode61 remove_diacritics 0 tokenchars '_'"
);
CREATE TABLE IF NOT EXISTS revisions (
    id TEXT PRIMARY KEY NOT NULL,
    namespace_id TEXT,
    session_id TEXT,
    student_id TEXT,
    timestamp NOT NULL,
    doc BLOB NOT NULL,
    checksum BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS session_students (
    id TEXT PRIMARY KEY NOT NULL,
    -- Nullable: a record written through Store.documents may hold anything there (such
    -- a row is never found by a repository's seek, and ``docstore check`` names it).
    session_id TEXT,
    student_id TEXT,
    namespace_id TEXT,
    doc BLOB NOT NULL,
    checksum BLOB NOT NULL,
    -- One record per student of a session: its index answers every student query
    -- (one student, a session's class by id, a count) and keeps the listing in id order.
    UNIQUE (session_id, student_id)
);
CREATE TABLE IF NOT EXISTS documents (
    collection TEXT NOT NULL,
    id TEXT NOT NULL,
    doc BLOB NOT NULL,
    checksum BLOB NOT NULL,
    PRIMARY KEY (collection, id)
) WITHOUT ROWID;
"""

# Index names as ``stats`` shows them (the MongoDB dialect's names where the query is the
# same); in the file each is prefixed with its table, since SQLite index names are global.
INDEXES: dict[str, dict[str, str]] = {
    "sessions": {
        # One active session per join code in a namespace: a partial unique index, so the
        # file itself holds it. The code first: the unscoped lookup reads it by code alone.
        # (A file made under the first rule, code alone, is rebuilt by _join_codes.py.)
        "active_join_code_unique": "UNIQUE INDEX {name} ON sessions(active_join_code, namespace_id) "
        "WHERE active_join_code IS NOT NULL",
        "ns_active_created": "INDEX {name} ON sessions(namespace_id, active, created_at, id)",
        "ns_active_last_activity": "INDEX {name} ON sessions(namespace_id, active, last_activity, id)",
        "ns_instructor_created": "INDEX {name} ON sessions(namespace_id, instructor_id, created_at, id)",
        "created": "INDEX {name} ON sessions(created_at, id)",
        "last_activity": "INDEX {name} ON sessions(last_activity, id)",
        "join_code": "INDEX {name} ON sessions(join_code, id)",
    },
    "problems": {
        "ns_created": "INDEX {name} ON problems(namespace_id, created_at, id)",
        "ns_title": "INDEX {name} ON problems(namespace_id, title, id)",
        "ns_difficulty_created": "INDEX {name} ON problems(namespace_id, difficulty, created_at, id)",
        "ns_created_by": "INDEX {name} ON problems(namespace_id, created_by)",
        "created": "INDEX {name} ON problems(created_at, id)",
        "title": "INDEX {name} ON problems(title, id)",
        "difficulty_created": "INDEX {name} ON problems(difficulty, created_at, id)",
        "created_by": "INDEX {name} ON problems(created_by)",
        "tags": "INDEX {name} ON problem_tags(tag, namespace_id, problem_id)",
        "text_title_description": "",  # the FTS5 table problem_text
    },
    "session_students": {
        "session_student_unique": "",  # the table's UNIQUE (session_id, student_id)
    },
    "revisions": {
        # namespace_id last: a scoped overview is answered from the index alone.
        # The one secondary index: every revision query names its session (a namespace view's
        # too, namespace_id last), so each more index only cost every save a B-tree write.
        "session_student_timestamp": "INDEX {name} ON revisions(session_id, student_id, timestamp, id, namespace_id)",
    },
}
# Indexes an earlier release made that no query uses (tests/sqlite/test_revision_indexes.py):
# dropped on open. An index is no stored data: no schema version for it.
_DROPPED = ("revisions__ns_session",)


def create_schema(connection: sqlite3.Connection) -> None:
    """Create what is missing, in the caller's transaction (safe to run in every process)."""
    for statement in _TABLES.split(";"):
        if statement.strip():
            connection.execute(statement)
    for table, indexes in INDEXES.items():
        for name, definition in indexes.items():
            if definition:
                connection.execute(f"CREATE {definition.replace('{name}', f'IF NOT EXISTS {table}__{name}', 1)}")
    for name in _DROPPED:
        connection.execute(f"DROP INDEX IF EXISTS {name}")
    # Only where they differ: an open of a current file writes nothing (it may find its disk full).
    for pragma, value in (("application_id", APPLICATION_ID), ("user_version", SCHEMA_VERSION)):
        if connection.execute(f"PRAGMA {pragma}").fetchone()[0] != value:
            connection.execute(f"PRAGMA {pragma} = {value}")
