"""The MongoDB feed's mapping of change events, and its stream handling, on a scripted stream.

No MongoDB server runs here: the real change stream is exercised by the contract suite
when DOCSTORE_TEST_MONGODB_URL names a replica set. These pin down what does not need one:
the server-side filter, the event mapping, the merge of a post's two events, the errors.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pymongo.errors import OperationFailure

from docstore import ErrorCode, PersistenceError
from docstore._mongo._feed import MongoFeed, change_fields, session_pipeline

NOW = datetime(2026, 1, 6, 13, 0, tzinfo=UTC)
META = {"created_at": NOW, "updated_at": NOW, "version": 1, "created_by": None, "modified_by": None}


def student_event(op: str, student_id: str, code: str, token: str) -> dict[str, Any]:
    record = {
        "_id": f"s1/{student_id}", "session_id": "s1", "student_id": student_id, "namespace_id": "default",
        "name": "", "code": code, "last_update": NOW, "extra": {}, "_metadata": META,
    }  # fmt: skip
    return {"_id": {"_data": token}, "operationType": op, "ns": {"coll": "session_students"},
            "documentKey": {"_id": record["_id"]}, "fullDocument": record}  # fmt: skip


def revision_event(code: str, token: str) -> dict[str, Any]:
    revision = {
        "_id": "r1", "session_id": "s1", "student_id": "ana", "code": code, "timestamp": NOW,
        "execution_result": None, "namespace_id": "default", "extra": {}, "_metadata": META,
    }  # fmt: skip
    return {"_id": {"_data": token}, "operationType": "insert", "ns": {"coll": "revisions"},
            "documentKey": {"_id": "r1"}, "fullDocument": revision}  # fmt: skip


class ScriptedStream:
    def __init__(self, events: list[dict[str, Any]]) -> None:
        self.events = events
        self.resume_token = {"_data": "start"}
        self.closed = False

    async def next(self) -> dict[str, Any]:
        if not self.events:
            raise StopAsyncIteration
        return self.events.pop(0)

    async def try_next(self) -> dict[str, Any] | None:
        return self.events.pop(0) if self.events else None

    async def close(self) -> None:
        self.closed = True


class ScriptedDatabase:
    def __init__(self, stream: ScriptedStream | Exception) -> None:
        self.stream = stream
        self.calls: list[tuple[Any, ...]] = []

    async def watch(self, pipeline: Any, **options: Any) -> ScriptedStream:
        self.calls.append((pipeline, options))
        if isinstance(self.stream, Exception):
            raise self.stream
        return self.stream


async def visible() -> bool:
    return True


async def test_a_posts_two_events_are_one_change_at_the_revisions_position() -> None:
    stream = ScriptedStream([student_event("update", "ana", "x = 1", "t1"), revision_event("x = 1", "t2")])
    async with MongoFeed(ScriptedDatabase(stream), "s1", None, None, visible) as feed:
        change = await anext(feed)
        assert change.kind == "revision_saved" and change.student is not None and change.revision is not None
        resumed = MongoFeed(ScriptedDatabase(ScriptedStream([])), "s1", change.position, None, visible)
        await resumed.__aenter__()
        await resumed.aclose()
    assert stream.closed


async def test_unrelated_halves_stay_two_changes() -> None:
    events = [student_event("update", "ana", "typed", "t1"), revision_event("other", "t2")]
    async with MongoFeed(ScriptedDatabase(ScriptedStream(events)), "s1", None, None, visible) as feed:
        assert [(await anext(feed)).kind for _ in range(2)] == ["student_changed", "revision_saved"]


def test_events_map_to_changes() -> None:
    deleted = {"operationType": "delete", "ns": {"coll": "session_students"}, "documentKey": {"_id": "s1/a%2Fb"}}
    assert change_fields("s1", deleted) == {"session_id": "s1", "kind": "student_removed", "student_id": "a/b"}
    gone = {"operationType": "delete", "ns": {"coll": "sessions"}, "documentKey": {"_id": "s1"}}
    assert change_fields("s1", gone) == {"session_id": "s1", "kind": "session_deleted"}
    joined = change_fields("s1", student_event("insert", "bo", "", "t"))
    assert joined is not None and joined["kind"] == "student_joined"


def test_the_filter_is_the_sessions_and_the_namespaces() -> None:
    [stage] = session_pipeline("a.b*", "cs101")
    match = stage["$match"]
    assert match["$or"][1]["documentKey._id"] == {"$regex": r"^a\.b\*/[^/]*$"}
    assert {"fullDocument.namespace_id": "cs101"} in match["$and"][0]["$or"]


@pytest.mark.parametrize(
    ("code", "expected"),
    [(40573, ErrorCode.UNAVAILABLE), (286, ErrorCode.EXPIRED), (260, ErrorCode.INVALID_DATA)],
)
async def test_server_refusals_map_to_documented_codes(code: int, expected: ErrorCode) -> None:
    feed = MongoFeed(ScriptedDatabase(OperationFailure("no", code=code)), "s1", None, None, visible)
    with pytest.raises(PersistenceError) as caught:
        await feed.__aenter__()
    assert caught.value.code is expected


async def test_positions_of_another_session_or_kind_are_refused() -> None:
    feed = MongoFeed(ScriptedDatabase(ScriptedStream([])), "s1", None, None, visible)
    async with feed:
        position = feed.position
    assert position is not None
    for bad in (position.replace("A", "B", 1), "garbage"):
        with pytest.raises(PersistenceError):
            await MongoFeed(ScriptedDatabase(ScriptedStream([])), "s2", bad, None, visible).__aenter__()


def test_the_activity_mark_of_posts_is_not_a_session_change() -> None:
    event = {
        "operationType": "update", "ns": {"coll": "sessions"}, "documentKey": {"_id": "s1"},
        "updateDescription": {"updatedFields": {"last_activity": NOW}, "removedFields": []}, "fullDocument": {},
    }  # fmt: skip
    assert change_fields("s1", event) is None
