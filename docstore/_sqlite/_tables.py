"""Documents in and out of the tables, with their derived columns (sync: runs in a database thread).

Every write of a document, from a repository, a tool or the upgrade, goes through
``put_document``/``insert_document``, so the indexed columns, the tags table and
the text index always agree with the blob.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .._backend_common import active_join_code, already_exists, join_code_taken
from .._errors import ErrorCode, PersistenceError
from ._codec import checksum, decode, encode, text_key, time_key
from ._schema import REPOSITORY_COLLECTIONS

__all__ = [
    "DAMAGED_TAG",
    "Row",
    "decode_row",
    "delete_document",
    "duplicate_error",
    "get_document",
    "insert_document",
    "put_document",
    "stored_checksums",
]

Row = tuple[bytes, bytes]  # (doc, checksum)
DAMAGED_TAG = b"\x00damaged"


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


# The indexed columns of each repository table, in the order ``_column_values`` derives them.
_COLUMNS: dict[str, tuple[str, ...]] = {
    "revisions": ("namespace_id", "session_id", "student_id", "timestamp"),
    "sessions": (
        "namespace_id", "active", "active_join_code", "join_code", "instructor_id", "created_at", "last_activity",
    ),
    "problems": ("namespace_id", "title", "difficulty", "created_by", "created_at"),
    "session_students": ("session_id", "student_id", "namespace_id"),
}  # fmt: skip


def _column_values(collection: str, document: dict[str, Any]) -> tuple[Any, ...]:
    """The indexed columns of a repository collection's row (``_COLUMNS``), derived from its document.

    A tuple, revisions first: every save derives one, and a dict and its lookups cost it ~1 us."""
    get = document.get
    if collection == "revisions":
        return (
            _text(get("namespace_id")),
            _text(get("session_id")),
            _text(get("student_id")),
            time_key(get("timestamp")),
        )
    if collection == "sessions":
        return (
            _text(get("namespace_id")),
            1 if get("active") else 0,
            active_join_code(document),
            text_key(get("join_code")),
            _text(get("instructor_id")),
            time_key(get("created_at")),
            time_key(get("last_activity")),
        )
    if collection == "problems":
        return (
            _text(get("namespace_id")),
            text_key(get("title")),
            _text(get("difficulty")),
            _text(get("created_by")),
            time_key(get("created_at")),
        )
    return (_text(get("session_id")), _text(get("student_id")), _text(get("namespace_id")))


def _columns(collection: str, document: dict[str, Any]) -> dict[str, Any]:
    """The same, by name."""
    return dict(zip(_COLUMNS[collection], _column_values(collection, document), strict=True))


# What a taken id of a repository's table is called, in the words of every engine.
_ITEM = {"sessions": "session", "problems": "problem", "revisions": "revision"}


def duplicate_error(exc: sqlite3.IntegrityError, collection: str, document: dict[str, Any]) -> PersistenceError:
    """ALREADY_EXISTS saying which key was taken."""
    if "active_join_code" in str(exc):
        return join_code_taken(document.get("join_code"))
    if "session_students.session_id" in str(exc):
        return PersistenceError(
            ErrorCode.ALREADY_EXISTS,
            f"session {document.get('session_id')!r} already has a record of student {document.get('student_id')!r} "
            f"(not {document.get('_id')!r})",
        )
    return already_exists(_ITEM.get(collection, f"{collection} document"), document.get("_id"))


def _statement(collection: str, replace: bool) -> str:
    """The INSERT of a repository collection's row (made once per table: every save runs one)."""
    names = ("id", *_COLUMNS[collection], "doc", "checksum")
    sql = f"INSERT INTO {collection} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
    if replace:
        sql += " ON CONFLICT(id) DO UPDATE SET " + ", ".join(f"{name} = excluded.{name}" for name in names[1:])
    if collection == "problems":
        sql += " RETURNING pk"
    return sql


_STATEMENTS = {
    (collection, replace): _statement(collection, replace) for collection in _COLUMNS for replace in (False, True)
}


def _write(
    connection: sqlite3.Connection,
    collection: str,
    document: dict[str, Any],
    *,
    replace: bool,
    max_bytes: int | None = None,
    blob: bytes | None = None,
) -> None:
    if blob is None:
        blob, digest = encode(document)
    else:
        digest = checksum(blob)
    if max_bytes is not None and len(blob) > max_bytes:
        raise PersistenceError(
            ErrorCode.INVALID_DATA,
            f"{collection} document {document.get('_id')!r} would be {len(blob):,} bytes; "
            f"a stored document holds at most {max_bytes:,}",
        )
    document_id = document["_id"]
    if collection not in REPOSITORY_COLLECTIONS:
        verb = "INSERT OR REPLACE" if replace else "INSERT"
        connection.execute(
            f"{verb} INTO documents (collection, id, doc, checksum) VALUES (?, ?, ?, ?)",
            (collection, document_id, blob, digest),
        )
        return
    sql = _STATEMENTS[collection, replace]
    values = (document_id, *_column_values(collection, document), blob, digest)
    try:
        if collection == "problems":
            rowid = connection.execute(sql, values).fetchone()[0]
            _index_problem(connection, rowid, document)
        else:
            connection.execute(sql, values)
    except sqlite3.IntegrityError as exc:
        raise duplicate_error(exc, collection, document) from None


