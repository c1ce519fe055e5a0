"""A stored document damaged behind the repositories' back is STORAGE_ERROR naming the item.

Tools write whole documents through ``Store.documents`` (import, restore). A document
that does not match the domain types must never crash a repository call with a raw
TypeError/KeyError/ValueError, nor be blamed on the caller (INVALID_DATA): it is the
store's problem, and the message says which item.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from docstore import ErrorCode, PersistenceError, ProblemSpec, Session, Store, Student

from .helpers import expect_error

Patch = Callable[[dict[str, Any]], dict[str, Any]]


async def damaged_session(store: Store, patch: Patch) -> str:
    session_id = await store.sessions.create_session(Session(join_code="dmg1", students={"s": Student(id="s")}))
    stored = await store.documents.get_document("sessions", session_id)
    assert stored is not None
    result = await store.documents.upsert_documents("sessions", [patch(stored)])
    assert not result.failed, result.failed
    return session_id


def without_metadata(document: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in document.items() if key != "_metadata"}


def metadata_as_text(document: dict[str, Any]) -> dict[str, Any]:
    return {**document, "_metadata": "damaged"}


def metadata_without_version(document: dict[str, Any]) -> dict[str, Any]:
    metadata = {key: value for key, value in document["_metadata"].items() if key != "version"}
    return {**document, "_metadata": metadata}


METADATA_DAMAGE = [
    pytest.param(without_metadata, id="no-metadata"),
    pytest.param(metadata_as_text, id="metadata-text"),
    pytest.param(metadata_without_version, id="no-version"),
]
SESSION_WRITES: list[Any] = [
    pytest.param(lambda s, i: s.sessions.update_session(i, {"problem_text": "p"}, expected_version=1), id="versioned"),
    pytest.param(lambda s, i: s.sessions.update_session(i, {"active": False}), id="active"),
    pytest.param(lambda s, i: s.sessions.update_session(i, {"join_code": "other"}), id="join-code"),
]


@pytest.mark.parametrize("damage", METADATA_DAMAGE)
@pytest.mark.parametrize("write", SESSION_WRITES)
async def test_write_to_a_session_with_damaged_metadata_is_storage_error(
    store: Store, damage: Patch, write: Callable[[Store, str], Awaitable[Any]]
) -> None:
    session_id = await damaged_session(store, damage)
    error = await expect_error(ErrorCode.STORAGE_ERROR, write(store, session_id))
    assert session_id in error.message


@pytest.mark.parametrize("damage", METADATA_DAMAGE)
async def test_end_session_with_damaged_metadata_is_storage_error_or_ends_it(store: Store, damage: Patch) -> None:
    # A plain write may heal the metadata ($inc sets a missing version to 1); what it
    # may not do is crash, or answer as if the session were fine without ending it.
    session_id = await damaged_session(store, damage)
    try:
        ended = await store.sessions.end_session(session_id)
    except PersistenceError as error:
        assert error.code is ErrorCode.STORAGE_ERROR and session_id in error.message, error
    else:
        assert not ended.active and ended.ended_at is not None and ended.metadata is not None


@pytest.mark.parametrize("damage", METADATA_DAMAGE)
async def test_versioned_update_of_a_problem_with_damaged_metadata_is_storage_error(
    store: Store, damage: Patch
) -> None:
    problem_id = await store.problems.save_problem(ProblemSpec(title="t"))
    stored = await store.documents.get_document("problems", problem_id)
    assert stored is not None
    await store.documents.upsert_documents("problems", [damage(stored)])
    error = await expect_error(
        ErrorCode.STORAGE_ERROR, store.problems.update_problem(problem_id, {"title": "u"}, expected_version=1)
    )
    assert problem_id in error.message


async def damaged_student(store: Store, patch: Patch) -> tuple[str, str]:
    """A session whose student ``s`` has a damaged ``session_students`` record: (session id, record id)."""
    session_id = await store.sessions.create_session(Session(join_code="dmg2", students={"s": Student(id="s")}))
    records = [d async for d in store.documents.iter_documents("session_students") if d["session_id"] == session_id]
    assert len(records) == 1
    result = await store.documents.upsert_documents("session_students", [patch(records[0])])
    assert not result.failed, result.failed
    return session_id, records[0]["_id"]


STUDENT_DAMAGE = [
    pytest.param(lambda d: {**d, "name": 5}, id="name-int"),
    pytest.param(lambda d: {**d, "extra": "not a map"}, id="extra-text"),
    pytest.param(lambda d: {**d, "last_update": "yesterday"}, id="last-update-text"),
]


@pytest.mark.parametrize("damage", STUDENT_DAMAGE[:2])  # a post sets last_update: it may heal that one
async def test_update_student_code_of_a_damaged_student_is_storage_error_not_invalid_data(
    store: Store, damage: Patch
) -> None:
    # Was: damage planted in the ``students`` map of the session document (the earlier layout).
    session_id, record_id = await damaged_student(store, damage)
    error = await expect_error(ErrorCode.STORAGE_ERROR, store.sessions.update_student_code(session_id, "s", "x"))
    assert record_id in error.message
    await expect_error(ErrorCode.STORAGE_ERROR, store.sessions.record_code(session_id, "s", "x"))
    assert await store.revisions.count_revisions(session_id) == 0  # nothing of a refused post is kept


@pytest.mark.parametrize("damage", STUDENT_DAMAGE)
async def test_reads_of_a_damaged_student_are_storage_error_naming_the_record(store: Store, damage: Patch) -> None:
    # Was: upsert_student into a session whose ``students`` map was damaged (the earlier layout).
    # A damaged record is never served: every read that would return it names it.
    session_id, record_id = await damaged_student(store, damage)
    for read in (
        store.sessions.get_session(session_id),
        store.sessions.get_student(session_id, "s"),
        store.sessions.list_students(session_id),
    ):
        error = await expect_error(ErrorCode.STORAGE_ERROR, read)
        assert record_id in error.message
    light = await store.sessions.get_session(session_id, include_students=False)  # the session itself is sound
    assert light is not None and light.students == {}


async def test_upsert_student_into_damaged_students_is_storage_error(store: Store) -> None:
    # A student whose record's metadata is damaged: the upsert cannot move its version.
    session_id, record_id = await damaged_student(store, metadata_as_text)
    error = await expect_error(ErrorCode.STORAGE_ERROR, store.sessions.upsert_student(session_id, Student(id="s")))
    assert session_id in error.message or record_id in error.message


async def damaged_problem(store: Store, **fields: Any) -> str:
    problem_id = await store.problems.save_problem(ProblemSpec(title="two sum", description="sum", tags=["x"]))
    stored = await store.documents.get_document("problems", problem_id)
    assert stored is not None
    result = await store.documents.upsert_documents("problems", [{**stored, **fields}])
    assert not result.failed, result.failed
    return problem_id


@pytest.mark.parametrize(
    "tags",
    [
        pytest.param([{"a": 1}], id="dict-tag"),
        pytest.param([1, "a"], id="int-tag"),
        pytest.param([["a"]], id="list-tag"),
    ],
)
async def test_tag_counts_over_a_damaged_tag_is_storage_error_naming_the_problem(store: Store, tags: Any) -> None:
    problem_id = await damaged_problem(store, tags=tags)
    error = await expect_error(ErrorCode.STORAGE_ERROR, store.problems.tag_counts())
    assert problem_id in error.message


@pytest.mark.parametrize("field", ["title", "description"])
async def test_search_over_a_damaged_text_field_is_storage_error_naming_the_problem(store: Store, field: str) -> None:
    problem_id = await damaged_problem(store, **{field: 5})
    error = await expect_error(ErrorCode.STORAGE_ERROR, store.problems.search_problems("sum two 5"))
    assert problem_id in error.message


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda d: {**d, "student_id": {"a": 1}}, id="student-id-dict"),
        pytest.param(lambda d: {k: v for k, v in d.items() if k != "student_id"}, id="no-student-id"),
        pytest.param(lambda d: {**d, "student_id": 5}, id="student-id-int"),
    ],
)
@pytest.mark.parametrize(
    "read",
    [
        pytest.param(lambda s, i: s.revisions.get_all_session_revisions(i), id="all"),
        pytest.param(lambda s, i: s.revisions.get_latest_revisions(i), id="latest"),
    ],
)
async def test_session_revision_reads_over_a_damaged_revision_are_storage_error(
    store: Store, damage: Patch, read: Callable[[Store, str], Awaitable[Any]]
) -> None:
    session_id = await store.sessions.create_session(Session(join_code="rv", students={"s": Student(id="s")}))
    revision = await store.sessions.record_code(session_id, "s", "x")
    stored = await store.documents.get_document("revisions", revision.id)
    assert stored is not None
    await store.documents.upsert_documents("revisions", [damage(stored)])
    error = await expect_error(ErrorCode.STORAGE_ERROR, read(store, session_id))
    assert revision.id in error.message
