"""Values no engine can store exactly are INVALID_DATA before anything is written, on every engine.

Documents included: a write that would grow a stored document past MongoDB's 16 MB is refused.
"""

from __future__ import annotations

import asyncio
import json
from collections import OrderedDict
from datetime import UTC, datetime, timedelta, timezone
from enum import IntEnum
from typing import Any

import pytest

from docstore import CodeRevision, ErrorCode, ExecutionResult, InstructorView, ProblemSpec, Session, Store, Student

from ..conftest import StoreFactory
from .helpers import expect_error


def nested(depth: int) -> Any:
    value: Any = "leaf"
    for _ in range(depth):
        value = {"d": value}
    return value


def deep_list(depth: int) -> Any:
    value: Any = []
    for _ in range(depth):
        value = [value]
    return value


HOSTILE_EXTRAS = [
    pytest.param({"deep": nested(101)}, id="dict-nesting-101"),
    pytest.param({"deep": nested(500)}, id="dict-nesting-500"),
    pytest.param({"deep": deep_list(5000)}, id="list-nesting-5000"),
    pytest.param({"n": 2**63}, id="int-2^63"),
    pytest.param({"n": -(2**63) - 1}, id="int-below-int64"),
    pytest.param({"text": "\ud83d"}, id="lone-surrogate"),
    pytest.param({"f": float("nan")}, id="nan"),
    pytest.param({"f": [1.0, float("inf")]}, id="inf-in-list"),
    pytest.param({"f": {"g": float("-inf")}}, id="minus-inf-nested"),
]


@pytest.mark.parametrize("extra", HOSTILE_EXTRAS)
async def test_hostile_values_are_invalid_data_and_nothing_is_kept(store: Store, extra: dict[str, Any]) -> None:
    await expect_error(ErrorCode.INVALID_DATA, store.sessions.create_session(Session(id="s", extra=extra)))
    await expect_error(ErrorCode.INVALID_DATA, store.problems.save_problem(ProblemSpec(id="p", title="t", extra=extra)))
    await expect_error(
        ErrorCode.INVALID_DATA, store.sessions.upsert_student("s", Student(id="a", extra=extra))
    )  # nothing to update either way; the value is refused first
    assert await store.sessions.get_session("s") is None
    assert await store.problems.get_problem("p") is None
    session_id = await store.sessions.create_session(Session(join_code="VAL001", students={"a": Student(id="a")}))
    await expect_error(ErrorCode.INVALID_DATA, store.sessions.update_session(session_id, {"extra": extra}))
    await expect_error(ErrorCode.INVALID_DATA, store.sessions.upsert_student(session_id, Student(id="b", extra=extra)))
    stored = await store.sessions.get_session(session_id)
    assert stored is not None and stored.extra == {} and set(stored.students) == {"a"}
    assert stored.metadata is not None and stored.metadata.version == 1


async def test_nesting_of_exactly_the_limit_is_stored(store: Store) -> None:
    # 100 levels in all: the document, "extra", "deep", then 97 more.
    session_id = await store.sessions.create_session(Session(extra={"deep": nested(97)}))
    stored = await store.sessions.get_session(session_id)
    assert stored is not None and stored.extra == {"deep": nested(97)}


async def test_datetimes_outside_years_1_to_9999_in_utc_are_invalid_data(store: Store) -> None:
    early = datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=5)))
    late = datetime(9999, 12, 31, 23, 0, tzinfo=timezone(timedelta(hours=-5)))
    session_id = await store.sessions.create_session(Session(join_code="DT0001"))
    for value in (early, late):
        await expect_error(ErrorCode.INVALID_DATA, store.sessions.update_session(session_id, {"ended_at": value}))
        await expect_error(ErrorCode.INVALID_DATA, store.revisions.get_revisions("s", "a", after=value))
    edge = datetime(9999, 12, 31, 23, 59, 59, 999000, tzinfo=UTC)
    updated = await store.sessions.update_session(session_id, {"ended_at": edge})
    assert updated.ended_at == edge


async def test_a_revision_with_a_hostile_execution_result_is_refused(store: Store) -> None:
    revision = CodeRevision(session_id="s", student_id="a", code="\ud800")
    await expect_error(ErrorCode.INVALID_DATA, store.revisions.save_revision(revision))
    assert await store.revisions.count_revisions("s") == 0


