"""The MongoDB dialect's own cost per call: docstore against raw PyMongo on the same server, same run.

    python scripts/bench_mongo.py --stub [--calls 300] [--rounds 5]
    DOCSTORE_TEST_MONGODB_URL=mongodb://... python scripts/bench_mongo.py [--calls 300] [--rounds 5]

Issue 18's target: docstore's ``mongodb://`` dialect within 1.15x of raw PyMongo
(``AsyncMongoClient``) doing the same work. Four operations, each side sending the same
commands with the same documents: a session by id (its document, then its 30 students'
records), a student's post (``record_code``: read the session, set the student's code,
insert the revision, in one transaction), the overview of 30 students (one aggregate), a
filtered page of problems (20, one ``find``). The raw side returns the driver's dicts;
docstore validates them into the domain types, scopes, checks and maps errors.

The server: ``--stub`` starts ``scripts/_mongo_stub.py`` in a process of its own, which
answers every command from canned documents (made by docstore itself on ``memory://``)
and does no query work at all. Its CPU per command is printed: it is near-free, so each
call's time is almost all client, and the ratio is an **upper bound** of what a real
server shows (a real server's own time is added to both sides alike). Without ``--stub``
the server is ``DOCSTORE_TEST_MONGODB_URL`` (a replica set: the post runs in a
transaction); none can run on the machines this project is built on, so without either
the script says so and exits 2.

For each operation, in alternating rounds: p50 and min of ``--calls`` sequential calls,
the client process's CPU per call (docstore's own CPU above the driver is the difference),
the commands each side sent per call and, on the stub, its CPU per call and per command.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from _timing import seconds_each
from pymongo import AsyncMongoClient, ReturnDocument

from docstore import ProblemSpec, Session, Store, Student, open_store
from docstore._config import StorageConfig
from docstore._mongo._engines import MongoEngine
from docstore._mongo._migration import LAYOUT_VERSION, META

Call = Callable[[], Awaitable[Any]]
Raw = AsyncMongoClient[dict[str, Any]]

STUDENTS = 30
PROBLEMS = 30
POSTER = "s7"
OPERATIONS = ("get by id (30 students)", "record_code (a post)", "overview (30 students)", "filtered page (20)")
COLLECTIONS = ("sessions", "session_students", "problems", "revisions")
UPPER_BOUND = (
    "The stub does no query work: each call's time is almost all client, so these ratios are an upper\n"
    "bound of what a real MongoDB shows (its own time is added to both sides alike)."
)


# -- the data both sides read ------------------------------------------------------------
async def seed(store: Store) -> str:
    """A 30-student session with 3 revisions each, and problems the filtered page finds; the session's id."""
    students = {f"s{i}": Student(id=f"s{i}", name=f"S{i}") for i in range(STUDENTS)}
    session_id = await store.sessions.create_session(Session(join_code="BENCH1", students=students))
    for round_ in range(3):
        for i in range(STUDENTS):
            await store.sessions.record_code(session_id, f"s{i}", f"print({round_})")
    for i in range(PROBLEMS):
        await store.problems.save_problem(ProblemSpec(title=f"P{i}", difficulty="beginner", tags=["t3", "all"]))
    return session_id


async def canned_documents() -> dict[str, dict[str, Any]]:
    """What the stub answers, per collection: docstore's own documents, written on ``memory://``."""
    async with open_store("memory://") as store:
        await seed(store)
        stored = {name: [doc async for doc in store.documents.iter_documents(name)] for name in COLLECTIONS}
    # A post moves last_activity at most once a second; a real server would see it moved
    # by the previous post: in the future, the canned session never asks for that write.
    stored["sessions"][0]["last_activity"] = datetime.now(UTC) + timedelta(days=1)
    stored["session_students"].sort(key=lambda record: record["student_id"])
    newest: dict[str, dict[str, Any]] = {}
    for revision in stored["revisions"]:
        key, older = revision["student_id"], newest.get(revision["student_id"])
        if older is None or (revision["timestamp"], revision["_id"]) > (older["timestamp"], older["_id"]):
            newest[key] = revision
    stored["problems"].sort(key=lambda problem: (problem["created_at"], problem["_id"]), reverse=True)
    return {
        "sessions": {"documents": stored["sessions"]},
        "session_students": {"documents": stored["session_students"]},
        "problems": {"documents": stored["problems"]},
        "revisions": {
            "documents": stored["revisions"],
            "aggregate": [{"_id": key, "latest": newest[key]} for key in sorted(newest)],
        },
        META: {"documents": [{"_id": "layout", "version": LAYOUT_VERSION}]},
    }


# -- the two sides -----------------------------------------------------------------------
def raw_client(url: str) -> Raw:
    """A PyMongo client with the options docstore's engine gives its own (tz_aware, w=majority,
    the socket timeouts, the pool): the same commands, the same decoded values, the same
    per-command work in the driver (a socket timeout costs the async driver a task per reply)."""
    client: Raw = MongoEngine(StorageConfig(url=url))._client
    return client


