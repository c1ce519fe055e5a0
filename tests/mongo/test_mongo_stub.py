"""The stub MongoDB wire server of ``scripts/bench_mongo.py --stub`` (``scripts/_mongo_stub.py``).

What the bench relies on: the stub answers PyMongo's handshake as a replica-set primary
(so sessions and transactions are allowed), finds from canned documents, and a
``mongodb://`` store opens against it and reads a canned session back as ``memory://``
wrote it. On the wire, the commands docstore sends for the bench's operations are also
checked against the declared indexes (README: "every repository query is served by an
index"). Each test starts the stub as the bench does (a process on 127.0.0.1) and stops it.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from bson import Binary, Code, DBRef, Decimal128, MaxKey, MinKey, ObjectId, Regex, Timestamp
from pymongo import AsyncMongoClient
from pymongo.errors import OperationFailure

from docstore import ErrorCode, ExecutionResult, PersistenceError, ProblemSpec, Session, Student, open_store
from docstore._mapping import METADATA
from docstore._mongo import _backend
from docstore._mongo._migration import LAYOUT_VERSION, META
from docstore._mongo._naive_reads import NaiveReader
from docstore._mongo._query_shapes import serving_index, shape_of
from docstore._time import to_utc_ms

STUB = Path(__file__).resolve().parents[2] / "scripts" / "_mongo_stub.py"
Client = AsyncMongoClient[dict[str, Any]]


@pytest.fixture
def stub_url() -> Iterator[str]:
    """A stub in a process of its own, as the bench runs it; stopped (stdin closed) after the test."""
    process = subprocess.Popen([sys.executable, str(STUB)], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert process.stdout is not None and process.stdin is not None
    try:
        yield f"mongodb://127.0.0.1:{int(process.stdout.readline())}"
    finally:
        process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        process.stdout.close()


@pytest.fixture
async def client(stub_url: str) -> AsyncIterator[Client]:
    raw: Client = AsyncMongoClient(stub_url, tz_aware=True)
    try:
        yield raw
    finally:
        await raw.close()


async def canned_class(client: Client) -> tuple[Session, ProblemSpec]:
    """A 3-student session with a revision each and a problem, written by docstore on memory://,
    then canned in the stub; the session and problem as memory:// reads them."""
    async with open_store("memory://") as memory:
        students = {name: Student(id=name, name=name.upper()) for name in ("ann", "bob", "cy")}
        session_id = await memory.sessions.create_session(Session(join_code="STUB1", students=students))
        for name in students:
            await memory.sessions.record_code(session_id, name, f"print({name!r})")
        problem_id = await memory.problems.save_problem(ProblemSpec(title="P", difficulty="beginner", tags=["all"]))
        stored = {
            name: [document async for document in memory.documents.iter_documents(name)]
            for name in ("sessions", "session_students", "revisions", "problems")
        }
        session = await memory.sessions.get_session(session_id)
        problem = await memory.problems.get_problem(problem_id)
    assert session is not None and problem is not None
    latest = [{"_id": revision["student_id"], "latest": revision} for revision in stored["revisions"]]
    for collection, documents in stored.items():
        extra: dict[str, Any] = {"aggregate": latest} if collection == "revisions" else {}
        await client.admin.command("stubLoad", collection, documents=documents, **extra)
    await client.admin.command("stubLoad", META, documents=[{"_id": "layout", "version": LAYOUT_VERSION}])
    return session, problem


