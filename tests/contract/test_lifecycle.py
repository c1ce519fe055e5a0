"""initialize / shutdown / health, on every engine; repositories held across them follow the store's state."""

from __future__ import annotations

import pytest

from docstore import ErrorCode, ProblemSpec, Session, open_store

from ..conftest import StoreFactory
from .helpers import expect_error


async def test_health_and_shutdown(factory) -> None:  # type: ignore[no-untyped-def]
    store = factory.open()
    before = await store.health()
    assert not before.ok
    await expect_error(ErrorCode.STORAGE_ERROR, store.sessions.get_session("x"))

    await store.initialize()
    await store.initialize()  # twice is fine
    report = await store.health()
    assert report.ok and report.engine == factory.engine and report.latency_ms >= 0

    await store.shutdown()
    await store.shutdown()  # twice is fine
    await expect_error(ErrorCode.STORAGE_ERROR, store.sessions.create_session(Session()))
    await expect_error(ErrorCode.STORAGE_ERROR, store.for_namespace("x").problems.count_problems())
    assert not (await store.health()).ok
    with pytest.raises(Exception) as caught:
        await store.initialize()
    assert getattr(caught.value, "code", None) is ErrorCode.STORAGE_ERROR


async def test_stores_are_independent(factory) -> None:  # type: ignore[no-untyped-def]
    async with open_store("memory://") as one, open_store("memory://") as two:
        await one.sessions.create_session(Session(join_code="IND001"))
        assert await two.sessions.count_sessions() == 0


# Repositories held across ``initialize()`` and ``shutdown()`` follow the store's state.
# Found by the attack pass (was ``test_attack_lifecycle.py``): a repository fetched before
# ``initialize()`` raised a raw ``AssertionError('unreachable')`` once the store was open; one
# fetched while open kept reading and writing after ``shutdown()`` (on ``local://`` the writes
# went to memory only). Every call must check, when it runs, that the store is open.


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
