"""Checks of a caller's arguments that every backend makes the same way.

Each backend translates the checked values into its own query language; what a
caller may pass, and the INVALID_DATA it gets otherwise, is decided here once, so
``mongodb://``, ``memory://`` and ``local://`` can never drift apart on it.
Checks go by ``type(...) is`` first: an unhashable value (a dict, a model) must be
INVALID_DATA, never the TypeError a set lookup would raise.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any, TypeVar, get_args

from pydantic import BaseModel, ValidationError

from ._mapping import invalid, require_id
from ._models import CodeRevision, Difficulty, ExecutionResult
from ._page import MAX_PAGE_SIZE

__all__ = [
    "check_active",
    "check_batch_size",
    "check_difficulty",
    "check_include_students",
    "check_limit",
    "check_match",
    "check_sequence",
    "check_sort_key",
    "check_tags",
    "check_version",
    "new_revision",
    "revalidated",
]

M = TypeVar("M", bound=BaseModel)
_DIFFICULTIES = frozenset(get_args(Difficulty))


def check_sort_key(sort_by: object, allowed: Collection[str]) -> str:
    """A sort key among ``allowed``."""
    if type(sort_by) is not str or sort_by not in allowed:
        raise invalid(f"sort_by must be one of {sorted(allowed)}, not {sort_by!r}")
    return sort_by


def check_difficulty(difficulty: object) -> str | None:
    """None (any difficulty) or one of the model's difficulties."""
    if difficulty is not None and (type(difficulty) is not str or difficulty not in _DIFFICULTIES):
        raise invalid(f"difficulty must be one of {sorted(_DIFFICULTIES)}, not {difficulty!r}")
    return difficulty


def check_match(match: object) -> str:
    if type(match) is not str or match not in ("any", "all"):
        raise invalid(f"match must be 'any' or 'all', not {match!r}")
    return match


def check_tags(tags: object, match: object) -> list[str] | None:
    """None (no tag filter) or the tags as a list of strings; ``match`` checked with them.

    A str, a dict (its keys) or a number must not pass as tags; a generator is read
    once, here, so the backend's filter never gets an exhausted one.
    """
    if tags is None:
        return None
    if isinstance(tags, str | bytes | Mapping) or not isinstance(tags, Iterable):
        raise invalid("tags must be a list of strings")
    listed: list[Any] = list(tags)
    if not all(type(tag) is str for tag in listed):
        raise invalid("tags must be a list of strings")
    check_match(match)
    return listed


def check_active(active: object) -> bool | None:
    if active is not None and type(active) is not bool:
        raise invalid("active must be a bool or None")
    return active


def check_batch_size(batch_size: object) -> int:
    """``iter_documents``' ``batch_size``: how many documents one read fetches, a positive int on
    every engine (a driver would take 0 as its own default and raise a raw error for a non-int)."""
    if type(batch_size) is not int or batch_size < 1:
        raise invalid("batch_size must be a positive int")
    return batch_size


def check_include_students(include_students: object) -> bool:
    """``get_session``'s and ``get_session_by_join_code``'s ``include_students``: a bool, nothing else."""
    if type(include_students) is not bool:
        raise invalid("include_students must be a bool")
    return include_students


def check_limit(limit: object) -> int:
    """A limit of a search or a stream: the rule of every page (``check_page_arguments``),
    1 to ``MAX_PAGE_SIZE``, so no call reads more at once than a listing may."""
    if type(limit) is not int or not 0 < limit <= MAX_PAGE_SIZE:
        raise invalid(f"limit must be an int from 1 to {MAX_PAGE_SIZE}")
    return limit


def check_version(expected_version: object) -> int | None:
    if expected_version is not None and type(expected_version) is not int:
        raise invalid("expected_version must be an int")
    return expected_version


def check_sequence(items: object, what: str, of: str) -> list[Any]:
    """A sequence of items as a list (a str, a mapping or a generator is not one)."""
    if isinstance(items, str | bytes) or not isinstance(items, Sequence):
        raise invalid(f"{what} must be a sequence of {of}, not {type(items).__name__}")
    return list(items)


def revalidated(model: type[M], value: object, what: str | None = None) -> M:
    """A caller's ``model`` instance, validated again from its plain dump.

    pydantic does not validate attribute assignment: an instance changed after it was
    made may hold anything, and must not be stored as is.
    """
    if not isinstance(value, model):
        if what is None:
            raise invalid(f"expected a {model.__name__}, got {type(value).__name__}")
        raise invalid(f"{what} must be a {model.__name__}, not {type(value).__name__}")
    try:
        return model.model_validate(value.model_dump(warnings=False))
    except ValidationError as exc:
        detail = exc.errors()[0]
        where = ".".join(map(str, detail["loc"])) or model.__name__
        raise invalid(f"{model.__name__}: {where}: {detail['msg']}") from None


def new_revision(
    session_id: object, student_id: object, code: object, execution_result: object = None
) -> CodeRevision:
    """The revision a ``record_code`` call makes, from the caller's arguments (not yet stamped)."""
    if not isinstance(code, str):
        raise invalid("code must be a string")
    if execution_result is not None:
        execution_result = revalidated(ExecutionResult, execution_result, "execution_result")
    return CodeRevision(
        session_id=require_id(session_id, "session id"),
        student_id=require_id(student_id, "student id"),
        code=code,
        execution_result=execution_result,
    )
