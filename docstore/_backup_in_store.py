"""What a restore learns from the store before it writes: clashes, the student records it drops, freed join codes.

Split from ``_backup.py`` (export and the restore's writes) because these are one idea:
the checked backup held against the store's current documents, read past any damaged one
(``_restore_journal.documents_past_damage``), so that a damaged store can still be repaired.
"""

from __future__ import annotations

from typing import Any

from ._backup_check import Plan, active_code, read_lines
from ._restore_journal import documents_past_damage
from ._store import Store
from ._students import SESSION_STUDENTS

__all__ = ["check_in_store", "free_join_codes", "stale_students"]


async def check_in_store(store: Store, plan: Plan) -> list[str]:
    """What the backup clashes with in the store: active join codes, student records without a session."""
    problems: list[str] = []
    if plan.active_codes:
        replaced = plan.ids.get("sessions", set())
        # Past a damaged session, the store's others are not seen: the engine's unique index on
        # active join codes still refuses a clash when the backup is written (and it is undone).
        async for _, document, _damage in documents_past_damage(store.documents, "sessions", set()):
            if document is None or document["_id"] in replaced or not document.get("active"):
                continue
            code = active_code(document)
            if code is not None and code in plan.active_codes:
                problems.append(
                    f"sessions.jsonl: session {plan.active_codes[code]!r} would take active join code {code[1]!r} "
                    f"from session {document['_id']!r} of the store (end that session first)"
                )
    sessions: dict[str, Any] = {}
    for where, session_id, namespace in plan.outside:
        if session_id not in sessions:
            found = await store.documents.get_document("sessions", session_id)
            sessions[session_id] = None if found is None else (found.get("namespace_id"),)
        if sessions[session_id] is None:
            problems.append(f"{where}: its session {session_id!r} is neither in the backup nor in the store")
        elif sessions[session_id] != (namespace,):
            problems.append(
                f"{where}: in namespace {namespace!r}, its session {session_id!r} in {sessions[session_id][0]!r}"
            )
    return problems


async def stale_students(store: Store, plan: Plan) -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
    """The store's student records of the backup's sessions that the backup does not hold (deleted by it).

    (the sound records, (id, why) of the damaged ones). A damaged record is unreadable, but its
    id says its session (``_students.record_id``: the session's id, "/", the student's, which
    holds no "/"): a session the backup replaces is replaced whole, damaged records included.
    """
    sessions = plan.ids.get("sessions", set())
    keep = plan.ids.get(SESSION_STUDENTS, set())
    sound: list[dict[str, Any]] = []
    damaged: list[tuple[str, str]] = []
    if not sessions:
        return sound, damaged
    async for record_id, document, damage in documents_past_damage(store.documents, SESSION_STUDENTS, set()):
        if record_id in keep:
            continue
        if document is not None:
            if document.get("session_id") in sessions:
                sound.append(document)
        elif record_id.rpartition("/")[0] in sessions:
            damaged.append((record_id, damage or "damaged"))
    return sound, damaged


async def free_join_codes(store: Store, plan: Plan) -> None:
    """Delete replaced active sessions whose join code the backup changes, before writing any.

    Otherwise a backup session could be refused for a code that the store's old
    version of another backup session still holds (two sessions swapping codes).
    The deleted versions are in the journal.
    """
    new_codes: dict[str, tuple[Any, str] | None] = {}
    for _, document, _error in read_lines(plan.folder / "sessions.jsonl"):
        if document is not None:
            new_codes[document["_id"]] = active_code(document)
    ids = plan.ids["sessions"]
    async for session_id, document, _damage in documents_past_damage(store.documents, "sessions", ids):
        if document is None:
            continue  # damaged: its code unknown (if the backup's copy clashes, its write fails and is undone)
        code = active_code(document)
        if session_id in ids and code is not None and new_codes.get(session_id) != code:
            await store.documents.delete_document("sessions", session_id)