def docstore_operations(store: Store, session_id: str) -> dict[str, Call]:
    calls: list[Call] = [
        lambda: store.sessions.get_session(session_id),
        lambda: store.sessions.record_code(session_id, POSTER, "print('post')"),
        lambda: store.revisions.get_latest_revisions(session_id),
        lambda: store.problems.list_problems(difficulty="beginner", tags=["t3", "all"], limit=20),
    ]
    return dict(zip(OPERATIONS, calls, strict=True))


# What docstore's class read asks for (``_mongo/_student_records.py``): the same command on both
# sides, so the stub projects (and the driver decodes) the same records for both.
STUDENT_FIELDS = {"_id": 1, "student_id": 1, "name": 1, "code": 1, "last_update": 1, "extra": 1}


def raw_operations(client: Raw, database: str, session_id: str, template: dict[str, Any]) -> dict[str, Call]:
    """The same commands with the same documents, straight through the driver (what docstore sends)."""
    db = client[database]
    sessions, students, revisions, problems = db.sessions, db.session_students, db.revisions, db.problems

    async def get() -> Any:
        session = await sessions.find_one({"_id": session_id})
        found = students.find({"session_id": session_id}, STUDENT_FIELDS).sort([("student_id", 1)])
        return session, await found.to_list(None)

    async def post() -> Any:
        now = datetime.now(UTC)
        revision = {**template, "_id": uuid.uuid4().hex, "code": "print('post')", "timestamp": now}
        revision["_metadata"] = {**template["_metadata"], "created_at": now, "updated_at": now}

        async def work(session: Any) -> Any:
            await sessions.find_one(
                {"_id": session_id}, {"active": 1, "namespace_id": 1, "last_activity": 1}, session=session
            )
            record = await students.find_one_and_update(
                {"session_id": session_id, "_id": f"{session_id}/{POSTER}", "student_id": POSTER},
                {
                    "$set": {
                        "code": "print('post')",
                        "last_update": now,
                        "_metadata.updated_at": now,
                        "_metadata.modified_by": None,
                    },
                    "$inc": {"_metadata.version": 1},
                },
                projection={"student_id": 1, "name": 1, "code": 1, "last_update": 1, "extra": 1},
                return_document=ReturnDocument.AFTER,
                session=session,
            )
            await revisions.insert_one(revision, session=session)
            return record

        async with client.start_session() as session:
            return await session.with_transaction(work)

    async def overview() -> Any:
        order = {"session_id": 1, "student_id": 1, "timestamp": -1, "_id": -1}
        pipeline: list[dict[str, Any]] = [
            {"$match": {"session_id": session_id}},
            {"$sort": order},
            {"$group": {"_id": "$student_id", "latest": {"$first": "$$ROOT"}}},
        ]
        return await (await revisions.aggregate(pipeline)).to_list(None)

    async def page() -> Any:
        found = problems.find({"difficulty": "beginner", "tags": {"$in": ["t3", "all"]}}, None)
        return await found.sort([("created_at", -1), ("_id", -1)]).skip(0).limit(21).to_list(None)

    return dict(zip(OPERATIONS, (get, post, overview, page), strict=True))


# -- measuring ---------------------------------------------------------------------------
@dataclass
class Side:
    """One side of one operation, over every round."""

    p50: list[float] = field(default_factory=list)
    best: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)  # the client process's CPU seconds a call
    stub_cpu: list[float] = field(default_factory=list)  # the stub's CPU seconds a call
    commands: Counter[str] = field(default_factory=Counter)  # what it sent, over every call


async def stub_stats(client: Raw) -> tuple[float, Counter[str]]:
    stats = await client.admin.command("stubStats")
    return float(stats["cpu_s"]), Counter(stats["commands"])


async def measure(call: Call, calls: int, side: Side, stub: Raw | None) -> None:
    before = await stub_stats(stub) if stub is not None else (0.0, Counter[str]())
    cpu = time.process_time()
    samples = await seconds_each(call, calls)
    cpu = time.process_time() - cpu
    if stub is not None:
        after = await stub_stats(stub)
        side.stub_cpu.append((after[0] - before[0]) / (calls + 1))
        sent = after[1] - before[1]
        sent["stubStats"] -= 1  # the first stubStats is counted in `after`
        for monitoring in ("hello", "isMaster", "ismaster"):  # the driver's heartbeats, not the call's
            sent.pop(monitoring, None)
        side.commands += +sent
    side.p50.append(statistics.median(samples))
    side.best.append(min(samples))
    side.cpu.append(cpu / (calls + 1))


def per_call(commands: Counter[str], calls: int) -> str:
    return ", ".join(f"{name} {count / calls:g}" for name, count in sorted(commands.items())) or "-"