@pytest.mark.parametrize("difficulty", [{"$ne": 1}, ["beginner"], 3])
async def test_operator_shaped_filters_are_invalid_data(store: Store, difficulty: Any) -> None:
    await expect_error(ErrorCode.INVALID_DATA, store.problems.list_problems(difficulty=difficulty))
    await expect_error(ErrorCode.INVALID_DATA, store.problems.count_problems(difficulty=difficulty))


async def test_a_cursor_of_deep_brackets_is_invalid_data(store: Store) -> None:
    import base64

    cursor = base64.urlsafe_b64encode(b"[" * 100_000).decode()
    await expect_error(ErrorCode.INVALID_DATA, store.sessions.list_all_sessions(cursor=cursor))


NOT_FINITE = [float("nan"), float("inf"), float("-inf")]


@pytest.mark.parametrize("value", NOT_FINITE, ids=["nan", "inf", "-inf"])
async def test_a_not_finite_execution_time_is_invalid_data_and_nothing_is_kept(store: Store, value: float) -> None:
    # public() promises JSON, which has no NaN or Infinity: such a float is never stored.
    result = ExecutionResult(success=True, execution_time_ms=value)
    revision = CodeRevision(session_id="s", student_id="a", code="x", execution_result=result)
    await expect_error(ErrorCode.INVALID_DATA, store.revisions.save_revision(revision))
    await expect_error(ErrorCode.INVALID_DATA, store.revisions.save_revisions([revision]))
    session_id = await store.sessions.create_session(Session(join_code="NAN001", students={"a": Student(id="a")}))
    await expect_error(ErrorCode.INVALID_DATA, store.sessions.record_code(session_id, "a", "x", result))
    # Refused whole: neither the student's code nor a revision was written.
    stored = await store.sessions.get_session(session_id)
    assert stored is not None and stored.students["a"].code == ""
    assert stored.metadata is not None and stored.metadata.version == 1
    assert await store.revisions.count_revisions("s") == 0
    assert await store.revisions.count_revisions(session_id) == 0


async def test_a_lone_surrogate_in_recorded_code_is_invalid_data_and_nothing_is_kept(store: Store) -> None:
    session_id = await store.sessions.create_session(Session(join_code="SUR001", students={"a": Student(id="a")}))
    await expect_error(ErrorCode.INVALID_DATA, store.sessions.record_code(session_id, "a", "x\ud800"))
    stored = await store.sessions.get_session(session_id)
    assert stored is not None and stored.students["a"].code == ""
    assert await store.revisions.count_revisions(session_id) == 0


async def test_public_of_everything_stored_is_strict_json(store: Store) -> None:
    result = ExecutionResult(success=True, execution_time_ms=1.5)
    session_id = await store.sessions.create_session(
        Session(join_code="JSON01", students={"a": Student(id="a")}, extra={"f": 0.1, "big": 1e308})
    )
    recorded = await store.sessions.record_code(session_id, "a", "x", result)
    session = await store.sessions.get_session(session_id)
    assert session is not None
    for item in (recorded, *(await store.revisions.get_revisions(session_id, "a"))):
        json.dumps(item.public(), allow_nan=False)  # raises ValueError on NaN/Infinity
    with pytest.deprecated_call():  # Session.public() still works, deprecated for the audience views
        json.dumps(session.public(), allow_nan=False)
    json.dumps(InstructorView.of(session).model_dump(mode="json"), allow_nan=False)


# A write that would grow a stored document past MongoDB's 16 MB is INVALID_DATA on every engine.
# Found by the attack pass (was ``test_attack_document_size.py``): on memory:// (and local://,
# same engine) in-place updates (``record_code``, ``upsert_student``, ``update_session``) grew
# a session without limit (29 MB stored in a probe), while MongoDB refuses the same write
# (error 10334 -> INVALID_DATA). A classroom that passed its tests on memory:// then failed in
# production, and an export of such a store could not be restored on MongoDB. The memory
# engine now refuses such a write with MongoDB's error, leaving the document as it was.
MIB = 1024 * 1024


# Students are records of their own (issue 14): what grows in place is a student's record
# (record_code, update_student_code, upsert_student) or the session's own document
# (update_session). These tests planted the bulk in the session document, where students
# used to live; they now plant it where each write lands, with the same meaning.
BULKY = Student(id="s", extra={"notes": "n" * (9 * MIB)})


