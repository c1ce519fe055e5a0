"""The namespace rules of ``docstore/_namespace_rules.py`` on every engine.

A revision is filed in its session's namespace; a session whose stored namespace is not
a name (written through ``Store.documents``) files nothing, on every engine alike.
"""

from __future__ import annotations

from docstore import ErrorCode, Session, Store, Student

from .helpers import expect_error


async def test_record_code_through_the_root_files_the_revision_in_the_session_namespace(store: Store) -> None:
    session_id = await store.for_namespace("cs101").sessions.create_session(
        Session(join_code="nr1", students={"s": Student(id="s")})
    )
    revision = await store.sessions.record_code(session_id, "s", "print(1)")
    assert revision.namespace_id == "cs101"
    stored = await store.for_namespace("cs101").revisions.get_revision(revision.id)
    assert stored is not None and stored.namespace_id == "cs101"


async def test_record_code_into_a_session_with_a_damaged_namespace_is_storage_error(store: Store) -> None:
    session_id = await store.sessions.create_session(Session(join_code="nr2", students={"s": Student(id="s")}))
    stored = await store.documents.get_document("sessions", session_id)
    assert stored is not None
    result = await store.documents.upsert_documents("sessions", [{**stored, "namespace_id": 5}])
    assert not result.failed, result.failed
    error = await expect_error(ErrorCode.STORAGE_ERROR, store.sessions.record_code(session_id, "s", "x"))
    assert session_id in error.message
