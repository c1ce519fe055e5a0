"""What docstore costs, as ratios measured in the same run on the same engine.

    python scripts/bench.py [--engines memory,local] [--sizes 10000,100000,1000000] [--repeat 200]

Engines: memory and local always; mongodb too when DOCSTORE_TEST_MONGODB_URL is set.

1. Overhead: each repository call against the raw PyMongo call that does the same
   work on the same collection (get by id, create, partial update, a filtered page,
   the instructor overview). Ratio = docstore time / raw time, per operation.
2. Scaling: the instructor overview of one 30-student session, and the last page of
   the session listing reached by cursor, as the revisions collection grows (sessions
   grow with it, one per 100 revisions). Ratio = time at the largest size / time at
   the smallest. Also: the size at which the overview passes 100 ms.
3. Opening a local:// store holding each size of revisions.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from docstore._sessions import session_document
from pymongo import ReturnDocument

from docstore import CodeRevision, ProblemSpec, Session, Store, Student, open_store
from docstore._mapping import to_document

BASE = datetime(2026, 1, 6, tzinfo=UTC)


async def timed(call: Callable[[], Awaitable[Any]], repeat: int) -> float:
    """Median seconds of one call, over ``repeat`` calls (after one warm-up)."""
    await call()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        await call()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def url_for(engine: str, folder: Path) -> str:
    if engine == "memory":
        return "memory://"
    if engine == "local":
        return f"local://{folder / 'local'}"
    return os.environ["DOCSTORE_TEST_MONGODB_URL"]


async def overhead(store: Store, repeat: int) -> dict[str, float]:
    sessions, problems, revisions = (store.raw_collection(n) for n in ("sessions", "problems", "revisions"))
    students = {f"s{i}": Student(id=f"s{i}", name=f"Student {i}") for i in range(30)}
    session_id = await store.sessions.create_session(Session(join_code="BENCH1", students=students))
    await store.problems.save_problem(ProblemSpec(title="warm-up", tags=["loops"]))
    for i in range(200):
        await problems.insert_one(
            to_document(store.problems._stamped(ProblemSpec(title=f"P{i}", tags=["loops" if i % 2 else "strings"])))
        )
    await revisions.insert_many(
        [
            to_document(
                store.revisions._stamped(
                    CodeRevision(
                        session_id=session_id,
                        student_id=f"s{i % 30}",
                        code=f"x = {i}",
                        timestamp=BASE + timedelta(seconds=i),
                    )
                )
            )
            for i in range(600)
        ]
    )
    counter = iter(range(10**9))
    results: dict[str, float] = {}

    async def raw_create() -> None:
        n = next(counter)
        await sessions.insert_one(
            session_document(store.sessions._stamped(Session(join_code=f"R{n:05d}", active=False)))
        )

    async def repo_create() -> None:
        n = next(counter)
        await store.sessions.create_session(Session(join_code=f"D{n:05d}", active=False))

    pairs: dict[str, tuple[Callable[[], Awaitable[Any]], Callable[[], Awaitable[Any]]]] = {
        "get by id": (
            lambda: store.sessions.get_session(session_id),
            lambda: sessions.find_one({"_id": session_id}),
        ),
        "create": (repo_create, raw_create),
        "partial update": (
            lambda: store.sessions.update_session(session_id, {"featured_code": "print(1)"}),
            lambda: sessions.find_one_and_update(
                {"_id": session_id},
                {"$set": {"featured_code": "print(1)", "_metadata.updated_at": BASE}, "$inc": {"_metadata.version": 1}},
                return_document=ReturnDocument.AFTER,
            ),
        ),
        "filtered page": (
            lambda: store.problems.list_problems(tags=["loops"], limit=20),
            lambda: (
                problems.find({"tags": {"$in": ["loops"]}})
                .sort([("created_at", -1), ("_id", -1)])
                .limit(21)
                .to_list(None)
            ),
        ),
        "instructor overview": (
            lambda: store.revisions.get_latest_revisions(session_id),
            lambda: _raw_overview(revisions, session_id),
        ),
    }
    for name, (repository_call, raw_call) in pairs.items():
        results[name] = await timed(repository_call, repeat) / await timed(raw_call, repeat)
    return results


async def _raw_overview(revisions: Any, session_id: str) -> list[Any]:
    pipeline = [
        {"$match": {"session_id": session_id}},
        {"$sort": {"session_id": 1, "student_id": 1, "timestamp": -1, "_id": -1}},
        {"$group": {"_id": "$student_id", "latest": {"$first": "$$ROOT"}}},
    ]
    rows: list[Any] = await (await revisions.aggregate(pipeline)).to_list(None)
    return rows


async def grow(store: Store, revisions_wanted: int, have: int) -> str:
    """Add revisions (and one session per 100) up to ``revisions_wanted``; the measured session's id."""
    sessions, revisions = store.raw_collection("sessions"), store.raw_collection("revisions")
    batch: list[dict[str, Any]] = []
    for i in range(have, revisions_wanted):
        if i % 100 == 0:
            session = store.sessions._stamped(
                Session(id=f"session-{i // 100:07d}", active=False, created_at=BASE + timedelta(seconds=i))
            )
            await sessions.insert_one(session_document(session))
        revision = CodeRevision(
            id=f"rev-{i:08d}",
            session_id=f"session-{i // 100:07d}",
            student_id=f"s{i % 30}",
            code="print('hello')\n" * 4,
            timestamp=BASE + timedelta(seconds=i),
        )
        batch.append(to_document(store.revisions._stamped(revision)))
        if len(batch) == 5000:
            await revisions.insert_many(batch, ordered=False)
            batch = []
    if batch:
        await revisions.insert_many(batch, ordered=False)
    return "session-0000000"


