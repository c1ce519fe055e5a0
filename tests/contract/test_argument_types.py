"""Hostile argument types: every public call answers INVALID_DATA, never a raw TypeError.

Models changed after validation included: they cannot poison the store.
Found by fuzzing every repository method with None, dicts, lists, huge ints, NaN,
bytes, str subclasses and models of the wrong kind (the attack pass on the seam).
"""

from __future__ import annotations

import math
from collections import UserDict
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

import pytest

from docstore import CodeRevision, ErrorCode, ExecutionResult, ProblemSpec, Session, Store, Student

from ..conftest import StoreFactory
from .helpers import expect_error

NOT_ITERABLE = [
    pytest.param(0, id="int"),
    pytest.param(True, id="bool"),
    pytest.param(math.nan, id="nan"),
    pytest.param(2**70, id="huge-int"),
    pytest.param(object(), id="object"),
]
UNHASHABLE = [
    pytest.param({}, id="dict"),
    pytest.param({"$ne": None}, id="operator-dict"),
    pytest.param(["created_at"], id="list"),
    pytest.param(ProblemSpec(title="t"), id="model"),
    pytest.param(Student(id="s"), id="student"),
]


@pytest.mark.parametrize("sort_by", UNHASHABLE)
async def test_list_all_sessions_sort_by_of_any_type_is_invalid_data(store: Store, sort_by: Any) -> None:
    await expect_error(ErrorCode.INVALID_DATA, store.sessions.list_all_sessions(sort_by=sort_by))


@pytest.mark.parametrize("sort_by", UNHASHABLE)
async def test_list_problems_sort_by_of_any_type_is_invalid_data(store: Store, sort_by: Any) -> None:
    await expect_error(ErrorCode.INVALID_DATA, store.problems.list_problems(sort_by=sort_by))


@pytest.mark.parametrize("tags", NOT_ITERABLE)
async def test_list_problems_tags_that_are_not_a_list_are_invalid_data(store: Store, tags: Any) -> None:
    await expect_error(ErrorCode.INVALID_DATA, store.problems.list_problems(tags=tags))


@pytest.mark.parametrize("tags", NOT_ITERABLE)
async def test_count_problems_tags_that_are_not_a_list_are_invalid_data(store: Store, tags: Any) -> None:
    await expect_error(ErrorCode.INVALID_DATA, store.problems.count_problems(tags=tags))


@pytest.mark.parametrize("match", UNHASHABLE)
async def test_list_problems_match_of_any_type_is_invalid_data(store: Store, match: Any) -> None:
    await expect_error(ErrorCode.INVALID_DATA, store.problems.list_problems(tags=["x"], match=match))


@pytest.mark.parametrize("revisions", [*NOT_ITERABLE, pytest.param(None, id="none")])
async def test_save_revisions_of_something_not_a_sequence_is_invalid_data(store: Store, revisions: Any) -> None:
    await expect_error(ErrorCode.INVALID_DATA, store.revisions.save_revisions(revisions))


async def test_list_problems_tags_from_a_generator_filter_like_a_list(store: Store) -> None:
    # all() used to consume the generator before the query read it: no filter at all.
    await store.problems.save_problem(ProblemSpec(title="a", tags=["loops"]))
    await store.problems.save_problem(ProblemSpec(title="b", tags=["io"]))
    found = await store.problems.list_problems(tags=(tag for tag in ["loops"]))  # type: ignore[arg-type]
    assert [problem.title for problem in found] == ["a"]
    assert await store.problems.count_problems(tags=(tag for tag in ["loops"])) == 1  # type: ignore[arg-type]


@pytest.mark.parametrize("tags", [pytest.param({"loops": 1}, id="dict"), pytest.param(b"loops", id="bytes")])
async def test_list_problems_tags_as_a_mapping_or_bytes_is_invalid_data(store: Store, tags: Any) -> None:
    await expect_error(ErrorCode.INVALID_DATA, store.problems.list_problems(tags=tags))


# A model changed after validation cannot poison the store.
# pydantic does not validate attribute assignment (nor ``model_construct``), so a caller's
# ``ExecutionResult`` or ``ProblemSpec`` may hold wrong types. The attack pass found that
# ``record_code`` and ``update_session`` stored them as given (was ``test_attack_unvalidated_models.py``):
# the write succeeded and every later read or write of the session/revision was STORAGE_ERROR.
# It must be INVALID_DATA at the write, with nothing written.
async def session_with_student(store: Store) -> str:
    return await store.sessions.create_session(Session(join_code="uv1", students={"s": Student(id="s")}))


