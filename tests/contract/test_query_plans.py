"""On MongoDB every query a repository sends is served by an index, in the order it needs.

Runs when DOCSTORE_TEST_MONGODB_URL is set: it records the real commands of every
repository method (PyMongo command monitoring) and asks the server to explain each:
no COLLSCAN, no blocking SORT (a sort by text score, bounded by its limit, excepted),
an index stage in every plan (a server whose explain says nothing, such as nx-27017's
``EOF``, fails instead of passing), and a DISTINCT_SCAN for the instructor overview.
Without a server, ``tests/mongo/test_indexes.py`` checks the same queries' shapes
against the declared indexes.
"""

from __future__ import annotations

import asyncio
import copy
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from pymongo import monitoring

from docstore import CodeRevision, ProblemSpec, Session, Store, Student, open_store

from ..conftest import MONGODB_URL_VARIABLE, skip_without_mongodb

EXPLAINABLE = {"find", "aggregate", "count", "findAndModify", "update", "delete", "distinct"}
# Fields a driver adds to a command that `explain` does not take.
DRIVER_FIELDS = {
    "lsid",
    "txnNumber",
    "autocommit",
    "startTransaction",
    "writeConcern",
    "readConcern",
    "$db",
    "$clusterTime",
    "$readPreference",
    "apiVersion",
}


class Recorder(monitoring.CommandListener):
    def __init__(self) -> None:
        self.active = False
        self.commands: list[dict[str, Any]] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if self.active and event.command_name in EXPLAINABLE:
            self.commands.append(copy.deepcopy(dict(event.command)))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


RECORDER = Recorder()
if os.environ.get(MONGODB_URL_VARIABLE):
    monitoring.register(RECORDER)  # clients made after this report their commands


def winning_plans(explained: Any) -> Iterator[Any]:
    if isinstance(explained, dict):
        for key, value in explained.items():
            if key == "winningPlan":
                yield value
            else:
                yield from winning_plans(value)
    elif isinstance(explained, list):
        for item in explained:
            yield from winning_plans(item)


def stages(plan: Any) -> Iterator[str]:
    if isinstance(plan, dict):
        if "stage" in plan:
            yield plan["stage"]
        for value in plan.values():
            yield from stages(value)
    elif isinstance(plan, list):
        for item in plan:
            yield from stages(item)


# Stages that read an index (or the collection's count metadata): a plan has one of them.
INDEX_STAGES = {
    "IXSCAN",
    "IDHACK",
    "COUNT_SCAN",
    "DISTINCT_SCAN",
    "TEXT",
    "TEXT_MATCH",
    "TEXT_OR",
    "RECORD_STORE_FAST_COUNT",
}


def plan_stages(explained: Any) -> list[str]:
    plans = list(winning_plans(explained))
    assert plans, "explain returned no winning plan"
    found = [stage for plan in plans for stage in stages(plan)]
    # An aggregation stage the query layer could not absorb (a $sort it could not push down).
    for stage in explained.get("stages", []) if isinstance(explained, dict) else []:
        found += [name for name in stage if name != "$cursor"]
    return found


def problems(explained: Any, command: dict[str, Any]) -> list[str]:
    """What is wrong with one command's plan: scans, blocking sorts, no index at all."""
    found = plan_stages(explained)
    wrong = [stage for stage in found if stage == "COLLSCAN"]
    if not _sorts_by_text_score(command):
        wrong += [stage for stage in found if stage in ("SORT", "$sort")]
    if not any(stage in INDEX_STAGES or stage.startswith("EXPRESS") for stage in found):
        wrong.append(f"no index stage in {found} (is this a real MongoDB server?)")
    return wrong


def _sorts_by_text_score(command: dict[str, Any]) -> bool:
    return "$meta" in str(command.get("sort", ""))


def collection_scans(explained: Any) -> list[str]:
    return [stage for stage in plan_stages(explained) if stage == "COLLSCAN"]