def report(samples: dict[str, dict[str, Side]], calls: int, rounds: int, stub: bool) -> None:
    us = 1e6
    print(f"{calls} sequential calls a round, {rounds} alternating rounds; medians of the rounds' figures")
    print(
        f"{'operation':<24} {'raw p50':>8} {'docstore p50':>12} {'ratio':>6} {'raw min':>8} {'ds min':>7}"
        f" {'ratio':>6}  {'raw CPU':>7} {'ds CPU':>7} {'ds own CPU':>10}" + ("  stub CPU/call" if stub else "")
    )
    for name, sides in samples.items():
        raw, ours = sides["raw"], sides["docstore"]
        raw_p50, our_p50 = statistics.median(raw.p50) * us, statistics.median(ours.p50) * us
        raw_min, our_min = statistics.median(raw.best) * us, statistics.median(ours.best) * us
        raw_cpu, our_cpu = statistics.median(raw.cpu) * us, statistics.median(ours.cpu) * us
        line = (
            f"{name:<24} {raw_p50:7.0f}u {our_p50:11.0f}u {our_p50 / raw_p50:5.2f}x {raw_min:7.0f}u {our_min:6.0f}u"
            f" {our_min / raw_min:5.2f}x  {raw_cpu:6.0f}u {our_cpu:6.0f}u {our_cpu - raw_cpu:9.0f}u"
        )
        if stub:
            line += f"  {statistics.median(raw.stub_cpu) * us:4.0f}u / {statistics.median(ours.stub_cpu) * us:4.0f}u"
        print(line)
    print("u = microseconds. CPU: the bench process's (client) CPU a call; ds own CPU = docstore CPU - raw CPU.")
    print("Target (issue 18): docstore p50 within 1.15x of raw PyMongo.")
    if stub:
        print("\nCommands a call (raw | docstore), from the stub's counters:")
        total_commands = total_cpu = 0.0
        for name, sides in samples.items():
            raw, ours = sides["raw"], sides["docstore"]
            print(
                f"  {name:<24} {per_call(raw.commands, calls * rounds + rounds)} | "
                f"{per_call(ours.commands, calls * rounds + rounds)}"
            )
            for side in (raw, ours):
                total_commands += sum(side.commands.values())
                total_cpu += statistics.mean(side.stub_cpu) * (calls + 1) * rounds
        print(f"The stub's own CPU: {total_cpu / total_commands * us:.0f} us a command (its process, both sides).")
        print(UPPER_BOUND)


async def run(
    raw_client: Raw, stub: Raw | None, store: Store, database: str, session_id: str, calls: int, rounds: int
) -> None:
    template = await raw_client[database].revisions.find_one({"session_id": session_id})
    assert template is not None, "no revision to copy"
    ours = docstore_operations(store, session_id)
    theirs = raw_operations(raw_client, database, session_id, template)
    samples = {name: {"docstore": Side(), "raw": Side()} for name in ours}
    for round_number in range(rounds):
        for name in ours:
            order = [("docstore", ours[name]), ("raw", theirs[name])]
            for side, call in order if round_number % 2 == 0 else order[::-1]:
                await measure(call, calls, samples[name][side], stub)
        print(f"round {round_number + 1} of {rounds} done", file=sys.stderr, flush=True)
    report(samples, calls, rounds, stub is not None)


async def on_stub(calls: int, rounds: int) -> None:
    script = Path(__file__).with_name("_mongo_stub.py")
    process = subprocess.Popen([sys.executable, str(script)], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert process.stdout is not None
        url = f"mongodb://127.0.0.1:{int(process.stdout.readline())}"
        raw = raw_client(url)
        try:
            canned = await canned_documents()
            for collection, answers in canned.items():
                await raw.admin.command("stubLoad", collection, **answers)
            session_id = canned["sessions"]["documents"][0]["_id"]
            async with open_store(url, database="bench") as store:
                await run(raw, raw, store, "bench", session_id, calls, rounds)
        finally:
            await raw.close()
    finally:
        assert process.stdin is not None
        process.stdin.close()  # the stub stops when its stdin closes
        process.wait(timeout=10)


async def on_server(url: str, calls: int, rounds: int) -> None:
    database = f"docstore_bench_{uuid.uuid4().hex[:8]}"
    raw = raw_client(url)
    try:
        async with open_store(url, database=database) as store:
            session_id = await seed(store)
            await run(raw, None, store, database, session_id, calls, rounds)
    finally:
        await raw.drop_database(database)
        await raw.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stub", action="store_true", help="against scripts/_mongo_stub.py (no MongoDB needed)")
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    if args.stub:
        asyncio.run(on_stub(args.calls, args.rounds))
        return
    url = os.environ.get("DOCSTORE_TEST_MONGODB_URL")
    if not url:
        print("set DOCSTORE_TEST_MONGODB_URL to a MongoDB server, or run with --stub", file=sys.stderr)
        raise SystemExit(2)
    asyncio.run(on_server(url, args.calls, args.rounds))


if __name__ == "__main__":
    main()
