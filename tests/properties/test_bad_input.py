"""Whatever a caller passes, nothing reaches MongoDB as an operator or a pattern,
nothing too big or badly encoded reaches the driver, and a refused call changes nothing."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from docstore import CodeRevision, ErrorCode, PersistenceError, ProblemSpec, Session, Student
from docstore._mapping import MAX_DOCUMENT_BYTES
from tests.documents import all_documents

from .conftest import StoreRunner

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

operator_keys = st.sampled_from(["$set", "$where", "$ne", "$gt", "$regex", "$expr", "a.b", "$", ".", "students.x"])
field_names = st.sampled_from([*Session.model_fields, "_id", "_metadata", "active_join_code"])
keys = st.one_of(operator_keys, field_names, st.text(max_size=8))
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20))
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(keys, inner, max_size=3)),
    max_leaves=8,
)
hostile_ids = st.one_of(
    st.dictionaries(operator_keys, scalars, min_size=1, max_size=2),
    st.lists(scalars, max_size=2),
    st.integers(),
    st.none(),
    st.just(""),
    st.booleans(),
)


async def snapshot(runner: StoreRunner) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for name in ("sessions", "problems", "revisions"):
        found += await all_documents(runner.store, name)
    return found


def assert_no_operator_keys(value: Any) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            assert not key.startswith("$") and "." not in key, key
            assert_no_operator_keys(item)
    elif isinstance(value, list):
        for item in value:
            assert_no_operator_keys(item)


def seed(runner: StoreRunner) -> str:
    async def go() -> str:
        session_id = await runner.store.sessions.create_session(
            Session(join_code="SEED01", students={"s": Student(id="s", name="Ana")})
        )
        await runner.store.problems.save_problem(ProblemSpec(id="p", title="Loops", tags=["loops"]))
        await runner.store.revisions.save_revision(CodeRevision(id="r", session_id=session_id, student_id="s", code=""))
        return session_id

    return runner.run(go())


@SETTINGS
@given(updates=st.dictionaries(keys, values, max_size=4))
def test_arbitrary_updates_are_applied_or_refused_whole(runner: StoreRunner, updates: dict[str, Any]) -> None:
    session_id = "target"
    if runner.run(runner.store.sessions.get_session(session_id)) is None:
        runner.run(runner.store.sessions.create_session(Session(id=session_id, join_code="TARGET")))
    before = runner.run(snapshot(runner))
    try:
        runner.run(runner.store.sessions.update_session(session_id, updates))
    except PersistenceError as error:
        assert error.code in (ErrorCode.INVALID_DATA, ErrorCode.ALREADY_EXISTS), error
        assert runner.run(snapshot(runner)) == before
        return
    after = runner.run(snapshot(runner))
    for document in after:
        assert_no_operator_keys({k: v for k, v in document.items() if k not in ("_id", "_metadata")})
    assert len(after) == len(before)


@SETTINGS
@given(bad_id=hostile_ids)
def test_ids_never_become_filters(runner: StoreRunner, bad_id: Any) -> None:
    if not runner.run(snapshot(runner)):
        seed(runner)
    before = runner.run(snapshot(runner))
    calls = [
        runner.store.sessions.get_session(bad_id),
        runner.store.sessions.delete_session(bad_id),
        runner.store.sessions.update_session(bad_id, {"problem_text": "x"}),
        runner.store.sessions.update_student_code(bad_id, "s", "x"),
        runner.store.problems.get_problem(bad_id),
        runner.store.problems.delete_problem(bad_id),
        runner.store.revisions.get_revisions(bad_id, "s"),
        runner.store.revisions.delete_revisions(bad_id),
        runner.store.revisions.count_revisions(bad_id),
        runner.store.sessions.get_session_by_join_code(bad_id),
    ]
    for call in calls:
        try:
            result = runner.run(call)
        except PersistenceError as error:
            assert error.code in (ErrorCode.INVALID_DATA, ErrorCode.NOT_FOUND), error
        else:
            assert result in (None, 0, [], {}), result
    assert runner.run(snapshot(runner)) == before


@SETTINGS
@given(tags=st.lists(st.one_of(st.text(max_size=10), hostile_ids), max_size=4), query=st.text(max_size=40))
def test_tags_and_search_text_are_never_patterns(runner: StoreRunner, tags: list[Any], query: str) -> None:
    if not runner.run(snapshot(runner)):
        seed(runner)
    try:
        page = runner.run(runner.store.problems.list_problems(tags=tags))
    except PersistenceError as error:
        assert error.code is ErrorCode.INVALID_DATA
        assert not all(isinstance(tag, str) for tag in tags)
    else:
        assert all(isinstance(tag, str) for tag in tags)
        assert [p.id for p in page] == (["p"] if "loops" in tags else [] if tags else ["p"])
    found = runner.run(runner.store.problems.search_problems(query))
    words = {w.lower() for w in __import__("re").findall(r"\w+", query)}
    assert [p.id for p in found] == (["p"] if "loops" in words else [])


@SETTINGS
@given(text=st.text(alphabet=st.characters(codec=None, min_codepoint=0, max_codepoint=0x10FFFF), max_size=30))
def test_any_text_round_trips_or_is_refused_clearly(runner: StoreRunner, text: str) -> None:
    session_id = "unicode"
    if runner.run(runner.store.sessions.get_session(session_id)) is None:
        runner.run(runner.store.sessions.create_session(Session(id=session_id, students={"s": Student(id="s")})))
    before = runner.run(runner.store.sessions.get_session(session_id))
    try:
        runner.run(runner.store.sessions.update_student_code(session_id, "s", text))
    except PersistenceError as error:
        assert error.code is ErrorCode.INVALID_DATA
        assert any(0xD800 <= ord(ch) <= 0xDFFF for ch in text)  # only lone surrogates are refused
        assert runner.run(runner.store.sessions.get_session(session_id)) == before
    else:
        stored = runner.run(runner.store.sessions.get_session(session_id))
        assert stored is not None and stored.students["s"].code == text


def test_oversized_documents_are_invalid_before_the_driver(runner: StoreRunner) -> None:
    session_id = seed(runner)
    before = runner.run(snapshot(runner))
    huge = "x" * (MAX_DOCUMENT_BYTES + 1)
    calls: dict[str, Callable[[], Coroutine[Any, Any, Any]]] = {
        "save_revision": lambda: runner.store.revisions.save_revision(
            CodeRevision(session_id=session_id, student_id="s", code=huge)
        ),
        "update_student_code": lambda: runner.store.sessions.update_student_code(session_id, "s", huge),
        "upsert_student": lambda: runner.store.sessions.upsert_student(session_id, Student(id="t", code=huge)),
        "update_session": lambda: runner.store.sessions.update_session(session_id, {"problem_text": huge}),
        "save_problem": lambda: runner.store.problems.save_problem(ProblemSpec(title="big", description=huge)),
    }
    for name, call in calls.items():
        try:
            runner.run(call())
        except PersistenceError as error:
            assert error.code is ErrorCode.INVALID_DATA, name
            assert "bytes" in error.message, error.message
        else:
            raise AssertionError(f"{name} accepted an oversized write")
    assert runner.run(snapshot(runner)) == before