async def test_growing_a_session_past_16_mib_is_invalid_data_and_keeps_it(store: Store) -> None:
    session_id = await store.sessions.create_session(Session(join_code="big", students={"s": BULKY}))
    await expect_error(ErrorCode.INVALID_DATA, store.sessions.record_code(session_id, "s", "c" * (8 * MIB)))
    session = await store.sessions.get_session(session_id)
    assert session is not None and session.students["s"].code == ""
    assert await store.revisions.count_revisions(session_id) == 0


async def test_every_in_place_write_that_grows_a_session_too_far_is_refused(store: Store) -> None:
    session_id = await store.sessions.create_session(Session(join_code="big2", students={"s": BULKY}))
    await store.sessions.update_session(session_id, {"extra": {"notes": "n" * (9 * MIB)}})
    await expect_error(
        ErrorCode.INVALID_DATA,
        store.sessions.upsert_student(session_id, BULKY.model_copy(update={"code": "c" * (8 * MIB)})),
    )
    await expect_error(ErrorCode.INVALID_DATA, store.sessions.update_student_code(session_id, "s", "c" * (8 * MIB)))
    await expect_error(
        ErrorCode.INVALID_DATA, store.sessions.update_session(session_id, {"problem_text": "p" * (8 * MIB)})
    )
    session = await store.sessions.get_session(session_id)
    assert session is not None and set(session.students) == {"s"} and session.problem_text == ""
    assert session.students["s"] == BULKY
    assert session.metadata is not None and session.metadata.version == 2
    # Still writable below the limit: the refusal left nothing half-done.
    await store.sessions.record_code(session_id, "s", "ok")


async def test_a_refused_growth_stays_refused_when_the_store_is_reopened(factory: StoreFactory) -> None:
    # On local:// the journal replays every write, refused ones too: replayed, it is refused again.
    if factory.engine == "memory":
        pytest.skip("memory:// keeps nothing once closed")
    async with factory.open() as store:
        session_id = await store.sessions.create_session(Session(join_code="big3", students={"s": BULKY}))
        await store.sessions.update_session(session_id, {"extra": {"notes": "n" * (9 * MIB)}})
        await expect_error(ErrorCode.INVALID_DATA, store.sessions.record_code(session_id, "s", "c" * (8 * MIB)))
        await store.sessions.record_code(session_id, "s", "after")
    async with factory.open() as store:
        session = await store.sessions.get_session(session_id)
        assert session is not None and session.students["s"].code == "after"
        assert session.metadata is not None and session.metadata.version == 2  # posts leave it alone


class _Level(IntEnum):
    HIGH = 3


# Finding 7 (attack pass on the fast paths): local://'s update_session and update_problem
# returned the item built from the caller's values, not from what was stored: a tuple, an
# IntEnum, an OrderedDict, a datetime at +02:00 or with microseconds in ``extra`` came back as
# given, while the store (and every read after, and memory://'s answer) holds a list, an int,
# a dict, UTC at millisecond precision.
@pytest.mark.parametrize(
    "value",
    [
        pytest.param((1, (2,)), id="tuple"),
        pytest.param(_Level.HIGH, id="int-enum"),
        pytest.param(OrderedDict(a=1), id="ordered-dict"),
        pytest.param(datetime(2020, 1, 1, 12, tzinfo=timezone(timedelta(hours=2))), id="datetime-plus-2"),
        pytest.param(datetime(2020, 1, 1, 12, 0, 0, 123456, tzinfo=UTC), id="datetime-microseconds"),
    ],
)
async def test_an_update_returns_the_free_form_values_as_stored(store: Store, value: Any) -> None:
    session_id = await store.sessions.create_session(Session(join_code="FREE01"))
    problem_id = await store.problems.save_problem(ProblemSpec(title="free-form"))
    session = await store.sessions.update_session(session_id, {"extra": {"v": value}})
    problem = await store.problems.update_problem(problem_id, {"extra": {"v": value}})
    for returned, stored in [
        (session.extra["v"], (await store.sessions.get_session(session_id)).extra["v"]),  # type: ignore[union-attr]
        (problem.extra["v"], (await store.problems.get_problem(problem_id)).extra["v"]),  # type: ignore[union-attr]
    ]:
        assert returned == stored and type(returned) is type(stored) and repr(returned) == repr(stored)