async def test_the_stub_answers_pymongos_handshake_as_a_primary_and_a_find(client: Client) -> None:
    hello = await client.admin.command("hello")
    assert hello["isWritablePrimary"] is True and hello["setName"] == "stub"
    assert hello["logicalSessionTimeoutMinutes"] > 0
    await client.admin.command("stubLoad", "things", documents=[{"_id": "a", "n": 1}, {"_id": "b", "n": 2}])
    things = client["any"]["things"]
    assert await things.find_one({"_id": "b"}) == {"_id": "b", "n": 2}
    assert await things.find_one({"_id": "nope"}) is None
    assert [document["_id"] for document in await things.find({}).to_list(None)] == ["a", "b"]
    assert [document["_id"] async for document in things.find({}, batch_size=1)] == ["a", "b"]  # getMore
    # An _id condition it cannot look up: the canned batch; a command it cannot take: an error, not a hang.
    assert len(await things.find({"_id": {"$in": ["a"]}}).to_list(None)) == 2
    with pytest.raises(OperationFailure, match="stub: KeyError"):
        await client.admin.command("stubLoad", "things", documents=[{"no_id": 1}])
    assert client.topology_description.topology_type_name == "ReplicaSetWithPrimary"

    async def work(session: Any) -> None:
        await things.insert_one({"_id": "c"}, session=session)

    async with client.start_session() as session:
        await session.with_transaction(work)
    counts = (await client.admin.command("stubStats"))["commands"]
    assert counts["insert"] == 1 and counts["commitTransaction"] == 1


async def test_the_stub_projects_top_level_fields_as_mongodb_does(client: Client) -> None:
    """A client asking for fewer fields gets (and decodes) fewer, in find and findAndModify alike."""
    document = {"_id": "a", "n": 1, "m": {"deep": 2}, "k": "x"}
    await client.admin.command("stubLoad", "things", documents=[document])
    things = client["any"]["things"]
    assert await things.find_one({"_id": "a"}, {"n": 1, "k": 1}) == {"_id": "a", "n": 1, "k": "x"}
    assert await things.find_one({"_id": "a"}, {"n": 1, "_id": 0}) == {"n": 1}
    assert await things.find_one({"_id": "a"}, {"m": 0}) == {"_id": "a", "n": 1, "k": "x"}
    assert await things.find_one({"_id": "a"}, {"m": 0, "_id": 0}) == {"n": 1, "k": "x"}
    assert await things.find({}, {"k": 1}).to_list(None) == [{"_id": "a", "k": "x"}]
    assert await things.find_one({"_id": "a"}, {"m.deep": 1}) == document  # paths: not the stub's business
    assert await things.find_one_and_update({"_id": "a"}, {"$set": {"n": 2}}, projection={"n": 1}) == {
        "_id": "a",
        "n": 1,
    }
    assert await things.find_one({"_id": "a"}) == document


async def test_a_mongodb_store_opens_on_the_stub_and_reads_a_canned_session(client: Client, stub_url: str) -> None:
    session, problem = await canned_class(client)
    async with open_store(stub_url, database="bench") as store:
        assert await store.sessions.get_session(session.id) == session
        assert await store.sessions.get_session("no-such-session") is None
        assert await store.problems.get_problem(problem.id) == problem
        latest = await store.revisions.get_latest_revisions(session.id)
        assert sorted(latest) == ["ann", "bob", "cy"]
        revision = await store.sessions.record_code(session.id, "bob", "print('posted')")
        assert revision.student_id == "bob"
    counts = (await client.admin.command("stubStats"))["commands"]
    assert counts["commitTransaction"] == 1  # the post ran in a transaction: the stub is a replica set


async def test_the_bench_operations_send_only_queries_a_declared_index_serves(client: Client, stub_url: str) -> None:
    session, _ = await canned_class(client)
    async with open_store(stub_url, database="bench") as store:
        await client.admin.command("stubRecord", on=True)
        await store.sessions.get_session(session.id)
        await store.sessions.record_code(session.id, "ann", "print(2)")
        await store.revisions.get_latest_revisions(session.id)
        await store.problems.list_problems(difficulty="beginner", tags=["t3", "all"], limit=20)
        sent: list[dict[str, Any]] = (await client.admin.command("stubLog"))["commands"]
    shapes = []
    for command in sent:
        name = next(iter(command))
        if name == "find":
            shapes.append(shape_of(command["find"], command.get("filter", {}), list(command.get("sort", {}).items())))
        elif name == "findAndModify":
            shapes.append(shape_of(command["findAndModify"], command["query"], list(command.get("sort", {}).items())))
        elif name == "aggregate":
            match, sort = command["pipeline"][0]["$match"], command["pipeline"][1]["$sort"]
            shapes.append(shape_of(command["aggregate"], match, list(sort.items())))
        else:
            raise AssertionError(f"unexpected command on the read path: {command}")
    assert [shape.collection for shape in shapes] == [
        "sessions", "session_students",  # get by id: the session, then its students
        "sessions", "session_students",  # the post: the session, then the student's code (+ an insert)
        "revisions",  # the overview: one aggregate
        "problems",  # the filtered page: one find
    ]  # fmt: skip
    unserved = [str(shape) for shape in shapes if serving_index(shape) is None]
    assert not unserved