async def deep_page_time(store: Store, repeat: int) -> float:
    page = await store.sessions.list_all_sessions(limit=1000, sort_order="asc")
    cursor = page.next_cursor
    while page.next_cursor is not None:
        cursor = page.next_cursor
        page = await store.sessions.list_all_sessions(limit=1000, sort_order="asc", cursor=cursor)
    # `cursor` now continues to the last page: time that one call.
    return await timed(lambda: store.sessions.list_all_sessions(limit=50, sort_order="asc", cursor=cursor), repeat)


async def scaling(engine: str, folder: Path, sizes: list[int], repeat: int) -> list[dict[str, float]]:
    rows = []
    url = url_for(engine, folder)
    database = f"docstore_bench_{os.getpid()}"
    store = open_store(url, database=database)
    await store.initialize()
    have = 0
    try:
        for size in sizes:
            session_id = await grow(store, size, have)
            have = size
            overview_call = store.revisions.get_latest_revisions
            overview = await timed(lambda: overview_call(session_id), max(3, repeat // 20))  # noqa: B023 - awaited here
            deep = await deep_page_time(store, max(3, repeat // 20))
            row = {"size": size, "overview_s": overview, "deep_page_s": deep}
            if engine == "local":
                await store.shutdown()  # compacts into a snapshot
                started = time.perf_counter()
                store = open_store(url, database=database)
                await store.initialize()
                row["open_s"] = time.perf_counter() - started
            rows.append(row)
            print(
                f"  {engine} {size:>9,} revisions: overview {overview * 1000:8.1f} ms, "
                f"last page by cursor {deep * 1000:7.2f} ms"
                + (f", open {row['open_s']:.1f} s" if "open_s" in row else ""),
                flush=True,
            )
    finally:
        if engine == "mongodb":
            await store.raw_collection("sessions").database.client.drop_database(database)
        await store.shutdown()
    return rows


def crossing(rows: list[dict[str, float]], key: str, limit_s: float) -> str:
    """Where ``key`` passes ``limit_s``, interpolated linearly between measured sizes."""
    previous = None
    for row in rows:
        if row[key] > limit_s:
            if previous is None:
                return f"below {row['size']:,.0f}"
            fraction = (limit_s - previous[key]) / (row[key] - previous[key])
            return f"about {previous['size'] + fraction * (row['size'] - previous['size']):,.0f}"
        previous = row
    return f"not reached at {rows[-1]['size']:,.0f}"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--engines", default="memory,local")
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    engines = args.engines.split(",")
    if os.environ.get("DOCSTORE_TEST_MONGODB_URL") and "mongodb" not in engines:
        engines.append("mongodb")
    sizes = [int(size) for size in args.sizes.split(",")]
    folder = Path(tempfile.mkdtemp(prefix="docstore-bench-"))
    try:
        print("1. docstore call / raw PyMongo call, same engine (1.00 = no overhead)")
        for engine in engines:
            async with open_store(
                url_for(engine, folder / "overhead"), database=f"docstore_overhead_{os.getpid()}"
            ) as store:
                ratios = await overhead(store, args.repeat)
                if engine == "mongodb":
                    await store.raw_collection("sessions").database.client.drop_database(
                        f"docstore_overhead_{os.getpid()}"
                    )
            print(f"  {engine:8}" + "".join(f"  {name}: {ratio:5.2f}" for name, ratio in ratios.items()), flush=True)
        print("2. growth of the revisions collection")
        for engine in engines:
            rows = await scaling(engine, folder / engine, sizes, args.repeat)
            first, last = rows[0], rows[-1]
            print(
                f"  {engine}: overview x{last['overview_s'] / first['overview_s']:.1f}, "
                f"last page by cursor x{last['deep_page_s'] / first['deep_page_s']:.1f} "
                f"from {first['size']:,} to {last['size']:,} revisions; "
                f"overview passes 100 ms at {crossing(rows, 'overview_s', 0.1)} revisions",
                flush=True,
            )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
