"""Namespaces, on every engine: a view never reads, counts, changes or deletes another namespace's data.

What one scope writes stays in the namespace it belongs to, and a namespace learns nothing of
another's join codes or ids, nor can it take them. (The same isolation through random
sequences of calls: ``tests/properties/test_namespace_isolation.py``.)
"""

from __future__ import annotations

from pathlib import Path

import pytest

from docstore import (
    CodeRevision,
    ErrorCode,
    InvalidBackup,
    ProblemSpec,
    Session,
    Store,
    Student,
    export_store,
    open_store,
    restore_store,
)

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


# What one scope writes stays where it belongs (from ``test_values.py``): an update never moves an item out.
async def test_namespace_id_cannot_be_updated(store: Store) -> None:
    evil = store.for_namespace("evil")
    problem_id = await evil.problems.save_problem(ProblemSpec(title="mine"))
    session_id = await evil.sessions.create_session(Session(join_code="EVIL01"))
    await expect_error(ErrorCode.INVALID_DATA, evil.problems.update_problem(problem_id, {"namespace_id": "cs101"}))
    await expect_error(ErrorCode.INVALID_DATA, evil.sessions.update_session(session_id, {"namespace_id": "cs101"}))
    assert await store.for_namespace("cs101").problems.count_problems() == 0
    assert await store.for_namespace("cs101").sessions.count_sessions() == 0
    problem = await evil.problems.get_problem(problem_id)
    assert problem is not None and problem.namespace_id == "evil"


# Namespace escapes found by the attack pass (was ``test_attack_namespaces.py``).
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


# Found by the attack pass on end_session (was ``test_attack_end_session.py``).
async def test_end_session_of_another_namespace_is_not_found(store: Store) -> None:
    session_id = await store.for_namespace("a").sessions.create_session(Session(join_code="nsend"))
    await expect_error(ErrorCode.NOT_FOUND, store.for_namespace("b").sessions.end_session(session_id))
    kept = await store.sessions.get_session(session_id)
    assert kept is not None and kept.active


# Join codes and ids across namespaces (issue 16, item 4; was ``test_join_code_namespaces.py``).
# The rule: one active session per join code *within a namespace*; a namespace view looks
# codes up in its own namespace only. The unscoped store (tools, the operator) looks at
# every namespace; where several have the code, it answers with the namespace that sorts
# first. Ids are global keys: an explicit id taken anywhere is ALREADY_EXISTS with one and
# the same answer whichever namespace holds it (generated ids are unguessable).
async def test_another_namespaces_code_is_neither_revealed_nor_taken(store: Store) -> None:
    mine, theirs = store.for_namespace("zz-mine"), store.for_namespace("aa-theirs")
    private = await theirs.sessions.create_session(Session(join_code="PRIV99"))
    # Not "an active session already uses join code 'PRIV99'": the code is free here.
    own = await mine.sessions.create_session(Session(join_code="priv99"))
    found = await mine.sessions.get_session_by_join_code("PRIV99")
    assert found is not None and found.id == own
    found = await theirs.sessions.get_session_by_join_code("PRIV99")
    assert found is not None and found.id == private
    # Still one active session per code within a namespace.
    await expect_error(ErrorCode.ALREADY_EXISTS, mine.sessions.create_session(Session(join_code="PRIV99")))
    # The unscoped store sees every namespace: the one that sorts first answers.
    found = await store.sessions.get_session_by_join_code("PRIV99")
    assert found is not None and found.id == private


async def test_a_code_another_namespace_frees_stays_its_own(store: Store) -> None:
    mine, theirs = store.for_namespace("ns-mine"), store.for_namespace("ns-theirs")
    theirs_id = await theirs.sessions.create_session(Session(join_code="FREE01"))
    await theirs.sessions.end_session(theirs_id)
    squat = await mine.sessions.create_session(Session(join_code="FREE01"))
    # Taking it here did not take it from them: they reactivate, or start again, with it.
    await theirs.sessions.update_session(theirs_id, {"active": True})
    await theirs.sessions.end_session(theirs_id)
    again = await theirs.sessions.create_session(Session(join_code="FREE01"))
    assert (await theirs.sessions.get_session_by_join_code("free01")).id == again  # type: ignore[union-attr]
    assert (await mine.sessions.get_session_by_join_code("free01")).id == squat  # type: ignore[union-attr]
    # A code change and a reactivation in one namespace never clash with the other's.
    other = await mine.sessions.create_session(Session(join_code="OTHER2"))
    await mine.sessions.end_session(squat)
    await mine.sessions.update_session(other, {"join_code": "FREE01"})
    await expect_error(ErrorCode.ALREADY_EXISTS, mine.sessions.update_session(squat, {"active": True}))


async def test_a_taken_id_answers_the_same_whichever_namespace_holds_it(store: Store) -> None:
    mine, theirs = store.for_namespace("ns-mine"), store.for_namespace("ns-theirs")
    await theirs.sessions.create_session(Session(id="their-session"))
    await mine.sessions.create_session(Session(id="my-session"))
    elsewhere = await expect_error(ErrorCode.ALREADY_EXISTS, mine.sessions.create_session(Session(id="their-session")))
    here = await expect_error(ErrorCode.ALREADY_EXISTS, mine.sessions.create_session(Session(id="my-session")))
    assert elsewhere.message == here.message.replace("my-session", "their-session")

    def revision(item_id: str) -> CodeRevision:
        return CodeRevision(id=item_id, session_id="s", student_id="st", code="x")

    await theirs.revisions.save_revision(revision("their-revision"))
    await mine.revisions.save_revision(revision("my-revision"))
    elsewhere = await expect_error(ErrorCode.ALREADY_EXISTS, mine.revisions.save_revision(revision("their-revision")))
    here = await expect_error(ErrorCode.ALREADY_EXISTS, mine.revisions.save_revision(revision("my-revision")))
    assert elsewhere.message == here.message.replace("my-revision", "their-revision")
    # save_problem replaces the view's own problem; another's id is refused, naming nothing but the id.
    await theirs.problems.save_problem(ProblemSpec(id="their-problem", title="t"))
    refused = await expect_error(
        ErrorCode.ALREADY_EXISTS, mine.problems.save_problem(ProblemSpec(id="their-problem", title="t"))
    )
    assert "ns-theirs" not in refused.message and "'t'" not in refused.message
    assert await mine.problems.get_problem("their-problem") is None


async def test_a_backup_holds_one_code_in_several_namespaces_and_restores_it(tmp_path: Path) -> None:
    async with open_store("memory://") as source:
        await source.for_namespace("a").sessions.create_session(Session(id="a1", join_code="BOTH01"))
        await source.for_namespace("b").sessions.create_session(Session(id="b1", join_code="BOTH01"))
        await export_store(source, tmp_path / "backup")
    async with open_store("memory://") as target:
        await target.for_namespace("c").sessions.create_session(Session(id="c1", join_code="both01"))
        await restore_store(target, tmp_path / "backup")
        for namespace in ("a", "b", "c"):
            found = await target.for_namespace(namespace).sessions.get_session_by_join_code("BOTH01")
            assert found is not None and found.id == f"{namespace}1"
    # Within one namespace, two active sessions with one code (however spelt) are still refused.
    lines = (tmp_path / "backup" / "sessions.jsonl").read_text()
    (tmp_path / "backup" / "sessions.jsonl").write_text(lines.replace('"b"', '"a"').replace("BOTH01", "both01 "))
    async with open_store("memory://") as empty:
        with pytest.raises(InvalidBackup, match="also that of session"):
            await restore_store(empty, tmp_path / "backup")
