"""What ``docstore check`` says of a store's students, beyond the checksums of their rows.

A record that does not read back as a student, a record whose session is missing (it
would never be served: every read goes through its session), and a session document
still holding students of the earlier layout (its students would never be read).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from .._errors import PersistenceError
from .._students import student_from_record
from ._codec import checksum, decode

__all__ = ["verify_students"]


def verify_students(connection: sqlite3.Connection, path: Path) -> list[str]:
    """Problems with the students of the store (in the caller's read transaction)."""
    problems: list[str] = []
    try:
        for record_id, session_id, student_id, found, blob, digest in connection.execute(
            "SELECT r.id, r.session_id, r.student_id, s.id IS NOT NULL, r.doc, r.checksum "
            "FROM session_students AS r LEFT JOIN sessions AS s ON s.id = r.session_id ORDER BY r.id"
        ):
            if checksum(blob) != digest:
                continue  # named by the checksum pass
            if session_id is None or student_id is None:
                problems.append(f"{path}: student record {record_id!r}: its session_id or student_id is not text")
            elif not found:
                problems.append(f"{path}: student record {record_id!r}: its session {session_id!r} is missing")
            else:
                try:
                    student_from_record(decode(blob, digest, f"student record {record_id!r}"))
                except PersistenceError as exc:
                    problems.append(f"{path}: {exc.message}")
        # A cheap scan for the key's bytes first; only candidates are decoded.
        for session_id, blob, digest in connection.execute(
            "SELECT id, doc, checksum FROM sessions WHERE instr(doc, ?) > 0", (b"students\x00",)
        ):
            if checksum(blob) == digest and "students" in decode(blob, digest, f"session {session_id!r}"):
                problems.append(f"{path}: session {session_id!r} still holds students of the earlier layout")
    except sqlite3.Error as exc:
        problems.append(f"{path}: table session_students: {exc}")
    return problems