def test_the_plan_walker_finds_scans_sorts_and_empty_plans() -> None:
    scan = {"queryPlanner": {"winningPlan": {"stage": "FETCH", "inputStage": {"stage": "COLLSCAN"}}}}
    indexed = {
        "stages": [
            {
                "$cursor": {
                    "queryPlanner": {"winningPlan": {"stage": "IXSCAN"}, "rejectedPlans": [{"stage": "COLLSCAN"}]}
                }
            }
        ]
    }
    assert collection_scans(scan) == ["COLLSCAN"]
    assert collection_scans(indexed) == []
    assert problems(indexed, {"aggregate": "c"}) == []
    sorted_in_memory = {"queryPlanner": {"winningPlan": {"stage": "SORT", "inputStage": {"stage": "IXSCAN"}}}}
    assert problems(sorted_in_memory, {"find": "c"}) == ["SORT"]
    assert problems(sorted_in_memory, {"find": "c", "sort": {"score": {"$meta": "textScore"}}}) == []
    unpushed = {**indexed, "stages": [*indexed["stages"], {"$sort": {"sortKey": {"a": 1}}}]}
    assert problems(unpushed, {"aggregate": "c"}) == ["$sort"]
    nothing = {"queryPlanner": {"winningPlan": {"stage": "EOF"}}}  # what nx-27017 answers to everything
    assert problems(nothing, {"find": "c"})[0].startswith("no index stage")
    merged = {"queryPlanner": {"winningPlan": {"stage": "SORT_MERGE", "inputStages": [{"stage": "IXSCAN"}] * 2}}}
    assert problems(merged, {"find": "c"}) == []


async def exercise(store: Store, *, thorough: bool = False) -> None:
    """Every read and conditional write of the three repositories (session students included).

    ``thorough``: every combination of listing filters, sort keys and orders, with a
    second page by cursor (what ``tests/mongo/test_indexes.py`` checks without a server).
    """
    when = datetime(2026, 1, 6, tzinfo=UTC)
    session_id = await store.sessions.create_session(
        Session(join_code="PLAN01", instructor_id="t", students={"s": Student(id="s")})
    )
    await store.sessions.create_session(Session(join_code="PLAN02", instructor_id="t", active=False))
    problem_id = await store.problems.save_problem(ProblemSpec(title="Loops", tags=["loops"], difficulty="beginner"))
    await store.problems.save_problem(ProblemSpec(title="Lists", tags=["loops", "lists"], difficulty="beginner"))
    await store.revisions.save_revisions(
        [CodeRevision(session_id=session_id, student_id="s", code=str(i), timestamp=when) for i in range(3)]
    )
    revision_id = await store.revisions.save_revision(
        CodeRevision(session_id=session_id, student_id="u", code="u", timestamp=when)
    )
    await store.revisions.get_revision(revision_id)
    await store.sessions.get_session(session_id)
    await store.sessions.get_session(session_id, include_students=False)
    await store.sessions.get_session_by_join_code("plan01")
    await store.sessions.get_session_by_join_code("plan01", include_students=False)
    await store.sessions.update_session(session_id, {"problem_text": "x"})
    await store.sessions.update_session(session_id, {"active": True})
    await store.sessions.upsert_student(session_id, Student(id="t"))
    await store.sessions.update_student_code(session_id, "s", "y")
    await store.sessions.record_code(session_id, "s", "z")
    # Students (session_students): one, a page by keyset, a count, a class replaced.
    await store.sessions.get_student(session_id, "s")
    students = await store.sessions.list_students(session_id, limit=1)
    if students.next_cursor:
        await store.sessions.list_students(session_id, limit=1, cursor=students.next_cursor)
    await store.sessions.count_students(session_id)
    await store.sessions.update_session(session_id, {"students": {"s": {"id": "s"}, "u": {"id": "u"}}})
    await store.sessions.list_active_sessions(limit=1)
    session_filters: list[dict[str, Any]] = [{}, {"active": True}, {"instructor_id": "t"}]
    if thorough:
        session_filters += [{"active": False}, {"active": True, "instructor_id": "t"}]
    orders = ("desc", "asc") if thorough else ("desc",)
    for filters in session_filters:
        for sort_by in ("created_at", "last_activity", "join_code"):
            for order in orders:
                page = await store.sessions.list_all_sessions(**filters, sort_by=sort_by, sort_order=order, limit=1)  # type: ignore[arg-type]
                if page.next_cursor:
                    await store.sessions.list_all_sessions(
                        **filters,
                        sort_by=sort_by,
                        sort_order=order,  # type: ignore[arg-type]
                        limit=1,
                        cursor=page.next_cursor,
                    )
        await store.sessions.count_sessions(**filters)
    await store.problems.get_problem(problem_id)
    await store.problems.update_problem(problem_id, {"title": "Loops 2"})
    problem_filters: list[dict[str, Any]] = [
        {},
        {"difficulty": "beginner"},
        {"tags": ["loops"]},
        {"tags": ["loops"], "match": "all"},
        {"created_by": "x"},
    ]
    if thorough:
        problem_filters += [
            {"tags": ["loops", "lists"]},
            {"tags": ["loops", "lists"], "match": "all"},
            {"difficulty": "beginner", "tags": ["loops"]},
            {"difficulty": "beginner", "created_by": "x"},
            {"difficulty": "beginner", "tags": ["loops"], "created_by": "x"},
        ]
    for filters in problem_filters:
        for sort_by in ("created_at", "title") if thorough else ("created_at",):
            for order in orders:
                listed = await store.problems.list_problems(**filters, sort_by=sort_by, sort_order=order, limit=1)  # type: ignore[arg-type]
                if listed.next_cursor:
                    await store.problems.list_problems(
                        **filters,
                        sort_by=sort_by,  # type: ignore[arg-type]
                        sort_order=order,  # type: ignore[arg-type]
                        limit=1,
                        cursor=listed.next_cursor,
                    )
        await store.problems.count_problems(**filters)
    await store.problems.list_problems(sort_by="title", limit=1)
    await store.problems.search_problems("loops")
    await store.problems.tag_counts()
    await store.revisions.get_revisions(session_id, "s", after=when, limit=1)
    await store.revisions.get_revisions(session_id, "s", limit=1)
    first = await store.revisions.get_revisions(session_id, "s", limit=1)
    if first.next_cursor:
        await store.revisions.get_revisions(session_id, "s", limit=1, cursor=first.next_cursor)
    await store.revisions.get_latest_revision(session_id, "s")
    await store.revisions.get_latest_revisions(session_id)
    await store.revisions.get_all_session_revisions(session_id)
    await store.revisions.count_revisions(session_id, "s")
    await store.revisions.count_revisions(session_id)
    await store.revisions.delete_revisions(session_id, "nobody")
    await store.sessions.delete_session(session_id)
    await store.problems.delete_problem(problem_id)