async def test_a_class_read_asks_only_for_the_students_own_fields(client: Client, stub_url: str) -> None:
    """A student record's keys and bookkeeping (``_metadata``: two datetimes) are never returned to
    the caller: reads of a class project them away, so the driver does not decode them."""
    session, _ = await canned_class(client)
    async with open_store(stub_url, database="bench") as store:
        await client.admin.command("stubRecord", on=True)
        assert await store.sessions.get_session(session.id) == session
        assert await store.sessions.get_student(session.id, "bob") == session.students["bob"]
        assert (await store.sessions.list_students(session.id, limit=2)).items == [
            session.students["ann"],
            session.students["bob"],
        ]
        sent: list[dict[str, Any]] = (await client.admin.command("stubLog"))["commands"]
    projections = [command.get("projection") for command in sent if command.get("find") == "session_students"]
    fields = {"_id": 1, "student_id": 1, "name": 1, "code": 1, "last_update": 1, "extra": 1}
    assert projections == [fields, fields, fields]


WHEN = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)


async def canned_extras(client: Client) -> str:
    """A class whose free-form fields hold datetimes (nested too), beside plain items; the session's id."""
    async with open_store("memory://") as memory:
        students = {
            "ann": Student(id="ann", extra={"seen": WHEN, "deep": [{"at": WHEN}]}),
            "bob": Student(id="bob"),
        }
        session_id = await memory.sessions.create_session(
            Session(join_code="NAIVE1", students=students, extra={"when": WHEN})
        )
        await memory.sessions.record_code(session_id, "ann", "x", ExecutionResult(success=True, extra={"ran": WHEN}))
        await memory.sessions.record_code(session_id, "bob", "y")
        for title, free in (("A", {"at": [WHEN]}), ("B", {}), ("C", {})):
            await memory.problems.save_problem(ProblemSpec(title=title, tags=["t"], extra=free))
        stored = {
            name: [document async for document in memory.documents.iter_documents(name)]
            for name in ("sessions", "session_students", "revisions", "problems")
        }
    latest = [{"_id": revision["student_id"], "latest": revision} for revision in stored["revisions"]]
    for collection, documents in stored.items():
        extra: dict[str, Any] = {"aggregate": latest} if collection == "revisions" else {}
        await client.admin.command("stubLoad", collection, documents=documents, **extra)
    await client.admin.command("stubLoad", META, documents=[{"_id": "layout", "version": LAYOUT_VERSION}])
    return session_id


