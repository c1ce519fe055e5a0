"""What ``memory://`` (mongomock) costs against ``local://`` on a tmpfs, as ratios in one run.

    python scripts/bench_memory.py [--students 30] [--posts 300] [--rounds 3] [--dir /dev/shm]

Each round opens a fresh store on each engine (alternating), makes one session of
``--students`` students, then times: ``--posts`` ``record_code`` calls, 20 overviews
(``get_latest_revisions``) and 200 ``get_session``. Printed: each engine's median per call
over the rounds, and memory / local. ``local://`` on a tmpfs (no fsync cost) is the
baseline: what a test suite would get from an in-memory SQLite instead of mongomock.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable

from docstore import Session, Student, open_store

Timings = dict[str, float]


async def _per_call(call: Callable[[int], Awaitable[object]], count: int) -> float:
    start = time.perf_counter()
    for i in range(count):
        await call(i)
    return (time.perf_counter() - start) / count


async def _round(url: str, students: int, posts: int) -> Timings:
    async with open_store(url) as store:
        session_id = await store.sessions.create_session(Session(join_code="bench1"))
        for i in range(students):
            await store.sessions.upsert_student(session_id, Student(id=f"s{i}", name=f"student {i}"))

        async def post(i: int) -> object:
            return await store.sessions.record_code(session_id, f"s{i % students}", f"print({i})\n" * 5)

        async def overview(_: int) -> object:
            return await store.revisions.get_latest_revisions(session_id)

        async def get(_: int) -> object:
            return await store.sessions.get_session(session_id)

        return {
            "record_code": await _per_call(post, posts),
            "overview": await _per_call(overview, 20),
            "get_session": await _per_call(get, 200),
        }


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--students", type=int, default=30)
    parser.add_argument("--posts", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--dir", default="/dev/shm")
    args = parser.parse_args()
    runs: dict[str, list[Timings]] = {"memory": [], "local": []}
    with tempfile.TemporaryDirectory(prefix="docstore-bench-memory-", dir=args.dir) as folder:
        for round_ in range(args.rounds):
            runs["memory"].append(await _round("memory://", args.students, args.posts))
            runs["local"].append(await _round(f"local://{folder}/r{round_}", args.students, args.posts))
    print(f"{args.students} students, {args.posts} posts, {args.rounds} rounds; median ms per call")
    for name in runs["memory"][0]:
        memory = statistics.median(r[name] for r in runs["memory"]) * 1000
        local = statistics.median(r[name] for r in runs["local"]) * 1000
        print(f"{name:12} memory {memory:7.3f}  local {local:7.3f}  memory/local {memory / local:5.2f}x")


if __name__ == "__main__":
    asyncio.run(main())