def _index_problem(connection: sqlite3.Connection, rowid: int, document: dict[str, Any]) -> None:
    """Tags and text of a problem, in their own tables (replacing what an older version left)."""
    document_id = document["_id"]
    connection.execute("DELETE FROM problem_tags WHERE problem_id = ?", (document_id,))
    tags = document.get("tags")
    if tags is not None:
        namespace = _text(document.get("namespace_id"))
        # A tag that is not a string (a document written through Store.documents) is kept
        # as DAMAGED_TAG, a BLOB: no text filter ever matches it, and tag_counts finds it
        # and names the problem instead of silently leaving it out.
        listed = tags if isinstance(tags, list) else [tags]
        connection.executemany(
            "INSERT INTO problem_tags (problem_id, position, namespace_id, tag) VALUES (?, ?, ?, ?)",
            [(document_id, i, namespace, tag if type(tag) is str else DAMAGED_TAG) for i, tag in enumerate(listed)],
        )
    connection.execute("DELETE FROM problem_text WHERE rowid = ?", (rowid,))
    connection.execute(
        "INSERT INTO problem_text (rowid, title, description) VALUES (?, ?, ?)",
        (rowid, _text(document.get("title")) or "", _text(document.get("description")) or ""),
    )


def insert_document(
    connection: sqlite3.Connection, collection: str, document: dict[str, Any], *, blob: bytes | None = None
) -> None:
    """Insert a new document; ALREADY_EXISTS if its id (or a session's active join code) is taken.

    ``blob``: ``bson.encode(document)``, when the caller has it already (it measured the
    document with it): the document is encoded once per save, not twice.
    """
    _write(connection, collection, document, replace=False, blob=blob)


def put_document(
    connection: sqlite3.Connection,
    collection: str,
    document: dict[str, Any],
    *,
    max_bytes: int | None = None,
    blob: bytes | None = None,
) -> None:
    """Insert or replace a document by id; INVALID_DATA if its encoding is over ``max_bytes``.

    The size is checked on the blob this write encodes anyway: a repository's in-place
    update (a student's code) grows a document that was checked when it was smaller.
    Tools' documents are checked before (``check_document``), and an upgrade carries
    over what the old engine held, whatever its size. ``blob``: the document's BSON, when the
    caller encoded it already.
    """
    _write(connection, collection, document, replace=True, max_bytes=max_bytes, blob=blob)


def _where(collection: str, namespace: str | None) -> tuple[str, list[Any]]:
    if collection not in REPOSITORY_COLLECTIONS:
        return "collection = ?", [collection]
    if namespace is None:
        return "1", []
    return "namespace_id = ?", [namespace]


def _table(collection: str) -> str:
    return collection if collection in REPOSITORY_COLLECTIONS else "documents"


def get_document(
    connection: sqlite3.Connection, path: Path, collection: str, document_id: str, namespace: str | None = None
) -> dict[str, Any] | None:
    """One document by id (within ``namespace``, if given), checksum verified; or None."""
    where, arguments = _where(collection, namespace)
    row = connection.execute(
        f"SELECT doc, checksum FROM {_table(collection)} WHERE id = ? AND {where}", [document_id, *arguments]
    ).fetchone()
    return None if row is None else decode_row(row, path, collection)


def decode_row(row: Row, path: Path, collection: str) -> dict[str, Any]:
    return decode(row[0], row[1], f"a {collection} document in {path}")


def delete_document(
    connection: sqlite3.Connection, collection: str, document_id: str, namespace: str | None = None
) -> bool:
    """Delete one document by id (within ``namespace``); whether it was there."""
    where, arguments = _where(collection, namespace)
    table = _table(collection)
    row = connection.execute(
        f"DELETE FROM {table} WHERE id = ? AND {where} RETURNING pk"
        if table == "problems"
        else f"DELETE FROM {table} WHERE id = ? AND {where} RETURNING id",
        [document_id, *arguments],
    ).fetchone()
    if row is None:
        return False
    if collection == "problems":
        connection.execute("DELETE FROM problem_tags WHERE problem_id = ?", (document_id,))
        connection.execute("DELETE FROM problem_text WHERE rowid = ?", (row[0],))
    return True


def stored_checksums(connection: sqlite3.Connection, collection: str, ids: Sequence[str]) -> dict[str, bytes]:
    """The checksum stored under each of ``ids`` that exists."""
    found: dict[str, bytes] = {}
    where, arguments = _where(collection, None)
    for start in range(0, len(ids), 500):
        chunk = list(ids[start : start + 500])
        marks = ", ".join("?" * len(chunk))
        for document_id, digest in connection.execute(
            f"SELECT id, checksum FROM {_table(collection)} WHERE {where} AND id IN ({marks})", [*arguments, *chunk]
        ):
            found[document_id] = digest
    return found