async def test_naive_reads_return_what_aware_reads_did_extras_and_cursors_too(
    client: Client, stub_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``_naive_reads``: items read from naively decoded documents are the items of the aware ones,
    down to the tzinfo of a datetime inside ``extra``, and a page's cursor is the same string."""
    session_id = await canned_extras(client)
    settled: list[int] = []  # per read, how many documents were made again as the client decodes them
    settle = NaiveReader.settled

    def counted(self: NaiveReader, documents: list[dict[str, Any]], suffices: Any) -> list[dict[str, Any]]:
        made = [document for document in documents if not suffices(document)]
        assert all(type(value) is not datetime or value.tzinfo is None for value in documents[0].values())
        settled.append(len(made))
        return settle(self, documents, suffices)

    async def reads() -> str:
        async with open_store(stub_url, database="bench") as store:
            session = await store.sessions.get_session(session_id)
            page = await store.problems.list_problems(tags=["t"], limit=2)
            latest = await store.revisions.get_latest_revisions(session_id)
        assert session is not None and page.next_cursor is not None and len(latest) == 2
        assert session.students["ann"].extra["seen"] == WHEN and page.items[0].extra == {"at": [WHEN]}
        return repr((session, page, latest))  # repr: every datetime's tzinfo too

    monkeypatch.setattr(NaiveReader, "settled", counted)
    naive = await reads()
    # The session, its class, the page, the overview: each read naive, one document of each made
    # again (the session, ann's record, problem A, ann's revision: their extras hold datetimes).
    assert settled == [1, 1, 1, 1]
    monkeypatch.setattr(_backend, "naive_reader", lambda collection: None)
    assert naive == await reads()
    assert len(settled) == 4


async def test_a_damaged_document_read_naive_is_the_same_storage_error(
    client: Client, stub_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    await canned_extras(client)
    damaged = {"_id": "p1", "title": 5, "tags": ["t"], "created_at": WHEN, "extra": {}, "namespace_id": "default"}
    await client.admin.command("stubLoad", "problems", documents=[damaged])

    async def refusal() -> str:
        async with open_store(stub_url, database="bench") as store:
            with pytest.raises(PersistenceError) as caught:
                await store.problems.list_problems(tags=["t"])
        assert caught.value.code is ErrorCode.STORAGE_ERROR
        return caught.value.message

    naive = await refusal()
    assert naive.startswith("stored ProblemSpec 'p1' is damaged: ")
    monkeypatch.setattr(_backend, "naive_reader", lambda collection: None)
    assert naive == await refusal()


async def test_free_form_values_of_every_bson_type_read_naive_as_aware_reads_gave(
    client: Client, stub_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A document made again (``NaiveReader.settled``: encoded, decoded aware) holds what the
    client's own decoding gave, for every BSON type ``extra`` may carry, datetimes at any depth."""
    naive_when = WHEN.replace(tzinfo=None)
    free = {
        "when": naive_when,
        "nested": [{"at": naive_when, "list": [naive_when, -0.0, 2**40, 7]}],
        "code": Code("f(x)", {"at": naive_when}),
        "plain_code": Code("g()"),
        "ref": DBRef("things", naive_when, "db", at=naive_when, n=1),
        "kinds": [ObjectId("0123456789ab0123456789ab"), Decimal128("1.10"), Regex("^a", "i"), Timestamp(5, 1)],
        "binary": [b"\x00\x01", Binary(b"0123456789abcdef", 4), MinKey(), MaxKey(), None, True, "text"],
    }
    metadata = {"created_at": WHEN, "updated_at": WHEN, "version": 1, "created_by": None, "modified_by": None}
    problem = {"_id": "p1", "title": "T", "tags": ["t"], "created_at": WHEN, "extra": free, METADATA: metadata}
    await client.admin.command("stubLoad", "problems", documents=[problem])
    await client.admin.command("stubLoad", META, documents=[{"_id": "layout", "version": LAYOUT_VERSION}])

    async def page() -> str:
        async with open_store(stub_url, database="bench") as store:
            found = await store.problems.list_problems(tags=["t"])
        assert found.items[0].extra["code"].scope["at"].tzinfo is not None
        return repr(found)

    naive = await page()
    monkeypatch.setattr(_backend, "naive_reader", lambda collection: None)
    assert naive == await page()


async def test_items_read_naive_validate_without_a_python_call_a_datetime(client: Client, stub_url: str) -> None:
    """A page's problems, a session and its class are built by their derived validators
    (``_stored_reads``): pydantic's core calls no ``to_utc_ms`` (one a datetime before, ~0.75 us:
    half of a problem's validation), and each item is the one ``memory://`` read."""
    session, problem = await canned_class(client)
    calls: list[str] = []

    def profile(frame: Any, event: str, arg: Any) -> None:
        if event == "call" and frame.f_code is to_utc_ms.__code__:
            calls.append(frame.f_back.f_code.co_name if frame.f_back is not None else "")

    async with open_store(stub_url, database="bench") as store:
        await store.problems.list_problems(tags=["all"])  # the derived validators built
        await store.sessions.get_session(session.id)
        sys.setprofile(profile)
        try:
            page = await store.problems.list_problems(tags=["all"])
            got = await store.sessions.get_session(session.id)
        finally:
            sys.setprofile(None)
    assert page.items == [problem] and type(page.items[0]) is ProblemSpec
    assert got == session and type(got) is Session and type(got.students["ann"]) is Student
    assert got is not None and got.model_fields_set == session.model_fields_set  # its class set in place
    assert calls == []
