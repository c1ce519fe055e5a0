"""Hostile argument types: every public call answers INVALID_DATA, never a raw TypeError.

Found by fuzzing every repository method with None, dicts, lists, huge ints, NaN,
bytes, str subclasses and models of the wrong kind (the attack pass on the seam).
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from docstore import ErrorCode, ProblemSpec, Store, Student

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
