"""A namespace view never reads, counts, changes or deletes another namespace's data."""

from __future__ import annotations

from docstore import CodeRevision, ErrorCode, ProblemSpec, Session, Store, Student

from .helpers import expect_error


async def test_views_see_only_their_namespace(store: Store) -> None:
    cs101 = store.for_namespace("cs101", actor="teacher-a")
    art = store.for_namespace("art")

    mine = await cs101.sessions.create_session(Session(join_code="NS0001", namespace_id="art"))
    theirs = await art.sessions.create_session(Session(join_code="NS0002"))
    stored = await cs101.sessions.get_session(mine)
    assert stored is not None and stored.namespace_id == "cs101"  # stamped with the view's namespace
    assert stored.metadata is not None and stored.metadata.created_by == "teacher-a"

    assert await cs101.sessions.get_session(theirs) is None
    assert await cs101.sessions.get_session_by_join_code("NS0002") is None
    assert await cs101.sessions.count_sessions() == 1
    assert [s.id for s in await cs101.sessions.list_all_sessions()] == [mine]
    await expect_error(ErrorCode.NOT_FOUND, cs101.sessions.update_session(theirs, {"problem_text": "x"}))
    await expect_error(ErrorCode.NOT_FOUND, cs101.sessions.upsert_student(theirs, Student(id="s")))
    await expect_error(ErrorCode.NOT_FOUND, cs101.sessions.delete_session(theirs))

    problem_id = await art.problems.save_problem(ProblemSpec(title="Colour wheel", tags=["colour"]))
    assert await cs101.problems.get_problem(problem_id) is None
    assert await cs101.problems.search_problems("colour") == []
    assert await cs101.problems.tag_counts() == {}
    assert await cs101.problems.count_problems() == 0
    # Same id from another namespace may not overwrite it.
    await expect_error(ErrorCode.ALREADY_EXISTS, cs101.problems.save_problem(ProblemSpec(id=problem_id, title="Mine")))
    await expect_error(ErrorCode.NOT_FOUND, cs101.problems.delete_problem(problem_id))

    await art.revisions.save_revision(CodeRevision(session_id=theirs, student_id="s", code="x"))
    assert await cs101.revisions.count_revisions(theirs) == 0
    assert await cs101.revisions.get_latest_revisions(theirs) == {}
    assert await cs101.revisions.delete_revisions(theirs) == 0
    assert await art.revisions.count_revisions(theirs) == 1

    # The unscoped store is the operator's view: it sees both.
    assert await store.sessions.count_sessions() == 2
    assert (await store.problems.get_problem(problem_id)) is not None


async def test_items_default_to_the_default_namespace(store: Store) -> None:
    session_id = await store.sessions.create_session(Session(join_code="DEF001"))
    assert (await store.for_namespace("default").sessions.get_session(session_id)) is not None


async def test_an_actor_is_recorded_on_what_it_writes(store: Store) -> None:
    teacher = store.as_actor("teacher@school.org")
    session_id = await teacher.sessions.create_session(Session(join_code="ACT001"))
    created = await store.sessions.get_session(session_id)
    assert created is not None and created.metadata is not None
    assert (created.metadata.created_by, created.metadata.modified_by) == ("teacher@school.org", "teacher@school.org")
    updated = await store.as_actor("assistant").sessions.update_session(session_id, {"problem_text": "x"})
    assert updated.metadata is not None
    assert (updated.metadata.created_by, updated.metadata.modified_by) == ("teacher@school.org", "assistant")
