"""Any interleaving of writes and disconnects: what a watcher sees, resuming from its positions,
is exactly the log of the writes (each once, in order). On every engine."""

from __future__ import annotations

import asyncio

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from docstore import Session, SessionChange, Store, Student

from .conftest import StoreRunner

STUDENTS = ["ana", "bo", "a/b", "ünï"]
steps = st.lists(
    st.one_of(
        st.tuples(st.just("post"), st.sampled_from(STUDENTS)),
        st.tuples(st.just("code"), st.sampled_from(STUDENTS)),
        st.tuples(st.just("join"), st.sampled_from(["cy", "dee"])),
        st.tuples(st.just("feature"), st.just("")),
        st.tuples(st.just("read"), st.integers(0, 3)),
        st.tuples(st.just("reconnect"), st.just("")),
    ),
    max_size=25,
)


async def apply(store: Store, session_id: str, step: tuple[str, object], n: int) -> str:
    """Make one write; the kind of change it must show as."""
    kind, argument = step
    if kind == "post":
        await store.sessions.record_code(session_id, str(argument), f"post {n}")
        return f"revision_saved:{argument}:post {n}"
    if kind == "code":
        await store.sessions.update_student_code(session_id, str(argument), f"code {n}")
        return f"student_changed:{argument}:code {n}"
    if kind == "join":
        exists = await store.sessions.get_student(session_id, str(argument)) is not None
        await store.sessions.upsert_student(session_id, Student(id=str(argument), code=f"join {n}"))
        return f"{'student_changed' if exists else 'student_joined'}:{argument}:join {n}"
    await store.sessions.update_session(session_id, {"featured_code": f"feature {n}"})
    return f"session_changed::feature {n}"


def seen_as(change: SessionChange) -> str:
    if change.kind == "session_changed":
        assert change.session is not None
        return f"session_changed::{change.session.featured_code}"
    code = change.revision.code if change.revision is not None else change.student.code if change.student else ""
    return f"{change.kind}:{change.student_id}:{code}"


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(script=steps)
def test_resumed_feeds_see_every_write_once_in_order(
    engine_runner: StoreRunner, script: list[tuple[str, object]]
) -> None:
    store = engine_runner.store

    async def run() -> None:
        students = {sid: Student(id=sid) for sid in STUDENTS}
        session_id = await store.sessions.create_session(Session(join_code=None, students=students))
        expected: list[str] = []
        seen: list[str] = []
        feed = store.sessions.watch(session_id)
        await feed.__aenter__()
        try:
            for n, step in enumerate(script):
                if step[0] == "read":
                    for _ in range(min(int(str(step[1])), len(expected) - len(seen))):
                        seen.append(seen_as(await asyncio.wait_for(anext(feed), 10)))
                elif step[0] == "reconnect":
                    position = feed.position
                    await feed.aclose()
                    feed = store.sessions.watch(session_id, after=position)
                    await feed.__aenter__()
                else:
                    expected.append(await apply(store, session_id, step, n))
            while len(seen) < len(expected):
                seen.append(seen_as(await asyncio.wait_for(anext(feed), 10)))
        finally:
            await feed.aclose()
        assert seen == expected

    engine_runner.run(run())
