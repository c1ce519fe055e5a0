"""Contract of the sessions repository, on every engine."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone

import pytest

from docstore import ErrorCode, PersistenceError, ProblemSpec, Session, Store, Student
from tests.conftest import StoreFactory

from .helpers import expect_error


async def test_create_and_get_round_trip(store: Store) -> None:
    created = datetime(2026, 1, 6, 13, 2, 36, 7891, tzinfo=UTC)
    session = Session(
        join_code="ab12cd",
        problem_text="Reverse the words",
        problem=ProblemSpec(id="p1", title="Reverse", tags=["strings"]),
        students={"s1": Student(id="s1", name="Zoë", code="print('¡hola ✔ 🎉')")},
        instructor_id="teacher-1",
        created_at=created,
        extra={"sectionName": "Period 2", "participants": ["s1"]},
    )
    session_id = await store.sessions.create_session(session)
    assert session_id == session.id

    stored = await store.sessions.get_session(session_id)
    assert stored is not None
    assert stored.join_code == "AB12CD"
    assert stored.students["s1"].code == "print('¡hola ✔ 🎉')"
    assert stored.problem is not None and stored.problem.title == "Reverse"
    assert stored.extra == {"sectionName": "Period 2", "participants": ["s1"]}
    # Milliseconds, aware UTC, on every engine.
    assert stored.created_at == created.replace(microsecond=7000)
    assert stored.created_at.tzinfo is not None and stored.created_at.utcoffset() == timedelta(0)


async def test_metadata_is_set_on_create_and_kept_out_of_public(store: Store) -> None:
    session_id = await store.sessions.create_session(Session(join_code="META01"))
    stored = await store.sessions.get_session(session_id)
    assert stored is not None and stored.metadata is not None
    assert stored.metadata.version == 1
    assert stored.metadata.created_at == stored.metadata.updated_at
    with pytest.deprecated_call():  # Session.public() is deprecated for the audience views, still works
        public = stored.public()
    assert "metadata" not in public and "_metadata" not in public
    assert public["id"] == session_id and public["join_code"] == "META01"


async def test_missing_session_reads_none(store: Store) -> None:
    assert await store.sessions.get_session("nope") is None
    assert await store.sessions.get_session_by_join_code("NOPE00") is None


async def test_join_code_lookup_ignores_case_and_spaces_and_only_sees_active(store: Store) -> None:
    session_id = await store.sessions.create_session(Session(join_code="  xy12z9 "))
    found = await store.sessions.get_session_by_join_code(" Xy12Z9")
    assert found is not None and found.id == session_id
    await store.sessions.update_session(session_id, {"active": False})
    assert await store.sessions.get_session_by_join_code("XY12Z9") is None


async def test_taken_id_and_active_join_code_are_already_exists(store: Store) -> None:
    first = await store.sessions.create_session(Session(join_code="SAME01"))
    await expect_error(ErrorCode.ALREADY_EXISTS, store.sessions.create_session(Session(id=first, join_code="OTHER1")))
    await expect_error(ErrorCode.ALREADY_EXISTS, store.sessions.create_session(Session(join_code="same01")))
    # Once the first session ends, its code is free again; reactivating it then clashes.
    await store.sessions.update_session(first, {"active": False})
    second = await store.sessions.create_session(Session(join_code="SAME01"))
    await expect_error(ErrorCode.ALREADY_EXISTS, store.sessions.update_session(first, {"active": True}))
    assert (await store.sessions.get_session_by_join_code("SAME01")).id == second  # type: ignore[union-attr]
    # Sessions without a join code (newest legacy format) never clash.
    await store.sessions.create_session(Session(join_code=None))
    await store.sessions.create_session(Session(join_code=None))


async def test_concurrent_creates_with_one_join_code_have_exactly_one_winner(store: Store) -> None:
    results = await asyncio.gather(
        *(store.sessions.create_session(Session(join_code="RACE01")) for _ in range(10)), return_exceptions=True
    )
    winners = [r for r in results if isinstance(r, str)]
    losers = [r for r in results if isinstance(r, PersistenceError)]
    assert len(winners) == 1
    assert len(losers) == 9 and all(e.code is ErrorCode.ALREADY_EXISTS for e in losers)


async def test_update_is_partial_and_bumps_version(store: Store) -> None:
    session_id = await store.sessions.create_session(Session(join_code="UPD001", problem_text="old"))
    before = await store.sessions.get_session(session_id)
    assert before is not None and before.metadata is not None
    await asyncio.sleep(0.002)
    after = await store.sessions.update_session(session_id, {"featured_code": "x = 1"})
    assert after.featured_code == "x = 1"
    assert after.problem_text == "old"
    assert after.metadata is not None
    assert after.metadata.version == 2
    assert after.metadata.created_at == before.metadata.created_at
    assert after.metadata.updated_at > before.metadata.updated_at
    again = await store.sessions.get_session(session_id)
    assert again == after


async def test_update_join_code_is_normalized(store: Store) -> None:
    session_id = await store.sessions.create_session(Session(join_code="JC0001"))
    updated = await store.sessions.update_session(session_id, {"join_code": " new001 "})
    assert updated.join_code == "NEW001"
    assert (await store.sessions.get_session_by_join_code("new001")) is not None
    assert (await store.sessions.get_session_by_join_code("JC0001")) is None


@pytest.mark.parametrize(
    "updates",
    [
        {"no_such_field": 1},
        {"active": "not a bool"},
        {"students": {"s1": {"id": "s1", "unknown": 1}}},
        {"id": "other"},
        {"metadata": None},
        {"_metadata": {"version": 99}},
        {"$set": {"active": False}},
        {"extra.injected": 1},
        {"extra": {"$where": "1"}},
        {"extra": {"a.b": 1}},
        {},
    ],
)
async def test_invalid_updates_change_nothing(store: Store, updates: dict[str, object]) -> None:
    session_id = await store.sessions.create_session(Session(join_code="INV001"))
    before = await store.sessions.get_session(session_id)
    await expect_error(ErrorCode.INVALID_DATA, store.sessions.update_session(session_id, updates))
    assert await store.sessions.get_session(session_id) == before


async def test_update_and_delete_of_missing_session_are_not_found(store: Store) -> None:
    await expect_error(ErrorCode.NOT_FOUND, store.sessions.update_session("missing", {"problem_text": "x"}))
    await expect_error(ErrorCode.NOT_FOUND, store.sessions.delete_session("missing"))
    await expect_error(ErrorCode.NOT_FOUND, store.sessions.upsert_student("missing", Student(id="s")))
    await expect_error(ErrorCode.NOT_FOUND, store.sessions.update_student_code("missing", "s", "x"))


async def test_wrong_expected_version_is_conflict_and_changes_nothing(store: Store) -> None:
    session_id = await store.sessions.create_session(Session(join_code="VER001"))
    await store.sessions.update_session(session_id, {"problem_text": "v2"}, expected_version=1)
    await expect_error(
        ErrorCode.CONFLICT, store.sessions.update_session(session_id, {"problem_text": "v3"}, expected_version=1)
    )
    await expect_error(
        ErrorCode.CONFLICT, store.sessions.update_session(session_id, {"active": False}, expected_version=1)
    )
    stored = await store.sessions.get_session(session_id)
    assert stored is not None and stored.metadata is not None
    assert (stored.problem_text, stored.active, stored.metadata.version) == ("v2", True, 2)


@pytest.mark.parametrize("writers", [50, 100])
async def test_optimistic_locking_loses_no_update_under_concurrent_writers(store: Store, writers: int) -> None:
    session_id = await store.sessions.create_session(Session(join_code="LOCK01", extra={"count": 0}))

    async def increment() -> int:
        conflicts = 0
        while True:
            current = await store.sessions.get_session(session_id)
            assert current is not None and current.metadata is not None
            await asyncio.sleep(0)  # let the other writers read the same version: a real race
            try:
                await store.sessions.update_session(
                    session_id,
                    {"extra": {"count": current.extra["count"] + 1}},
                    expected_version=current.metadata.version,
                )
                return conflicts
            except PersistenceError as error:
                assert error.code is ErrorCode.CONFLICT
                conflicts += 1
                await asyncio.sleep(0)

    conflicts = await asyncio.gather(*(increment() for _ in range(writers)))
    assert sum(conflicts) > 0  # they did collide, and the version check caught it
    final = await store.sessions.get_session(session_id)
    assert final is not None and final.metadata is not None
    assert final.extra["count"] == writers
    assert final.metadata.version == writers + 1


async def test_delete_session_cascades_to_its_revisions(store: Store, factory: StoreFactory) -> None:
    from docstore import CodeRevision

    keep = await store.sessions.create_session(Session(join_code="KEEP01"))
    gone = await store.sessions.create_session(Session(join_code="GONE01"))
    await store.revisions.save_revisions(
        [CodeRevision(session_id=s, student_id="st", code="x") for s in (keep, gone, gone)]
    )
    deletion = await store.sessions.delete_session(gone)
    assert (deletion.session_id, deletion.revisions_deleted) == (gone, 2)
    # A transaction where the engine has them (a replica set, local's SQLite); memory has none.
    # A remote store passes through what the engine behind its server did.
    engine = factory.behind or factory.engine
    if engine == "local":
        assert deletion.transactional is True
    elif engine != "mongodb":
        assert deletion.transactional is False
    assert await store.sessions.get_session(gone) is None
    assert await store.revisions.count_revisions(gone) == 0
    assert await store.revisions.count_revisions(keep) == 1
    await store.sessions.delete_session(keep, cascade=False)
    assert await store.revisions.count_revisions(keep) == 1


async def test_list_and_count_sessions(store: Store) -> None:
    base = datetime(2026, 1, 1, tzinfo=UTC)
    for i in range(6):
        await store.sessions.create_session(
            Session(
                join_code=f"L{i:05d}",
                instructor_id="t1" if i % 2 else "t2",
                active=i < 4,
                created_at=base + timedelta(minutes=i),
                last_activity=base + timedelta(hours=6 - i),
            )
        )
    assert await store.sessions.count_sessions() == 6
    assert await store.sessions.count_sessions(active=True) == 4
    assert await store.sessions.count_sessions(active=True, instructor_id="t1") == 2

    active = await store.sessions.list_active_sessions()
    assert [s.join_code for s in active] == ["L00000", "L00001", "L00002", "L00003"]  # most recent activity first

    newest_first = await store.sessions.list_all_sessions()
    assert [s.join_code for s in newest_first] == [f"L{i:05d}" for i in reversed(range(6))]
    assert newest_first.next_cursor is None
    by_code = await store.sessions.list_all_sessions(sort_by="join_code", sort_order="asc", limit=4)
    assert [s.join_code for s in by_code] == [f"L{i:05d}" for i in range(4)]
    assert by_code.next_cursor is not None
    rest = await store.sessions.list_all_sessions(
        sort_by="join_code", sort_order="asc", limit=4, cursor=by_code.next_cursor
    )
    assert [s.join_code for s in rest] == ["L00004", "L00005"] and rest.next_cursor is None
    offset = await store.sessions.list_all_sessions(sort_by="join_code", sort_order="asc", offset=5)
    assert [s.join_code for s in offset] == ["L00005"]
    mine = await store.sessions.list_all_sessions(instructor_id="t2", active=False)
    assert [s.join_code for s in mine] == ["L00004"]
    await expect_error(ErrorCode.INVALID_DATA, store.sessions.list_all_sessions(sort_by="nope"))  # type: ignore[arg-type]
    await expect_error(
        ErrorCode.INVALID_DATA,
        store.sessions.list_all_sessions(cursor=by_code.next_cursor),  # other ordering
    )


async def test_paging_by_join_code_handles_sessions_without_code(store: Store) -> None:
    for code in ["B00000", None, "A00000", None, "C00000"]:
        await store.sessions.create_session(Session(join_code=code))
    for order in ("asc", "desc"):
        seen: list[str | None] = []
        cursor = None
        while True:
            page = await store.sessions.list_all_sessions(sort_by="join_code", sort_order=order, limit=2, cursor=cursor)
            seen.extend(s.join_code for s in page)
            cursor = page.next_cursor
            if cursor is None:
                break
        assert len(seen) == 5
        expected = [None, None, "A00000", "B00000", "C00000"]
        assert seen == (expected if order == "asc" else expected[::-1])


async def test_students_change_in_place(store: Store) -> None:
    session_id = await store.sessions.create_session(Session(join_code="STU001"))
    await store.sessions.upsert_student(session_id, Student(id="a", name="Ana"))
    await store.sessions.upsert_student(session_id, Student(id="b", name="Bo"))
    updated = await store.sessions.update_student_code(session_id, "a", "print('a')")
    assert updated.code == "print('a')"
    assert updated.name == "Ana"
    assert updated.last_update is not None
    stored = await store.sessions.get_session(session_id)
    assert stored is not None and stored.students["b"].code == ""
    # Students are records of their own: their posts never move the session's version (issue 14).
    assert stored.metadata is not None and stored.metadata.version == 1
    await expect_error(ErrorCode.NOT_FOUND, store.sessions.update_student_code(session_id, "ghost", "x"))
    await expect_error(ErrorCode.NOT_FOUND, store.sessions.update_student_code(session_id, "a.b", "x"))
    await expect_error(ErrorCode.INVALID_DATA, store.sessions.update_student_code(session_id, "x" * 257, "x"))


@pytest.mark.parametrize("student_id", ["ana@school.org", "$where", "a.b.c", "100%", "%2E", "ünï ✔"])
async def test_any_student_id_up_to_256_characters_works(store: Store, student_id: str) -> None:
    session_id = await store.sessions.create_session(Session(join_code="STU002"))
    await store.sessions.upsert_student(session_id, Student(id="a.b", name="decoy"))
    await store.sessions.upsert_student(session_id, Student(id=student_id, name="Ana"))
    updated = await store.sessions.update_student_code(session_id, student_id, "x = 1")
    assert (updated.id, updated.code) == (student_id, "x = 1")
    stored = await store.sessions.get_session(session_id)
    assert stored is not None and set(stored.students) == {"a.b", student_id}
    assert stored.students[student_id].code == "x = 1" and stored.students["a.b"].code == ""


async def test_thirty_students_typing_at_once_are_all_kept(store: Store) -> None:
    students = {f"s{i}": Student(id=f"s{i}", name=f"Student {i}") for i in range(30)}
    session_id = await store.sessions.create_session(Session(join_code="TYPE01", students=students))
    await asyncio.gather(*(store.sessions.update_student_code(session_id, sid, f"print({sid!r})") for sid in students))
    stored = await store.sessions.get_session(session_id)
    assert stored is not None and stored.metadata is not None
    assert {sid: s.code for sid, s in stored.students.items()} == {sid: f"print({sid!r})" for sid in students}
    assert stored.metadata.version == 1  # posts never move the session's version (issue 14)


@pytest.mark.parametrize("bad_id", [{"$ne": None}, {"$gt": ""}, ["a"], 5, None, ""])
async def test_ids_are_never_operators(store: Store, bad_id: object) -> None:
    await store.sessions.create_session(Session(join_code="OPS001"))
    await expect_error(ErrorCode.INVALID_DATA, store.sessions.get_session(bad_id))  # type: ignore[arg-type]
    await expect_error(ErrorCode.INVALID_DATA, store.sessions.get_session_by_join_code(bad_id))  # type: ignore[arg-type]
    await expect_error(ErrorCode.INVALID_DATA, store.sessions.delete_session(bad_id))  # type: ignore[arg-type]
    assert await store.sessions.count_sessions() == 1


async def test_datetimes_in_other_zones_come_back_as_the_same_instant_in_utc(store: Store) -> None:
    plus_two = timezone(timedelta(hours=2))
    local_time = datetime(2026, 3, 1, 10, 0, 0, 123456, tzinfo=plus_two)
    session_id = await store.sessions.create_session(Session(join_code="TZ0001", created_at=local_time))
    stored = await store.sessions.get_session(session_id)
    assert stored is not None
    assert stored.created_at == local_time.replace(microsecond=123000)
    assert stored.created_at.utcoffset() == timedelta(0)


# Ending a session twice (a retry, a double click) keeps the time it really ended.
# Found by the attack pass (was ``test_attack_end_session.py``): the second ``end_session``
# moved ``ended_at`` to its own time and bumped the version, so the record of when the class
# ended was lost.
async def test_end_session_twice_keeps_the_first_ended_at_and_writes_nothing(store: Store) -> None:
    session_id = await store.sessions.create_session(Session(join_code="end2", students={"s": Student(id="s")}))
    first = await store.sessions.end_session(session_id)
    await asyncio.sleep(0.005)  # a later millisecond: a second write would show a new ended_at
    again = await store.sessions.end_session(session_id)
    assert again.ended_at == first.ended_at
    assert again.metadata == first.metadata


async def test_end_session_frees_the_join_code_while_students_post(store: Store) -> None:
    # Ending must not fail with CONFLICT while the class keeps writing to the session.
    students = {f"s{i}": Student(id=f"s{i}") for i in range(10)}
    session_id = await store.sessions.create_session(Session(join_code="busy", students=students))
    posts = [store.sessions.record_code(session_id, student, "x") for student in students]
    *posted, ended = await asyncio.gather(*posts, store.sessions.end_session(session_id), return_exceptions=True)
    assert isinstance(ended, Session)
    # A post that the ending overtook is refused whole (an ended session takes no posts), never CONFLICT.
    for outcome in posted:
        if isinstance(outcome, BaseException):
            assert isinstance(outcome, PersistenceError) and outcome.code is ErrorCode.PERMISSION_DENIED, outcome
    assert not ended.active and ended.ended_at is not None
    assert await store.sessions.get_session_by_join_code("busy") is None
    await store.sessions.create_session(Session(join_code="busy"))


# Found by the attack pass on namespaces (was ``test_attack_namespaces.py``).
async def test_create_session_with_a_taken_id_says_the_id_is_taken_not_a_join_code(store: Store) -> None:
    session_id = await store.sessions.create_session(Session(join_code="idt"))
    for join_code in (None, "other"):
        error = await expect_error(
            ErrorCode.ALREADY_EXISTS, store.sessions.create_session(Session(id=session_id, join_code=join_code))
        )
        assert session_id in error.message and "join code" not in error.message
    error = await expect_error(ErrorCode.ALREADY_EXISTS, store.sessions.create_session(Session(join_code="IDT")))
    assert "join code" in error.message
