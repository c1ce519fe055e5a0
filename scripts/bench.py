"""What docstore costs, with sizes named, as ratios against baselines measured in the same run.

    python scripts/bench.py [--engines local,memory] [--sizes 10000,100000,1000000] [--repeat 50]

Engines: local and memory by default; mongodb too when DOCSTORE_TEST_MONGODB_URL is set.
The memory engine (mongomock) is only run up to 100,000 documents: beyond, loading alone
takes longer than the rest of the run.

For each engine and size N, the store holds N revisions (one session of 6,000 revisions
across 30 students, the rest spread over other sessions) and N sessions.

1. Overview: ``get_latest_revisions`` of the 6,000-revision session; median ms, and the
   ratio at each size to the smallest size (flat = 1.0).
2. Last page of the session listing (``list_all_sessions`` by cursor, newest first):
   median ms, and the ratio to the smallest size.
3. Event loop: per kind of call (overview, listing, counts, search, concurrent
   record_code, a bulk save, a whole session read, an export pass), the longest gap a
   1 ms ticker task saw while it ran: how long that call held the loop. Again after
   ``gc.freeze()``, to show what CPython's garbage collector adds.
4. Opening the store (local only): a fresh process opens it and reads one session;
   seconds and peak RSS of that process.
5. 10,000 revisions saved one by one, each awaited (local: on the benchmark's disk and
   on /dev/shm), against 10,000 bare SQLite durable commits (WAL, synchronous=FULL)
   measured in the same run on the same disk: every acknowledged write is one such
   commit, so that is the floor on a disk.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from _timing import median_seconds

from docstore import CodeRevision, Session, Store, Student, open_store
from docstore._page import encode_cursor

BASE = datetime(2026, 1, 6, tzinfo=UTC)
BIG_SESSION = "big-session"
BIG_REVISIONS = 6000
STUDENTS = 30
LOAD_BATCH = 5000
MEMORY_LIMIT = 100_000



def url_for(engine: str, folder: Path) -> str:
    if engine == "memory":
        return "memory://"
    if engine == "local":
        return f"local://{folder / 'local'}"
    return os.environ["DOCSTORE_TEST_MONGODB_URL"]


def _metadata(when: datetime) -> dict[str, Any]:
    return {"created_at": when, "updated_at": when, "version": 1, "created_by": None, "modified_by": None}


def revision_document(i: int) -> dict[str, Any]:
    """Revision i: the first BIG_REVISIONS belong to the big session, the rest to 100-revision sessions."""
    when = BASE + timedelta(milliseconds=i)
    if i < BIG_REVISIONS:
        session_id, student_id = BIG_SESSION, f"s{i % STUDENTS:02d}"
    else:
        session_id, student_id = f"sess{i // 100:08d}", f"s{i % STUDENTS:02d}"
    return {
        "_id": f"rev{i:010d}",
        "session_id": session_id,
        "student_id": student_id,
        "code": "print('hello')\n" * 4,
        "timestamp": when,
        "execution_result": None,
        "namespace_id": "default",
        "_metadata": _metadata(when),
    }


def session_document(i: int) -> dict[str, Any]:
    when = BASE + timedelta(seconds=i)
    return {
        "_id": f"sess{i:08d}",
        "join_code": None,
        "problem_text": "",
        "problem": None,
        "featured_student_id": None,
        "featured_code": None,
        "instructor_id": f"teacher{i % 50}",
        "namespace_id": "default",
        "active": False,
        "created_at": when,
        "last_activity": when,
        "ended_at": None,
        "extra": {},
        "_metadata": _metadata(when),
    }


async def grow(store: Store, collection: str, make: Callable[[int], dict[str, Any]], have: int, wanted: int) -> None:
    """Add documents have..wanted-1 through the document surface (batches of LOAD_BATCH)."""
    for start in range(have, wanted, LOAD_BATCH):
        batch = [make(i) for i in range(start, min(start + LOAD_BATCH, wanted))]
        result = await store.documents.upsert_documents(collection, batch)
        assert not result.failed, result.failed[:3]


def last_page_cursor(limit: int) -> str:
    """The cursor that a newest-first listing of sessions hands out just before its last page."""
    when = BASE + timedelta(seconds=limit)
    return encode_cursor("created_at", "desc", when, f"sess{limit:08d}")


async def last_page(store: Store, limit: int = 50) -> None:
    page = await store.sessions.list_all_sessions(limit=limit, cursor=last_page_cursor(limit))
    assert len(page) == limit and page.next_cursor is None, (len(page), page.next_cursor)


async def overview(store: Store) -> None:
    latest = await store.revisions.get_latest_revisions(BIG_SESSION)
    assert len(latest) == STUDENTS


async def loop_stalls(store: Store) -> dict[str, float]:
    """Per kind of call: the longest gap (s) a 1 ms ticker saw while that call ran (3 times)."""
    gaps: list[float] = []
    stop = asyncio.Event()

    async def ticker() -> None:
        last = time.perf_counter()
        while not stop.is_set():
            await asyncio.sleep(0.001)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    session_id = await store.sessions.create_session(
        Session(join_code=f"T{time.time_ns() % 10**8}", students={f"k{i}": Student(id=f"k{i}") for i in range(30)})
    )

    async def post(i: int) -> None:
        await asyncio.sleep(i * 0.00025)
        await store.sessions.record_code(session_id, f"k{i % 30}", f"x = {i}")

    async def export() -> None:
        exported = 0
        async for _ in store.documents.iter_documents("revisions", batch_size=1000):
            exported += 1
            if exported >= 20_000:
                return

    calls: dict[str, Callable[[], Awaitable[Any]]] = {
        # The baseline: what the machine alone does to a ticker (other processes, the OS).
        "nothing (an idle loop, 0.2 s)": lambda: asyncio.sleep(0.2),
        "overview (6,000 revisions)": lambda: overview(store),
        "last page of sessions": lambda: last_page(store),
        "count sessions (all)": lambda: store.sessions.count_sessions(),
        "search": lambda: store.problems.search_problems("hello world"),
        # 200 student posts arriving within 50 ms (each call's own work on the loop is small;
        # 200 started in the same instant would add up in one loop iteration).
        "200 record_code within 50 ms": lambda: asyncio.gather(*(post(i) for i in range(200))),
        "save_revisions x1000": lambda: store.revisions.save_revisions(
            [CodeRevision(session_id=session_id, student_id="k0", code="y") for _ in range(1000)]
        ),
        "all 6,000 revisions of a session": lambda: store.revisions.get_all_session_revisions(BIG_SESSION),
        "export 20,000 documents": export,
    }
    ticking = asyncio.create_task(ticker())
    worst: dict[str, float] = {}
    for name, call in calls.items():
        worst[name] = 0.0
        for _ in range(3):
            await asyncio.sleep(0.005)
            gaps.clear()
            await call()
            worst[name] = max(worst[name], max(gaps, default=0.001) - 0.001)
    stop.set()
    await ticking
    return worst


def open_in_fresh_process(url: str) -> tuple[float, float]:
    """(seconds to open and read one session, peak RSS MB) of a new process."""
    code = (
        "import asyncio, resource, sys, time\n"
        "started = time.perf_counter()\n"
        "from docstore import open_store\n"
        "async def main():\n"
        "    async with open_store(sys.argv[1]) as store:\n"
        "        assert await store.sessions.get_session('sess00000001') is not None\n"
        "        print(time.perf_counter() - started, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)\n"
        "asyncio.run(main())\n"
    )
    done = subprocess.run([sys.executable, "-c", code, url], capture_output=True, text=True, check=True)
    seconds, rss = done.stdout.split()
    return float(seconds), float(rss)


async def sequential_saves(url: str, count: int = 10_000) -> float:
    async with open_store(url) as store:
        started = time.perf_counter()
        for i in range(count):
            await store.revisions.save_revision(CodeRevision(session_id="seq", student_id="a", code=f"x = {i}"))
        return time.perf_counter() - started


def bare_commit_latency(folder: Path, count: int = 2000) -> float:
    """Median seconds of one durable commit of bare SQLite (WAL, synchronous=FULL) on the disk
    under ``folder``: the floor for a write that is on disk before it is acknowledged."""
    path = folder / "bare.sqlite3"
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("PRAGMA synchronous = FULL")
        connection.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)")
        samples = []
        for done in range(-1500, count):  # the first 1,500 grow the WAL to its steady size: not timed
            started = time.perf_counter()
            connection.execute("BEGIN IMMEDIATE")
            connection.execute("INSERT INTO t (v) VALUES (?)", (b"x" * 300,))
            connection.execute("COMMIT")
            if done >= 0:
                samples.append(time.perf_counter() - started)
    finally:
        connection.close()
    return statistics.median(samples)


async def run_engine(engine: str, folder: Path, sizes: list[int], repeat: int) -> None:
    if engine == "memory":
        sizes = [size for size in sizes if size <= MEMORY_LIMIT]
    print(f"\n== {engine} ==", flush=True)
    url = url_for(engine, folder)
    first_overview = first_listing = 0.0
    async with open_store(url, database=f"bench_{os.getpid()}") as store:
        have = 0
        for size in sizes:
            started = time.perf_counter()
            await grow(store, "revisions", revision_document, have, size)
            await grow(store, "sessions", session_document, have, size)
            have = size
            loaded = time.perf_counter() - started
            view = await median_seconds(lambda: overview(store), repeat)
            listing = await median_seconds(lambda: last_page(store), repeat)
            first_overview, first_listing = first_overview or view, first_listing or listing
            print(
                f"  {size:>9,} revisions + {size:,} sessions (loaded in {loaded:.0f} s): "
                f"overview of {BIG_REVISIONS:,} revisions {view * 1000:7.3f} ms (x{view / first_overview:.2f}), "
                f"last page of sessions {listing * 1000:7.3f} ms (x{listing / first_listing:.2f})",
                flush=True,
            )
        stalls = await loop_stalls(store)
        # CPython's full garbage collections pause every thread; the thousands of result
        # objects of a large read trigger them. After gc.freeze() (what a long-running app
        # can do once started) they only walk objects made since.
        gc.collect()
        gc.freeze()
        frozen = await loop_stalls(store)
        gc.unfreeze()
        print(f"  longest event-loop stall during each call at {have:,} revisions (ms; after gc.freeze()):")
        for name, gap in stalls.items():
            print(f"    {name:34} {gap * 1000:6.1f}   ({frozen[name] * 1000:.1f})", flush=True)
        if engine == "mongodb":
            for name in ("revisions", "sessions"):
                async for document in store.documents.iter_documents(name):
                    await store.documents.delete_document(name, document["_id"])
    if engine == "local":
        seconds, rss = open_in_fresh_process(url)
        print(f"  opening the store of {have:,} revisions in a new process: {seconds:.2f} s, peak RSS {rss:.0f} MB")
        on_disk = await sequential_saves(f"local://{folder / 'sequential'}")
        floor = bare_commit_latency(folder)
        print(
            f"  10,000 revisions saved one by one, awaited, on this disk: {on_disk:.2f} s "
            f"(a bare SQLite durable commit on the same disk, same minute: {floor * 1000:.2f} ms)",
            flush=True,
        )
        if Path("/dev/shm").is_dir():
            with tempfile.TemporaryDirectory(dir="/dev/shm") as shm:
                in_memory = await sequential_saves(f"local://{shm}/store")
            print(f"  10,000 revisions saved one by one, awaited, on /dev/shm: {in_memory:.2f} s", flush=True)
    elif engine == "memory":
        print(f"  10,000 revisions saved one by one, awaited: {await sequential_saves('memory://'):.2f} s")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--engines", default="local,memory")
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--dir", default=None, help="where local:// stores go (default: a temporary directory)")
    args = parser.parse_args()
    engines = args.engines.split(",")
    if os.environ.get("DOCSTORE_TEST_MONGODB_URL") and "mongodb" not in engines:
        engines.append("mongodb")
    sizes = sorted(int(size) for size in args.sizes.split(","))
    if sizes[0] < BIG_REVISIONS + 100:
        parser.error(f"the smallest size must hold the {BIG_REVISIONS:,}-revision session and more")
    folder = Path(tempfile.mkdtemp(prefix="docstore-bench-", dir=args.dir))
    try:
        for engine in engines:
            await run_engine(engine, folder, sizes, args.repeat)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
