"""The live feed, measured: latency from a writer's acknowledgement to a watcher, and what feeds cost writers.

    python scripts/bench_feed.py [--seconds 10] [--dir /dev/shm]

Every figure comes from this run on this machine (ratios against the same run's baseline):

1. cross-process on ``local://``: 30 students posting every 100 ms from another process, one
   watcher here; p50/p99 from the writer's acknowledgement to the watcher's receipt, and
   whether every acknowledged post arrived;
2. the same through ``docstore serve`` (writer and watcher are remote clients);
3. 300 students posting every 2 s (150 posts/s, from another process) with 10 open feeds
   here, against no feeds: the writers' p50 ratio;
4. a watcher that reads nothing while 3,000 posts land: writers' p50 ratio against no feed,
   then whether it gets every change (or EXPIRED, never a gap).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _served import served

from docstore import ErrorCode, PersistenceError, Session, Student, open_store

ADMIN_TOKEN = "bench-feed-admin-token"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


# -- the writer process ------------------------------------------------------------
async def write(url: str, token: str | None, session_id: str, students: int, period_s: float, seconds: float) -> None:
    """Each student posts every ``period_s``; prints one JSON line per acknowledged post."""
    async with open_store(url, token=token) if token else open_store(url) as store:
        stop = time.monotonic() + seconds

        async def student(index: int) -> None:
            sid = f"s{index:04d}"
            await asyncio.sleep(period_s * index / students)  # spread the class over the period
            n = 0
            while time.monotonic() < stop:
                started = time.perf_counter()
                revision = await store.sessions.record_code(session_id, sid, f"# {sid} post {n}\n" + "x = 1\n" * 40)
                took = time.perf_counter() - started
                print(json.dumps({"id": revision.id, "ack": time.time(), "took": took}), flush=True)
                n += 1
                await asyncio.sleep(max(0.0, period_s - took))

        await asyncio.gather(*(student(i) for i in range(students)))


def start_writer(url: str, token: str | None, session_id: str, students: int, period_s: float, seconds: float) -> Any:
    arguments = [
        sys.executable,
        __file__,
        "--writer",
        url,
        token or "",
        session_id,
        str(students),
        str(period_s),
        str(seconds),
    ]
    return subprocess.Popen(arguments, stdout=subprocess.PIPE, text=True)


def acknowledgements(writer: Any) -> list[dict[str, Any]]:
    out, _ = writer.communicate(timeout=600)
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


async def new_class(url: str, token: str | None, students: int) -> str:
    async with open_store(url, token=token) if token else open_store(url) as store:
        session = Session(join_code=None)
        session_id = await store.sessions.create_session(session)
        for start in range(0, students, 100):
            await asyncio.gather(
                *(
                    store.sessions.upsert_student(session_id, Student(id=f"s{i:04d}"))
                    for i in range(start, min(students, start + 100))
                )
            )
        return session_id


# -- the measurements --------------------------------------------------------------
async def latency(url: str, token: str | None, seconds: float) -> dict[str, Any]:
    session_id = await new_class(url, token, 30)
    received: dict[str, float] = {}
    opened = open_store(url, token=token) if token else open_store(url)
    async with opened as store, store.sessions.watch(session_id) as feed:
        writer = start_writer(url, token, session_id, 30, 0.1, seconds)

        async def watch() -> None:
            async for change in feed:
                if change.revision is not None:
                    received[change.revision.id] = time.time()

        watcher = asyncio.create_task(watch())
        acks = await asyncio.to_thread(acknowledgements, writer)
        deadline = time.monotonic() + 10
        while len(received) < len(acks) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        watcher.cancel()
    delays = [(received[a["id"]] - a["ack"]) * 1000 for a in acks if a["id"] in received]
    return {
        "posts": len(acks),
        "missing": sum(1 for a in acks if a["id"] not in received),
        "p50_ms": percentile(delays, 0.5),
        "p99_ms": percentile(delays, 0.99),
    }


async def writers_cost(url: str, seconds: float, feeds: int, read: bool) -> tuple[float, int, bool]:
    """Writers' p50 (ms) with ``feeds`` open feeds (reading or not); posts; whether idle feeds got everything."""
    session_id = await new_class(url, None, 300)
    async with open_store(url) as store:
        opened = [store.sessions.watch(session_id) for _ in range(feeds)]
        for feed in opened:
            await feed.__aenter__()
        counts = [0] * feeds

        async def drain(index: int) -> None:
            async for change in opened[index]:
                if change.revision is not None:
                    counts[index] += 1

        readers = [asyncio.create_task(drain(i)) for i in range(feeds)] if read else []
        writer = start_writer(url, None, session_id, 300, 2.0, seconds)
        acks = await asyncio.to_thread(acknowledgements, writer)
        complete = True
        if feeds and not read:
            readers = [asyncio.create_task(drain(i)) for i in range(feeds)]
            deadline = time.monotonic() + 30
            try:
                while min(counts) < len(acks) and time.monotonic() < deadline:
                    await asyncio.sleep(0.05)
            except PersistenceError as error:
                complete = error.code is ErrorCode.EXPIRED
            complete = complete and min(counts) == len(acks)
        for task in readers:
            task.cancel()
        for feed in opened:
            await feed.aclose()
    return statistics.median(a["took"] * 1000 for a in acks), len(acks), complete


async def main(seconds: float, directory: str) -> None:
    with tempfile.TemporaryDirectory(dir=directory) as tmp:
        local = f"local://{tmp}/store"
        print(f"# {sys.platform}, {os.cpu_count()} cores, store in {directory}, {seconds:.0f} s per run")
        result = await latency(local, None, seconds)
        print(
            f"1. local:// cross-process, 30 students / 100 ms: {result['posts']} posts, {result['missing']} missing, "
            f"p50 {result['p50_ms']:.1f} ms, p99 {result['p99_ms']:.1f} ms (target p99 <= 50 ms)"
        )

        async with served(f"local://{tmp}/served", ADMIN_TOKEN) as remote:
            result = await latency(remote, ADMIN_TOKEN, seconds)
            print(
                f"2. through docstore serve: {result['posts']} posts, {result['missing']} missing, "
                f"p50 {result['p50_ms']:.1f} ms, p99 {result['p99_ms']:.1f} ms (target p99 <= 100 ms)"
            )

        base, posts, _ = await writers_cost(local, seconds, 0, True)
        with_feeds, posts_feeds, _ = await writers_cost(local, seconds, 10, True)
        ratio = with_feeds / base
        print(
            f"3. 300 students / 2 s: writers' p50 {base:.2f} ms ({posts} posts) without feeds, "
            f"{with_feeds:.2f} ms ({posts_feeds} posts) with 10 feeds: x{ratio:.2f} (target <= 1.1)"
        )
        idle_seconds = 3000 / 150
        base, _, _ = await writers_cost(local, idle_seconds, 0, True)
        idle, posts, complete = await writers_cost(local, idle_seconds, 1, False)
        print(
            f"4. an idle watcher while {posts} posts land: writers' p50 x{idle / base:.2f} (target <= 1.3); "
            f"then it got {'every change' if complete else 'a gap (FAIL)'}"
        )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--writer":
        url, token, session, students, period, seconds = sys.argv[2:8]
        asyncio.run(write(url, token or None, session, int(students), float(period), float(seconds)))
    else:
        parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
        parser.add_argument("--seconds", type=float, default=10.0)
        parser.add_argument("--dir", default="/dev/shm" if Path("/dev/shm").is_dir() else tempfile.gettempdir())
        options = parser.parse_args()
        asyncio.run(main(options.seconds, options.dir))
