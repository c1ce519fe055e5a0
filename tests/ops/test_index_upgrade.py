"""Index upgrades: a database whose indexes an older docstore made still opens, says so, and
``docstore init`` brings it up to date (rebuild by name, create, drop only when asked).

The planner is a pure function (first half); the second half plants old indexes in a
memory:// store (mongomock holds indexes) and runs ``initialize()``, ``health()`` and
the ``init`` command on it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from pymongo import ASCENDING, DESCENDING, IndexModel

from docstore import ErrorCode, PersistenceError, Store, open_store
from docstore._cli import _ops
from docstore._mongo._indexes import DECLARED, IndexSpec, plan_index_changes

SPEC = IndexSpec("ns_by_created_at", (("namespace_id", 1), ("created_at", -1), ("_id", -1)))
TEXT = IndexSpec(
    "text_title_description",
    (("title", "text"), ("description", "text")),
    {"default_language": "none", "weights": {"title": 10, "description": 1}},
)


def info(*keys: tuple[str, Any], **options: Any) -> dict[str, Any]:
    return {"key": list(keys), "v": 2, **options}


def actions(plan: Sequence[Any]) -> list[tuple[str, str]]:
    return [(change.action, change.name) for change in plan]


# -- the planner, a pure function -------------------------------------------------
def test_an_empty_collection_gets_every_index() -> None:
    plan = plan_index_changes("c", [SPEC, TEXT], {"_id_": info(("_id", 1))})
    assert actions(plan) == [("create", "ns_by_created_at"), ("create", "text_title_description")]
    assert all(change.safe_at_startup for change in plan)


def test_an_index_in_its_declared_form_is_left_alone() -> None:
    existing = {
        "ns_by_created_at": info(("namespace_id", 1), ("created_at", -1.0), ("_id", -1)),  # servers say -1.0 too
        "text_title_description": info(
            ("_fts", "text"),
            ("_ftsx", 1),
            weights={"title": 10, "description": 1},
            default_language="none",
            language_override="language",
            textIndexVersion=3,
        ),
    }
    assert plan_index_changes("c", [SPEC, TEXT], existing) == []


def test_changed_keys_or_options_rebuild_the_index_by_name() -> None:
    existing = {"ns_by_created_at": info(("namespace_id", 1), ("created_at", -1))}
    [change] = plan_index_changes("c", [SPEC], existing)
    assert (change.action, change.name) == ("rebuild", "ns_by_created_at") and "keys" in change.reason
    assert not change.safe_at_startup  # dropping an index at startup could take production down
    unique = IndexSpec("u", (("a", 1),), {"unique": True, "sparse": True})
    [change] = plan_index_changes("c", [unique], {"u": info(("a", 1), unique=True)})
    assert change.action == "rebuild" and "sparse" in change.reason
    [change] = plan_index_changes("c", [TEXT], {TEXT.name: info(("_fts", "text"), ("_ftsx", 1), weights={"title": 1})})
    assert change.action == "rebuild" and "weights" in change.reason


def test_the_same_keys_under_an_old_name_are_replaced() -> None:
    existing = {"ns_created": info(("namespace_id", 1), ("created_at", -1), ("_id", -1))}
    plan = plan_index_changes("c", [SPEC], existing)
    assert actions(plan) == [("replace", "ns_created"), ("create", "ns_by_created_at")]
    assert not plan[1].safe_at_startup  # it would clash with the old one until that is gone


def test_a_text_index_under_another_name_is_replaced() -> None:
    existing = {"title_text": info(("_fts", "text"), ("_ftsx", 1), weights={"title": 1})}
    assert actions(plan_index_changes("c", [TEXT], existing)) == [
        ("replace", "title_text"),
        ("create", "text_title_description"),
    ]


def test_undeclared_indexes_are_dropped_only_when_asked() -> None:
    existing = {"_id_": info(("_id", 1)), "ns_session": info(("namespace_id", 1), ("session_id", 1))}
    kept = plan_index_changes("c", [], existing)
    assert actions(kept) == [("keep-unknown", "ns_session")] and not kept[0].pending
    assert actions(plan_index_changes("c", [], existing, drop_unknown=True)) == [("drop", "ns_session")]


def test_engines_without_text_indexes_neither_make_nor_miss_them() -> None:
    assert plan_index_changes("c", [TEXT], {}, text_indexes=False) == []


# -- on a store: plant what an older docstore made ------------------------------------
OLD_REVISION_INDEX = IndexModel(
    [("session_id", ASCENDING), ("student_id", ASCENDING), ("timestamp", ASCENDING), ("_id", ASCENDING)],
    name="session_student_timestamp",
)


async def plant_old_indexes(store: Store) -> None:
    backend: Any = store._shared.backend
    sessions, revisions = backend.collection("sessions"), backend.collection("revisions")
    # Same name, other keys (the old ns_active_last_activity lacked _id).
    await sessions.drop_index("ns_active_by_last_activity")
    await sessions.create_indexes(
        [
            IndexModel(
                [("namespace_id", ASCENDING), ("active", ASCENDING), ("last_activity", DESCENDING)],
                name="ns_active_by_last_activity",
            )
        ]
    )
    # A declared index that is missing, and one an older version declared and this one does not.
    await sessions.drop_index("active_by_created_at")
    await revisions.create_indexes([OLD_REVISION_INDEX])


class KeptOpen:
    """The command's ``async with`` on a store that outlives it (memory:// dies on shutdown)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def __aenter__(self) -> Store:
        return self.store

    async def __aexit__(self, *_: object) -> None:
        return None


