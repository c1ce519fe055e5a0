"""Finding: on local://, update_session(id, {"students": ...}) that KEEPS a student tells the
feed 'student_removed' then 'student_joined' for that student (memory:// says 'student_changed').

A dashboard applying the feed shows a student who never left as leaving and joining again,
and the two backends disagree on the same write.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from docstore import Session, Student, open_store

from ._feed_helpers import drain


@pytest.mark.parametrize("engine", ["memory", "local"])
async def test_kept_student_is_not_removed(engine: str, tmp_path: Path) -> None:
    url = "memory://" if engine == "memory" else f"local://{tmp_path}/store"
    async with open_store(url) as store:
        ns = store.for_namespace("A")
        session_id = await ns.sessions.create_session(Session(join_code="kc11"))
        await ns.sessions.upsert_student(session_id, Student(id="kept", name="one"))
        await ns.sessions.upsert_student(session_id, Student(id="gone", name="two"))
        async with ns.sessions.watch(session_id) as feed:
            await ns.sessions.update_session(
                session_id, {"students": {"kept": Student(id="kept", name="renamed")}}
            )
            changes = await drain(feed)
    about_kept = [c.kind for c in changes if c.student_id == "kept"]
    assert "student_removed" not in about_kept, about_kept
    assert about_kept == ["student_changed"], about_kept
    assert [c.kind for c in changes if c.student_id == "gone"] == ["student_removed"]
