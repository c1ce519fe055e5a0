"""Driver failures mapped to the right codes: duplicates are ALREADY_EXISTS, nothing else is."""

from __future__ import annotations

from typing import Any

import pytest
from pymongo.errors import BulkWriteError, DuplicateKeyError

from docstore import CodeRevision, ErrorCode, PersistenceError, ProblemSpec, open_store
from docstore._memory import _mongomock_adapter
from docstore._mongo._driver_errors import translate_error

DUPLICATE = {"index": 0, "code": 11000, "errmsg": "E11000 duplicate key error"}
CONCERN_TIMEOUT = {"code": 64, "errmsg": "waiting for replication timed out", "errInfo": {"wtimeout": True}}


def bulk_error(write_errors: list[dict[str, Any]], concern_errors: list[dict[str, Any]]) -> BulkWriteError:
    return BulkWriteError(
        {"writeErrors": write_errors, "writeConcernErrors": concern_errors, "nInserted": 1, "upserted": []}
    )


def test_a_write_concern_error_is_never_already_exists() -> None:
    assert translate_error(bulk_error([DUPLICATE], [])).code is ErrorCode.ALREADY_EXISTS
    assert translate_error(bulk_error([], [CONCERN_TIMEOUT])).code is ErrorCode.TIMEOUT
    assert translate_error(bulk_error([DUPLICATE], [CONCERN_TIMEOUT])).code is ErrorCode.TIMEOUT
    other_concern = {"code": 100, "errmsg": "UnsatisfiableWriteConcern"}
    assert translate_error(bulk_error([], [other_concern])).code is ErrorCode.STORAGE_ERROR
    assert translate_error(bulk_error([{"index": 0, "code": 2, "errmsg": "bad"}], [])).code is ErrorCode.STORAGE_ERROR


@pytest.mark.parametrize(
    ("write_errors", "concern_errors", "expected"),
    [
        ([DUPLICATE], [], ErrorCode.ALREADY_EXISTS),
        ([], [CONCERN_TIMEOUT], ErrorCode.TIMEOUT),
        ([DUPLICATE], [CONCERN_TIMEOUT], ErrorCode.TIMEOUT),
        ([{"index": 0, "code": 121, "errmsg": "Document failed validation"}], [], ErrorCode.STORAGE_ERROR),
    ],
)
async def test_save_revisions_names_duplicates_only_when_they_are_the_only_failure(
    monkeypatch: pytest.MonkeyPatch,
    write_errors: list[dict[str, Any]],
    concern_errors: list[dict[str, Any]],
    expected: ErrorCode,
) -> None:
    async def insert_many(self: Any, *_: Any, **__: Any) -> Any:
        raise bulk_error(write_errors, concern_errors)

    async with open_store("memory://") as store:
        monkeypatch.setattr(_mongomock_adapter.MockCollection, "insert_many", insert_many, raising=False)
        with pytest.raises(PersistenceError) as caught:
            await store.revisions.save_revisions([CodeRevision(session_id="s", student_id="a", code="x")])
    assert caught.value.code is expected


async def test_a_scoped_save_that_loses_the_insert_race_replaces_the_winner(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two saves of one new id in one namespace: the loser's upsert hits the winner's _id."""
    async with open_store("memory://") as store:
        view = store.for_namespace("cs101")
        original = _mongomock_adapter.MockCollection.find_one_and_update
        raced: list[bool] = []

        async def find_one_and_update(self: Any, filter: Any, update: Any, *args: Any, **kwargs: Any) -> Any:
            if kwargs.get("upsert") and not raced:
                raced.append(True)
                # The other save gets there first, then this upsert collides with it.
                await store.for_namespace("cs101").problems.save_problem(ProblemSpec(id="p1", title="First"))
                raise DuplicateKeyError("E11000 duplicate key error collection: problems index: _id_", 11000)
            return await original(self, filter, update, *args, **kwargs)

        monkeypatch.setattr(_mongomock_adapter.MockCollection, "find_one_and_update", find_one_and_update)
        assert await view.problems.save_problem(ProblemSpec(id="p1", title="Second")) == "p1"
        saved = await view.problems.get_problem("p1")
        assert saved is not None and saved.metadata is not None
        assert saved.title == "Second" and saved.metadata.version == 2


async def test_a_scoped_save_of_another_namespaces_id_is_already_exists() -> None:
    async with open_store("memory://") as store:
        await store.for_namespace("other").problems.save_problem(ProblemSpec(id="p1", title="Theirs"))
        with pytest.raises(PersistenceError) as caught:
            await store.for_namespace("cs101").problems.save_problem(ProblemSpec(id="p1", title="Mine"))
        assert caught.value.code is ErrorCode.ALREADY_EXISTS
        theirs = await store.for_namespace("other").problems.get_problem("p1")
        assert theirs is not None and theirs.title == "Theirs"