@pytest.fixture
async def old_store() -> Any:
    store = open_store("memory://")
    await store.initialize()
    await plant_old_indexes(store)
    yield store
    await store.shutdown()


async def test_initialize_works_on_old_indexes_and_health_says_they_are_out_of_date(old_store: Store) -> None:
    backend: Any = old_store._shared.backend
    await backend.initialize()  # what a new docstore's start does on that database: no conflict
    report = await old_store.health()
    assert report.ok, report.details
    status = report.details["indexes"]
    assert status.startswith("out of date") and "docstore init" in status
    assert "sessions.ns_active_by_last_activity: rebuild" in status
    assert "revisions.session_student_timestamp" not in status  # kept on purpose is not "out of date"
    # initialize() made the missing index on its own, and left the changed one alone.
    sessions = await backend.collection("sessions").index_information()
    assert "active_by_created_at" in sessions
    assert [key for key, _ in sessions["ns_active_by_last_activity"]["key"]] == [
        "namespace_id",
        "active",
        "last_activity",
    ]


async def test_init_rebuilds_by_name_and_prints_what_it_did(
    old_store: Store, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(_ops, "open_from_url", lambda url: KeptOpen(old_store))
    assert await _ops._init(None, drop_unknown=False, shard=False) == 0
    printed = capsys.readouterr().out
    assert "sessions.ns_active_by_last_activity: rebuild (keys" in printed
    assert "revisions.session_student_timestamp: keep-unknown" in printed
    assert "sessions: 14 indexes" in printed
    backend: Any = old_store._shared.backend
    sessions = await backend.collection("sessions").index_information()
    keys = [key for key, _ in sessions["ns_active_by_last_activity"]["key"]]
    assert keys == ["namespace_id", "active", "last_activity", "_id"]
    revisions = await backend.collection("revisions").index_information()
    assert "session_student_timestamp" in revisions  # not dropped without --drop-unknown


async def test_init_with_drop_unknown_drops_what_is_no_longer_declared(old_store: Store) -> None:
    backend: Any = old_store._shared.backend
    indexes = old_store.index_administration()
    assert indexes is not None
    steps = await indexes.upgrade_indexes(drop_unknown=True)
    assert ("drop", "session_student_timestamp") in actions(steps)
    assert not [change for change in await backend.index_plan() if change.pending]
    for collection, declared in DECLARED.items():
        names = set(await backend.collection(collection).index_information())
        assert names == {"_id_"} | {index.name for index in declared if not index.is_text}
    assert (await old_store.health()).details["indexes"] == "up to date"


async def test_shard_needs_a_mongos(monkeypatch: pytest.MonkeyPatch) -> None:
    store = open_store("memory://")
    monkeypatch.setattr(_ops, "open_from_url", lambda url: store)
    with pytest.raises(PersistenceError) as caught:
        await _ops._init(None, drop_unknown=False, shard=True)  # the memory engine has no shards
    assert caught.value.code is ErrorCode.INVALID_DATA and "mongos" in caught.value.message


# The previous release's indexes (Beanie sent them at each start), as they were declared.
PREVIOUS_RELEASE = {
    "sessions": [
        ("ns_active_created", [("namespace_id", 1), ("active", 1), ("created_at", -1), ("_id", -1)]),
        ("ns_active_last_activity", [("namespace_id", 1), ("active", 1), ("last_activity", -1)]),
        ("ns_instructor_created", [("namespace_id", 1), ("instructor_id", 1), ("created_at", -1)]),
        ("created", [("created_at", -1), ("_id", -1)]),
        ("last_activity", [("last_activity", -1), ("_id", -1)]),
        ("join_code", [("join_code", 1), ("_id", 1)]),
    ],
    "problems": [
        ("ns_created", [("namespace_id", 1), ("created_at", -1), ("_id", -1)]),
        ("ns_title", [("namespace_id", 1), ("title", 1), ("_id", 1)]),
        ("ns_tags", [("namespace_id", 1), ("tags", 1)]),
        ("created", [("created_at", -1), ("_id", -1)]),
        ("title", [("title", 1), ("_id", 1)]),
        ("tags", [("tags", 1)]),
    ],
    "revisions": [
        ("session_student_timestamp", [("session_id", 1), ("student_id", 1), ("timestamp", 1), ("_id", 1)]),
        ("ns_session", [("namespace_id", 1), ("session_id", 1)]),
    ],
}


async def test_a_database_of_the_previous_release_opens_and_upgrades() -> None:
    store = open_store("memory://")
    await store.initialize()
    backend: Any = store._shared.backend
    try:
        for collection, indexes in PREVIOUS_RELEASE.items():
            target = backend.collection(collection)
            for name in set(await target.index_information()) - {"_id_", "active_join_code_unique"}:
                await target.drop_index(name)
            await target.create_indexes([IndexModel(keys, name=name) for name, keys in indexes])
        await backend.initialize()  # the new release's first start: no conflict, missing ones made
        status = (await store.health()).details["indexes"]
        assert "problems.created: replace" in status and "sessions.ns_active_created: replace" in status
        administration = store.index_administration()
        assert administration is not None
        steps = await administration.upgrade_indexes(drop_unknown=True)
        assert {name for action, name in actions(steps) if action == "replace"} == {
            "ns_active_created",
            "created",
            "title",
            "ns_created",
            "ns_title",
        }
        assert (await store.health()).details["indexes"] == "up to date"
    finally:
        await store.shutdown()


async def test_init_migrates_the_layout_and_prints_each_step(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A database of the release before session_students: `docstore init` moves its students, once."""
    from tests.mongo.test_layout_migration import plant_v1

    store = open_store("memory://")
    await store.initialize()
    try:
        await plant_v1(store)
        monkeypatch.setattr(_ops, "open_from_url", lambda url: KeptOpen(store))
        assert await _ops._init(None, drop_unknown=False, shard=False) == 0
        printed = capsys.readouterr().out
        assert "layout: moving students out of sessions into session_students" in printed
        assert "layout: 13 sessions done, 39 students copied" in printed
        assert "layout: up to date (version 2)" in printed
        assert "session_students: 3 indexes (_id_, ns_session_student, session_student_unique)" in printed
        assert (await store.health()).details["migration"] == "up to date"
        assert await _ops._init(None, drop_unknown=False, shard=False) == 0  # again: nothing to move
        assert "layout: up to date (version 2)" in capsys.readouterr().out
    finally:
        await store.shutdown()
