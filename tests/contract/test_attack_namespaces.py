"""Namespace escapes found by the attack pass: what one scope writes stays where it belongs."""

from __future__ import annotations

from docstore import ErrorCode, ProblemSpec, Session, Store, Student

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