async def test_record_code_with_a_mutated_execution_result_is_invalid_data(store: Store) -> None:
    session_id = await session_with_student(store)
    result = ExecutionResult(success=True)
    bad: Any = 5
    result.output = bad  # no validation on assignment
    await expect_error(ErrorCode.INVALID_DATA, store.sessions.record_code(session_id, "s", "x", result))
    assert await store.revisions.count_revisions(session_id) == 0
    assert await store.revisions.get_latest_revisions(session_id) == {}


async def test_update_session_with_a_mutated_problem_is_invalid_data(store: Store) -> None:
    session_id = await session_with_student(store)
    problem = ProblemSpec(title="t")
    bad: Any = 5
    problem.title = bad
    await expect_error(ErrorCode.INVALID_DATA, store.sessions.update_session(session_id, {"problem": problem}))
    session = await store.sessions.get_session(session_id)
    assert session is not None and session.problem is None


async def test_update_session_with_a_constructed_student_is_invalid_data(store: Store) -> None:
    session_id = await session_with_student(store)
    student = Student.model_construct(id="s", code=7)  # type: ignore[arg-type]  # the point: not a str
    await expect_error(ErrorCode.INVALID_DATA, store.sessions.update_session(session_id, {"students": {"s": student}}))
    session = await store.sessions.get_session(session_id)
    assert session is not None and session.students["s"].code == ""


# Finding 5 (attack pass on the fast paths): the remote client sends any iterable as the
# revisions of save_revisions (it lists a generator or a dict's values and the server saves
# them), where every engine in process refuses what is not a sequence (``check_sequence``).
@pytest.mark.parametrize("kind", ["generator", "dict-values"])
async def test_save_revisions_of_an_iterable_that_is_not_a_sequence_is_invalid_data(store: Store, kind: str) -> None:
    revision = CodeRevision(session_id="s", student_id="u", code="x")
    given: Any = (item for item in [revision]) if kind == "generator" else {revision.id: revision}.values()
    await expect_error(ErrorCode.INVALID_DATA, store.revisions.save_revisions(given))
    assert await store.revisions.count_revisions("s") == 0


# Finding 6 (attack pass on the fast paths): every engine in process takes an update given as
# any mapping; the remote client refused one that is not a dict (mappingproxy, UserDict) as
# INVALID_DATA, "cannot be sent": the same call answered two ways.
@pytest.mark.parametrize("mapping", [MappingProxyType, UserDict], ids=["mappingproxy", "userdict"])
async def test_update_session_takes_updates_as_any_mapping(
    store: Store, mapping: Callable[[dict[str, Any]], Mapping[str, Any]]
) -> None:
    session_id = await store.sessions.create_session(Session(join_code="MAPPED"))
    updated = await store.sessions.update_session(session_id, mapping({"problem_text": "given as a mapping"}))  # type: ignore[arg-type]
    assert updated.problem_text == "given as a mapping"
    assert (await store.sessions.get_session(session_id)).problem_text == "given as a mapping"  # type: ignore[union-attr]


LONE_SURROGATE_ID = "a\ud800b"


async def _enter(watch: Any, session_id: str) -> None:
    """Open a feed (refused when called, or when entered, as an engine checks it) and leave it."""
    async with watch(session_id):
        pass


async def test_an_id_holding_a_lone_surrogate_is_invalid_data_on_every_engine(factory: StoreFactory) -> None:
    """Finding 4 of the remote/server attack (tester5): an id no engine can store (a lone
    surrogate) was INVALID_DATA on local:// and through a server (its JSON is refused), but
    memory:// (and so MongoDB's dialect) answered it as an id that is not there: None, an empty
    page, 0, NOT_FOUND. Now refused alike (``_mapping.require_id``)."""
    async with factory.open() as store:
        for call in (
            lambda: store.sessions.get_session(LONE_SURROGATE_ID),
            lambda: store.sessions.update_session(LONE_SURROGATE_ID, {"featured_code": "x"}),
            lambda: store.sessions.count_students(LONE_SURROGATE_ID),
            lambda: _enter(store.sessions.watch, LONE_SURROGATE_ID),
            lambda: store.problems.get_problem(LONE_SURROGATE_ID),
            lambda: store.revisions.get_revisions(LONE_SURROGATE_ID, "s1"),
        ):
            await expect_error(ErrorCode.INVALID_DATA, call())
