"""Namespace escapes found by the attack pass: what one scope writes stays where it belongs."""

from __future__ import annotations

from docstore import CodeRevision, ErrorCode, ProblemSpec, Session, Store, Student

from .helpers import expect_error


async def test_record_code_through_the_root_store_files_the_revision_in_the_sessions_namespace(store: Store) -> None:
    # The root store is unscoped; the revision used to get namespace "default", which the
    # session's own namespace could not see and did not delete with the session.
    school = store.for_namespace("school")
    session_id = await school.sessions.create_session(Session(join_code="ns1", students={"s": Student(id="s")}))
    revision = await store.sessions.record_code(session_id, "s", "print(1)")
    assert revision.namespace_id == "school"
    latest = await school.revisions.get_latest_revision(session_id, "s")
    assert latest is not None and latest.id == revision.id
    assert (await school.sessions.delete_session(session_id)).revisions_deleted == 1
    assert await store.revisions.count_revisions(session_id) == 0


async def test_root_save_problem_cannot_move_a_problem_out_of_its_namespace(store: Store) -> None:
    # namespace_id is frozen: replacing a problem through the root store with the
    # default namespace used to move it out of the namespace that owned it.
    school = store.for_namespace("school")
    problem_id = await school.problems.save_problem(ProblemSpec(title="mine"))
    await expect_error(ErrorCode.ALREADY_EXISTS, store.problems.save_problem(ProblemSpec(id=problem_id, title="moved")))
    kept = await school.problems.get_problem(problem_id)
    assert kept is not None and kept.title == "mine" and kept.namespace_id == "school"
    # Replacing it within its namespace still works, from the root store too.
    await store.problems.save_problem(ProblemSpec(id=problem_id, title="renamed", namespace_id="school"))
    renamed = await school.problems.get_problem(problem_id)
    assert renamed is not None and renamed.title == "renamed"


async def test_create_session_with_a_taken_id_says_the_id_is_taken_not_a_join_code(store: Store) -> None:
    session_id = await store.sessions.create_session(Session(join_code="idt"))
    for join_code in (None, "other"):
        error = await expect_error(
            ErrorCode.ALREADY_EXISTS, store.sessions.create_session(Session(id=session_id, join_code=join_code))
        )
        assert session_id in error.message and "join code" not in error.message
    error = await expect_error(ErrorCode.ALREADY_EXISTS, store.sessions.create_session(Session(join_code="IDT")))
    assert "join code" in error.message


async def test_a_view_cannot_file_revisions_under_a_session_of_another_namespace(store: Store) -> None:
    # Finding 13: such a revision was invisible to the session's namespace, yet counted in
    # the root store's overview of that session and deleted with it.
    school = store.for_namespace("school")
    other = store.for_namespace("other")
    session_id = await school.sessions.create_session(Session(join_code="ns13", students={"s": Student(id="s")}))
    stray = CodeRevision(session_id=session_id, student_id="s", code="x")
    await expect_error(ErrorCode.PERMISSION_DENIED, other.revisions.save_revision(stray))
    own = CodeRevision(session_id="elsewhere", student_id="s", code="y")
    await expect_error(ErrorCode.PERMISSION_DENIED, other.revisions.save_revisions([own, stray]))
    assert await store.revisions.count_revisions(session_id) == 0
    assert await store.revisions.count_revisions("elsewhere") == 0  # refused whole, before any write
    # Its own namespace's sessions, and sessions that do not exist (yet), are as before.
    assert await school.revisions.save_revision(stray)
    assert await other.revisions.save_revisions([own]) and await other.revisions.count_revisions("elsewhere") == 1
    assert await store.revisions.save_revision(CodeRevision(session_id=session_id, student_id="s", code="root"))
