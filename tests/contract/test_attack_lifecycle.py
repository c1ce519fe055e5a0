"""Repositories held across ``initialize()`` and ``shutdown()`` follow the store's state.

Found by the attack pass: a repository fetched before ``initialize()`` raised a raw
``AssertionError('unreachable')`` once the store was open; one fetched while open kept
reading and writing after ``shutdown()`` (on ``local://`` the writes went to memory
only). Every call must check, when it runs, that the store is open.
"""

from __future__ import annotations

from docstore import ErrorCode, ProblemSpec, Session

from ..conftest import StoreFactory
from .helpers import expect_error


async def test_repositories_fetched_before_initialize_work_once_it_is_open(factory: StoreFactory) -> None:
    store = factory.open()
    sessions, problems = store.sessions, store.for_namespace("a").problems
    await expect_error(ErrorCode.STORAGE_ERROR, sessions.get_session("x"))
    async with store:
        session_id = await sessions.create_session(Session(join_code="early"))
        assert await store.sessions.get_session(session_id) is not None
        problem_id = await problems.save_problem(ProblemSpec(title="t"))
        assert await store.for_namespace("a").problems.get_problem(problem_id) is not None


async def test_repositories_and_documents_held_past_shutdown_refuse(factory: StoreFactory) -> None:
    async with factory.open() as store:
        sessions, view, documents = store.sessions, store.for_namespace("a").revisions, store.documents
        session_id = await sessions.create_session(Session(join_code="held"))
    await expect_error(ErrorCode.STORAGE_ERROR, sessions.get_session(session_id))
    await expect_error(ErrorCode.STORAGE_ERROR, sessions.create_session(Session(id="after-shutdown")))
    await expect_error(ErrorCode.STORAGE_ERROR, view.count_revisions(session_id))
    await expect_error(ErrorCode.STORAGE_ERROR, documents.get_document("sessions", session_id))
    await expect_error(ErrorCode.STORAGE_ERROR, documents.upsert_documents("sessions", [{"_id": "after"}]))

    async def read_all() -> None:
        async for _ in documents.iter_documents("sessions"):
            pass

    await expect_error(ErrorCode.STORAGE_ERROR, read_all())
    if factory.engine == "local":  # nothing written after shutdown reached the files
        async with factory.open() as reopened:
            assert await reopened.sessions.get_session("after-shutdown") is None
