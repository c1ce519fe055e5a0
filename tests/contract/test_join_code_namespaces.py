"""A namespace learns nothing of another's join codes or ids, and cannot take them (issue 16, item 4).

The rule: one active session per join code *within a namespace*; a namespace view looks
codes up in its own namespace only. The unscoped store (tools, the operator) looks at
every namespace; where several have the code, it answers with the namespace that sorts
first. Ids are global keys: an explicit id taken anywhere is ALREADY_EXISTS with one and
the same answer whichever namespace holds it (generated ids are unguessable).
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
    export_store,
    open_store,
    restore_store,
)

from .helpers import expect_error


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
