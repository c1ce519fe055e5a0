"""The shared argument checks: what every backend accepts, and INVALID_DATA for the rest."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from docstore import ErrorCode, PersistenceError, Student
from docstore._arguments import (
    check_difficulty,
    check_limit,
    check_sequence,
    check_sort_key,
    check_tags,
    check_version,
    revalidated,
)
from docstore._models import ExecutionResult

NOT_A_STRING: list[Any] = [None, 1, 1.5, b"x", ["a"], {"a": 1}, {"$ne": None}, object(), Student(id="s")]


def invalid(call: Any, *args: Any) -> PersistenceError:
    with pytest.raises(PersistenceError) as caught:
        call(*args)
    assert caught.value.code is ErrorCode.INVALID_DATA
    return caught.value


@pytest.mark.parametrize("value", [*NOT_A_STRING, "nope"])
def test_a_sort_key_outside_the_allowed_ones_is_invalid_data(value: Any) -> None:
    invalid(check_sort_key, value, ("created_at", "title"))


def test_an_allowed_sort_key_passes() -> None:
    assert check_sort_key("title", ("created_at", "title")) == "title"


@pytest.mark.parametrize("tags", ["ab", b"ab", {"a": 1}, 5, True, float("nan"), object(), ["a", 1], [None]])
def test_tags_that_are_not_strings_in_an_iterable_are_invalid_data(tags: Any) -> None:
    invalid(check_tags, tags, "any")


def test_tags_from_a_generator_are_read_once_into_a_list() -> None:
    assert check_tags((tag for tag in ["a", "b"]), "all") == ["a", "b"]
    assert check_tags(None, "not checked without tags") is None


@pytest.mark.parametrize("match", [None, "ANY", ["any"], {"any": 1}])
def test_match_is_checked_with_tags(match: Any) -> None:
    invalid(check_tags, ["a"], match)


@pytest.mark.parametrize("difficulty", ["impossible", 1, {"$ne": None}, ["easy"]])
def test_a_difficulty_outside_the_model_is_invalid_data(difficulty: Any) -> None:
    invalid(check_difficulty, difficulty)


@pytest.mark.parametrize("limit", [0, -1, True, 1.0, "5", None])
def test_a_limit_that_is_not_a_positive_int_is_invalid_data(limit: Any) -> None:
    invalid(check_limit, limit)


@pytest.mark.parametrize("version", [True, "1", 1.0])
def test_an_expected_version_that_is_not_an_int_is_invalid_data(version: Any) -> None:
    invalid(check_version, version)


@pytest.mark.parametrize("items", [5, None, "abc", b"abc", {"a": 1}, iter([1]), object()])
def test_something_not_a_sequence_is_invalid_data(items: Any) -> None:
    error = invalid(check_sequence, items, "revisions", "CodeRevision")
    assert "revisions" in error.message


@given(st.lists(st.integers(), max_size=5) | st.tuples(st.integers()))
def test_a_sequence_comes_back_as_a_list_of_the_same_items(items: Any) -> None:
    assert check_sequence(items, "items", "int") == list(items)


def test_a_model_changed_by_attribute_assignment_is_invalid_data() -> None:
    result = ExecutionResult(success=True)
    result.output = 5  # type: ignore[assignment]  # pydantic does not validate assignment
    error = invalid(revalidated, ExecutionResult, result, "execution_result")
    assert "output" in error.message


def test_a_value_of_another_type_is_invalid_data_naming_the_argument() -> None:
    error = invalid(revalidated, ExecutionResult, {"output": "x"}, "execution_result")
    assert "execution_result" in error.message


def test_a_valid_model_comes_back_as_an_equal_copy() -> None:
    student = Student(id="s", code="x")
    assert revalidated(Student, student) == student