@pytest.mark.parametrize("scoped", [False, True])
async def test_every_repository_query_uses_an_index(scoped: bool) -> None:
    skip_without_mongodb()
    url = os.environ[MONGODB_URL_VARIABLE]
    database = f"docstore_plans_{uuid.uuid4().hex[:8]}"
    async with open_store(url, database=database) as store:
        RECORDER.commands.clear()
        RECORDER.active = True
        try:
            await exercise(store.for_namespace("cs101") if scoped else store, thorough=True)
        finally:
            RECORDER.active = False
        engine_database = store._shared.backend.database  # type: ignore[union-attr]  # the Mongo backend
        wrong: list[tuple[str, list[str]]] = []
        overview_stages: list[str] = []
        for command in RECORDER.commands:
            request = {key: value for key, value in command.items() if key not in DRIVER_FIELDS}
            explained = await engine_database.command({"explain": request, "verbosity": "queryPlanner"})
            found = problems(explained, request)
            if found:
                wrong.append((str(request)[:300], found))
            if "aggregate" in request and any("$group" in stage for stage in request.get("pipeline", [])):
                overview_stages += plan_stages(explained)
        await engine_database.client.drop_database(database)
    assert RECORDER.commands, "no command was recorded"
    assert not wrong, wrong
    assert "DISTINCT_SCAN" in overview_stages, overview_stages


async def test_a_replica_set_runs_the_transaction_path() -> None:
    """On a replica set, the cascade delete and record_code run in one transaction."""
    skip_without_mongodb()
    url = os.environ[MONGODB_URL_VARIABLE]
    database = f"docstore_tx_{uuid.uuid4().hex[:8]}"
    async with open_store(url, database=database) as store:
        engine_database = store._shared.backend.database  # type: ignore[union-attr]  # the Mongo backend
        hello = await engine_database.command("hello")
        if "setName" not in hello and hello.get("msg") != "isdbgrid":
            await engine_database.client.drop_database(database)
            pytest.skip("a standalone server has no transactions; point the variable at a replica set")
        assert (await store.health()).details["transactions"] is True
        session_id = await store.sessions.create_session(Session(join_code="TX0001", students={"s": Student(id="s")}))
        await store.sessions.record_code(session_id, "s", "print(1)")
        deletion = await store.sessions.delete_session(session_id)
        assert deletion.transactional and deletion.revisions_deleted == 1
        await engine_database.client.drop_database(database)


async def test_a_broad_search_keeps_its_title_hits() -> None:
    """More $text candidates than the cap: the best scored (title hits) are the ones kept."""
    skip_without_mongodb()
    url = os.environ[MONGODB_URL_VARIABLE]
    database = f"docstore_search_{uuid.uuid4().hex[:8]}"
    async with open_store(url, database=database) as store:
        problems = [ProblemSpec(title=f"Exercise {i}", description="practise loops") for i in range(2100)]
        problems.append(ProblemSpec(title="Loops", description="the title says it"))
        for start in range(0, len(problems), 100):
            await asyncio.gather(*(store.problems.save_problem(problem) for problem in problems[start : start + 100]))
        found = await store.problems.search_problems("loops", limit=1)
        engine_database = store._shared.backend.database  # type: ignore[union-attr]  # the Mongo backend
        await engine_database.client.drop_database(database)
    assert [problem.title for problem in found] == ["Loops"]
