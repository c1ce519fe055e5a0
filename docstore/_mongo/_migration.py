"""The layout migration of ``docstore init``: students out of their sessions, into ``session_students``.

The earlier layout kept every student inside the session's document (``students``,
keyed by ``student_field`` names). This one keeps a record per student
(``docstore._students``). A marker document, ``docstore_meta`` ``{_id: "layout",
version: 2}``, says that a database is in this layout; a brand-new empty database
is marked on its first ``initialize()``, an older one by ``migrate_layout``:

- **Idempotent**: records are upserted by ``_id`` (derived from session and student);
  a run over a migrated database copies nothing.
- **Resumable**: sessions go one at a time, in ``_id`` order, in batches of ids; each
  session's students are copied first, then ``$unset`` from the session on condition
  that its version did not move since it was read. A run killed anywhere leaves each
  session either untouched, copied but still holding its students (copied again,
  identically, by the next run), or done.
- **Safe while the previous release still serves**: the previous release writes
  students into the session document and bumps the session's version with each
  write. A write that lands between the copy and the ``$unset`` makes the condition
  fail, and the session is copied again. A student an old writer adds *after* a
  session was migrated lives in its document again: ``health()`` then says the
  migration is pending, and the next ``docstore init`` carries it over (a record
  is replaced only by an embedded copy whose ``last_update`` is newer, so it never
  undoes a post made through this release).

While the marker is missing, the repositories refuse student writes (STORAGE_ERROR)
rather than write records that the sessions' embedded classes would contradict.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from .._errors import ErrorCode, PersistenceError
from .._mapping import METADATA
from .._students import SESSION_STUDENTS, students_of_legacy_session
from .._time import utc_now
from ._indexes import SESSIONS

__all__ = [
    "LAYOUT_VERSION",
    "META",
    "MigrationReport",
    "layout_is_current",
    "layout_status",
    "mark_if_new",
    "migrate_layout",
    "pending_error",
]

META = "docstore_meta"
LAYOUT_VERSION = 2
_MARKER = {"_id": "layout"}
# Sessions per batch of ids: each is then read, copied and cleared on its own.
BATCH = 100
# Attempts per session when an old writer keeps changing it between copy and clear.
_ATTEMPTS = 5

Collections = Callable[[str], Any]


class MigrationReport:
    """What a run did: sessions cleared, students copied, sessions left for the next run."""

    def __init__(self) -> None:
        self.sessions = 0
        self.students = 0
        self.left: list[str] = []


def pending_error() -> PersistenceError:
    return PersistenceError(
        ErrorCode.STORAGE_ERROR,
        "this store still keeps students inside their sessions (the earlier layout): "
        "run docstore init to migrate them before students are written",
    )


async def layout_is_current(collection: Collections) -> bool:
    marker = await collection(META).find_one(_MARKER)
    return marker is not None and marker.get("version") == LAYOUT_VERSION


async def mark_if_new(collection: Collections) -> bool:
    """Mark a database with no session at all as being in this layout; whether it is marked now."""
    if await layout_is_current(collection):
        return True
    if await collection(SESSIONS).find_one({}, {"_id": 1}) is not None:
        return False
    await _mark(collection)
    return True


async def layout_status(collection: Collections) -> str:
    """``"up to date"``, or ``"pending"`` while sessions hold students / a store with sessions is unmarked.

    Looks for a session that still holds students: the session documents are read
    (no index has that field), which costs little now that they hold no class.
    """
    if not await layout_is_current(collection):
        empty = await collection(SESSIONS).find_one({}, {"_id": 1}) is None
        return "up to date" if empty else "pending"
    holding = await collection(SESSIONS).find_one({"students": {"$exists": True}}, {"_id": 1})
    return "pending" if holding is not None else "up to date"


async def migrate_layout(collection: Collections, say: Callable[[str], None]) -> MigrationReport:
    """Move every embedded student into ``session_students``, printing each step (``say``)."""
    sessions = collection(SESSIONS)
    report = MigrationReport()
    say(f"layout: moving students out of {SESSIONS} into {SESSION_STUDENTS} (batches of {BATCH} sessions)")
    last: str | None = None
    while True:
        holding: dict[str, Any] = {"students": {"$exists": True}}
        if last is not None:
            holding["_id"] = {"$gt": last}
        batch = await sessions.find(holding, {"_id": 1}).sort("_id", 1).limit(BATCH).to_list(None)
        if not batch:
            break
        for row in batch:
            moved = await _migrate_session(collection, row["_id"])
            if moved is None:
                report.left.append(row["_id"])
            else:
                report.sessions += 1
                report.students += moved
        last = batch[-1]["_id"]
        say(f"layout: {report.sessions} sessions done, {report.students} students copied (up to {last!r})")
    if report.left:
        left = f"{len(report.left)} sessions kept changing or are damaged ({report.left[:5]})"
        say(f"layout: {left}; run docstore init again (the layout stays pending)")
        return report
    await _mark(collection)
    say(f"layout: up to date (version {LAYOUT_VERSION})")
    return report


async def _migrate_session(collection: Collections, session_id: str) -> int | None:
    """Copy one session's students, then clear them from it; students copied, None if left for later."""
    sessions, records = collection(SESSIONS), collection(SESSION_STUDENTS)
    for _ in range(_ATTEMPTS):
        document = await sessions.find_one({"_id": session_id})
        if document is None or "students" not in document:
            return 0  # deleted, or cleared by a concurrent run
        try:
            _, students = students_of_legacy_session(document)
        except PersistenceError:
            return None  # damaged: left in place, named in the report
        stored = {
            row["_id"]: row.get("last_update")
            async for row in records.find({"session_id": session_id}, {"last_update": 1})
        }
        for record in students:
            if record["_id"] in stored and not _newer(record.get("last_update"), stored[record["_id"]]):
                continue  # the record is as recent (copied by an earlier run, or posted to since)
            key = {"_id": record["_id"], "session_id": session_id, "student_id": record["student_id"]}
            await records.replace_one(key, record, upsert=True)
        metadata = document.get(METADATA)
        version = metadata.get("version") if isinstance(metadata, Mapping) else None
        cleared = await sessions.update_one(
            {"_id": session_id, f"{METADATA}.version": version}, {"$unset": {"students": ""}}
        )
        if cleared.modified_count:
            return len(students)
    return None


def _newer(embedded: Any, stored: Any) -> bool:
    if not isinstance(stored, datetime):
        return True
    if not isinstance(embedded, datetime):
        return False
    return _utc(embedded) > _utc(stored)


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


async def _mark(collection: Collections) -> None:
    await collection(META).update_one(
        _MARKER, {"$set": {"version": LAYOUT_VERSION, "marked_at": utc_now()}}, upsert=True
    )