# Finding 8 (attack pass on the fast paths): through a docstore server a datetime or bytes in
# ``extra`` comes back as text (the repository routes carry free-form values as plain JSON),
# where every engine in process gives back the datetime (aware UTC, milliseconds) or the bytes.
@pytest.mark.parametrize(
    "value",
    [
        pytest.param(datetime(2020, 1, 2, 3, 4, 5, 6000, tzinfo=UTC), id="datetime"),
        pytest.param(b"\x00bytes", id="bytes"),
    ],
)
async def test_free_form_datetimes_and_bytes_read_back_as_saved(store: Store, value: Any) -> None:
    revision_id = await store.revisions.save_revision(
        CodeRevision(session_id="s", student_id="u", code="x", extra={"v": value})
    )
    read = await store.revisions.get_revision(revision_id)
    assert read is not None and read.extra == {"v": value} and type(read.extra["v"]) is type(value)


# Finding 8, the other roads: an update, a nested model's extra (a student's, a problem's, a
# run's) and a page of answers carry free-form datetimes and bytes as every engine does.
_WHEN = datetime(2021, 5, 6, 7, 8, 9, 10000, tzinfo=UTC)
_FREE = {"when": _WHEN, "blob": b"\x01\xff", "list": [_WHEN, {"deep": b"x"}], "text": "plain", "n": 3}


async def test_free_form_values_in_updates_and_nested_items_read_back_as_saved(store: Store) -> None:
    session_id = await store.sessions.create_session(
        Session(join_code="FREE02", students={"s": Student(id="s", extra=_FREE)}, extra=_FREE)
    )
    updated = await store.sessions.update_session(
        session_id, {"extra": _FREE, "problem": ProblemSpec(title="p", extra=_FREE)}
    )
    assert updated.extra == _FREE and updated.problem is not None and updated.problem.extra == _FREE
    session = await store.sessions.get_session(session_id)
    assert session is not None and session.extra == _FREE and session.students["s"].extra == _FREE
    assert type(session.extra["list"][1]["deep"]) is bytes
    problem_id = await store.problems.save_problem(ProblemSpec(title="free", extra=_FREE))
    page = await store.problems.list_problems()
    assert [problem.extra for problem in page.items if problem.id == problem_id] == [_FREE]
    revision = await store.sessions.record_code(session_id, "s", "x", ExecutionResult(success=True, extra=_FREE))
    assert revision.execution_result is not None and revision.execution_result.extra == _FREE


# No engine stores a key starting with "$" in free-form values: on the wire such a key is
# Extended JSON, so a caller's own one is refused there too, never read as a date. Nor a
# naive datetime, which Extended JSON would otherwise carry as UTC.
@pytest.mark.parametrize(
    "extra",
    [{"$date": 0}, {"v": [{"$binary": "AA=="}]}, {"v": datetime(2020, 1, 1)}],
    ids=["top", "nested", "naive-datetime"],
)
async def test_dollar_keys_in_free_form_values_are_invalid_data(store: Store, extra: dict[str, Any]) -> None:
    await expect_error(
        ErrorCode.INVALID_DATA,
        store.revisions.save_revision(CodeRevision(session_id="s", student_id="u", code="x", extra=extra)),
    )
    assert await store.revisions.count_revisions("s") == 0


# Finding 8, the live feed: a change carries the student, session and revision with their
# free-form values as every engine gives them back.
async def test_the_feed_carries_free_form_datetimes_and_bytes(store: Store) -> None:
    session_id = await store.sessions.create_session(Session(join_code="FREE03"))
    async with store.sessions.watch(session_id) as feed:
        await store.sessions.upsert_student(session_id, Student(id="s", extra=_FREE))
        await store.sessions.update_session(session_id, {"extra": _FREE})
        joined = await asyncio.wait_for(anext(feed), 10)
        changed = await asyncio.wait_for(anext(feed), 10)
    assert joined.student is not None and joined.student.extra == _FREE
    assert changed.session is not None and changed.session.extra == _FREE


async def test_histories_carry_free_form_datetimes_and_bytes(store: Store) -> None:
    saved = [CodeRevision(session_id="h", student_id=s, code="x", extra=_FREE) for s in ("a", "b")]
    await store.revisions.save_revisions(saved)
    latest = await store.revisions.get_latest_revisions("h")
    history = await store.revisions.get_all_session_revisions("h")
    page = await store.revisions.get_revisions("h", "a")
    assert [r.extra for r in latest.values()] == [_FREE, _FREE]
    assert [r.extra for revisions in history.values() for r in revisions] == [_FREE, _FREE]
    assert [r.extra for r in page.items] == [_FREE]
