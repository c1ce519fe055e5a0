"""A refusal that every engine makes is decided and worded once (issue 19, item 1: each rule
written once), so the same bad call gets the same code *and the same words* on every engine.

Each of these was written twice, once in ``docstore/_mongo/`` and once in ``docstore/_sqlite/``,
with texts that could drift apart: the ``include_students`` check, the "revision(s) already
exist" answer of ``save_revisions``, the roster's keyset cursor (``list_students``), the
"student not found in session" answer of ``update_student_code`` and ``iter_documents``'
``batch_size`` check (made by ``local://`` only: a refusal one engine made and the others not).
"""

from __future__ import annotations

from docstore import CodeRevision, ErrorCode, Session, Store, Student
from docstore._page import encode_cursor

from ..conftest import StoreFactory
from .helpers import expect_error


async def _class(store: Store, code: str, students: list[str]) -> str:
    session = Session(join_code=code, students={sid: Student(id=sid, name=sid) for sid in students})
    return await store.sessions.create_session(session)


async def test_include_students_that_is_not_a_bool_is_refused_alike(store: Store, factory: StoreFactory) -> None:
    session_id = await _class(store, "WRD001", ["ana"])
    for read in (
        store.sessions.get_session(session_id, include_students=1),  # type: ignore[arg-type]
        store.sessions.get_session_by_join_code("WRD001", include_students="yes"),  # type: ignore[arg-type]
    ):
        error = await expect_error(ErrorCode.INVALID_DATA, read)
        # A remote client is refused by the server's parameter check, in the server's words.
        assert "include_students" in error.message
        if not factory.engine.startswith("remote"):
            assert "include_students must be a bool" in error.message


async def test_save_revisions_names_the_revisions_already_stored_alike(store: Store) -> None:
    session_id = await _class(store, "WRD002", ["ana"])
    first = CodeRevision(id="rev-1", session_id=session_id, student_id="ana", code="a")
    await store.revisions.save_revision(first)
    fresh = CodeRevision(id="rev-2", session_id=session_id, student_id="ana", code="b")
    error = await expect_error(ErrorCode.ALREADY_EXISTS, store.revisions.save_revisions([first, fresh]))
    assert "1 revision(s) already exist: ['rev-1']" in error.message
    # Every other revision of the batch was written (unordered on every engine).
    assert await store.revisions.get_revision("rev-2") is not None


async def test_a_roster_cursor_whose_position_is_not_a_student_id_is_malformed(store: Store) -> None:
    session_id = await _class(store, "WRD003", ["ana", "bo"])
    cursor = encode_cursor("student_id", "asc", 5, "x")  # a well-formed cursor of the wrong kind of value
    error = await expect_error(ErrorCode.INVALID_DATA, store.sessions.list_students(session_id, cursor=cursor))
    assert "malformed cursor" in error.message
    page = await store.sessions.list_students(session_id, limit=1)
    assert [s.id for s in page] == ["ana"] and page.next_cursor is not None
    rest = await store.sessions.list_students(session_id, limit=1, cursor=page.next_cursor)
    assert [s.id for s in rest] == ["bo"] and rest.next_cursor is None


async def test_update_student_code_of_an_unknown_student_is_worded_alike(store: Store) -> None:
    session_id = await _class(store, "WRD004", ["ana"])
    error = await expect_error(ErrorCode.NOT_FOUND, store.sessions.update_student_code(session_id, "zed", "x"))
    assert f"student 'zed' not found in session {session_id!r}" in error.message


async def test_iter_documents_refuses_a_batch_size_that_is_not_a_positive_int_on_every_engine(store: Store) -> None:
    # Only local:// checked it; the MongoDB dialect handed it to the driver (mongomock ignored
    # it, PyMongo raised a raw TypeError for a non-int and took 0 as "the server's default").
    await _class(store, "WRD005", ["ana"])
    for batch_size in (0, -1, "10", True, 1.5):
        documents = store.documents.iter_documents("sessions", batch_size=batch_size)  # type: ignore[arg-type]
        error = await expect_error(ErrorCode.INVALID_DATA, anext(aiter(documents)))
        assert "batch_size must be a positive int" in error.message
    assert len([d async for d in store.documents.iter_documents("sessions", batch_size=1)]) == 1


async def test_upsert_documents_refuses_what_is_not_a_batch_alike(store: Store) -> None:
    # The remote client had its own check in other words, and let a bytearray through as
    # a batch of ints (each refused on its own) where every other engine refused the call.
    for not_a_batch in ("ab", b"ab", bytearray(b"ab"), {"_id": "a"}, 5):
        call = store.documents.upsert_documents("sessions", not_a_batch)  # type: ignore[arg-type]
        error = await expect_error(ErrorCode.INVALID_DATA, call)
        assert error.message.startswith("documents must be a sequence of dicts, not "), error.message


async def test_a_taken_id_or_join_code_is_named_alike(store: Store) -> None:
    # local:// said "sessions document 's' already exists" where the MongoDB dialect said
    # "session 's' already exists" (and "revisions document" against "revision").
    session_id = await store.sessions.create_session(Session(id="taken-session", join_code="WRD006"))
    again = store.sessions.create_session(Session(id="taken-session", join_code="WRD007"))
    error = await expect_error(ErrorCode.ALREADY_EXISTS, again)
    assert "session 'taken-session' already exists" in error.message
    error = await expect_error(ErrorCode.ALREADY_EXISTS, store.sessions.create_session(Session(join_code="WRD006")))
    assert "an active session already uses join code 'WRD006'" in error.message
    revision = CodeRevision(id="taken-revision", session_id=session_id, student_id="ana", code="a")
    await store.revisions.save_revision(revision)
    error = await expect_error(ErrorCode.ALREADY_EXISTS, store.revisions.save_revision(revision))
    assert "revision 'taken-revision' already exists" in error.message
