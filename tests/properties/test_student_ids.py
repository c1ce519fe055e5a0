"""Any student id the contract allows (1..256 characters, no NUL) round-trips everywhere it is used.

The attack pass tried ``%2E``, ``a.b``, ``$where``, ``__proto__`` and 256/257 characters
by hand; this states it for every such id, and that distinct ids never collide once
escaped into field names (``a.b`` vs ``a%2Eb``).
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from docstore import Session, Student

from .conftest import StoreRunner

SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

# Valid text (no lone surrogates, which no engine can store) without NUL, weighted
# towards the characters the field escaping touches.
tricky = st.sampled_from(["%", ".", "$", "%2E", "%25", "%24", "__proto__", "a", " "])
plain = st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00")
student_ids = (
    st.lists(st.one_of(tricky, plain), min_size=1, max_size=40).map("".join).filter(lambda text: 0 < len(text) <= 256)
)


@SETTINGS
@given(ids=st.lists(student_ids, min_size=1, max_size=4, unique=True))
def test_every_allowed_student_id_round_trips(runner: StoreRunner, ids: list[str]) -> None:
    async def go() -> None:
        sessions, revisions = runner.store.sessions, runner.store.revisions
        session_id = await sessions.create_session(Session())
        for student_id in ids:
            await sessions.upsert_student(session_id, Student(id=student_id))
        for student_id in ids:
            await sessions.record_code(session_id, student_id, f"code of {student_id}")
        session = await sessions.get_session(session_id)
        assert session is not None
        assert sorted(session.students) == sorted(ids)
        assert all(session.students[sid].code == f"code of {sid}" for sid in ids)
        overview = await revisions.get_latest_revisions(session_id)
        assert sorted(overview) == sorted(ids)
        for student_id in ids:
            stream = await revisions.get_revisions(session_id, student_id)
            assert [revision.code for revision in stream] == [f"code of {student_id}"]
        await sessions.delete_session(session_id)

    runner.run(go())
