"""The listing rules of ``docstore/_listing.py`` on every engine.

The sort keys are the ``Literal`` types' (``SessionSortKey``, ``ProblemSortKey``): each one
pages through everything by cursor, nothing missed or repeated, and any other key is
INVALID_DATA naming the allowed ones. A revision stream validates only the page it
serves: the row read ahead (to know a next page exists) is named when its page is asked
for (``local://`` used to fail the page before it).
"""

from __future__ import annotations

from typing import Any, get_args

import pytest

from docstore import ErrorCode, ProblemSortKey, ProblemSpec, Session, SessionSortKey, SortOrder, Store, Student

from .helpers import expect_error


async def _all_pages(list_page: Any) -> list[str]:
    ids: list[str] = []
    cursor = None
    while True:
        page = await list_page(cursor)
        ids += [item.id for item in page]
        if page.next_cursor is None:
            return ids
        cursor = page.next_cursor


@pytest.mark.parametrize("sort_order", get_args(SortOrder))
async def test_every_session_sort_key_pages_through_everything(store: Store, sort_order: SortOrder) -> None:
    made = {await store.sessions.create_session(Session(join_code=f"ls{i}", active=i % 2 == 0)) for i in range(5)}
    for sort_by in get_args(SessionSortKey):
        listed = await _all_pages(
            lambda cursor, sort_by=sort_by: store.sessions.list_all_sessions(
                sort_by=sort_by, sort_order=sort_order, limit=2, cursor=cursor
            )
        )
        assert sorted(listed) == sorted(made), sort_by


@pytest.mark.parametrize("sort_order", get_args(SortOrder))
async def test_every_problem_sort_key_pages_through_everything(store: Store, sort_order: SortOrder) -> None:
    made = {await store.problems.save_problem(ProblemSpec(title=f"p{i % 3}")) for i in range(5)}
    for sort_by in get_args(ProblemSortKey):
        listed = await _all_pages(
            lambda cursor, sort_by=sort_by: store.problems.list_problems(
                sort_by=sort_by, sort_order=sort_order, limit=2, cursor=cursor
            )
        )
        assert sorted(listed) == sorted(made), sort_by


@pytest.mark.parametrize("sort_by", ["updated_at", "id", "title"])
async def test_a_session_sort_key_outside_the_literal_is_invalid_data(store: Store, sort_by: str) -> None:
    error = await expect_error(ErrorCode.INVALID_DATA, store.sessions.list_all_sessions(sort_by=sort_by))  # type: ignore[arg-type]
    assert all(key in error.message for key in get_args(SessionSortKey))


@pytest.mark.parametrize("sort_by", ["updated_at", "id", "join_code"])
async def test_a_problem_sort_key_outside_the_literal_is_invalid_data(store: Store, sort_by: str) -> None:
    error = await expect_error(ErrorCode.INVALID_DATA, store.problems.list_problems(sort_by=sort_by))  # type: ignore[arg-type]
    assert all(key in error.message for key in get_args(ProblemSortKey))


async def test_a_revision_page_is_served_when_the_revision_after_it_is_damaged(store: Store) -> None:
    session_id = await store.sessions.create_session(Session(join_code="lsr", students={"s": Student(id="s")}))
    revisions = [await store.sessions.record_code(session_id, "s", f"v{i}") for i in range(3)]
    stored = await store.documents.get_document("revisions", revisions[2].id)
    assert stored is not None
    result = await store.documents.upsert_documents("revisions", [{**stored, "code": 5}])
    assert not result.failed, result.failed
    page = await store.revisions.get_revisions(session_id, "s", limit=2)
    assert [revision.id for revision in page] == [revision.id for revision in revisions[:2]]
    assert page.next_cursor is not None
    error = await expect_error(
        ErrorCode.STORAGE_ERROR, store.revisions.get_revisions(session_id, "s", limit=2, cursor=page.next_cursor)
    )
    assert revisions[2].id in error.message
