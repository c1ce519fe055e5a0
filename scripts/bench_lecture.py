"""A lecture, as the trial ran it: 300 students x 5 KB programs, each posting every 2 s (150 posts/s).

    python scripts/bench_lecture.py [--seconds 20] [--students 300] [--dir /dev/shm]

Two writer processes share the class on one ``local://`` store, then the same two post
through ``docstore serve`` (over ``local://``). Printed: posts/s reached against the
150/s the class needs, and the post latency p50/p99 (target on ``local://``: 150/s,
p99 <= 100 ms), beside a 30-student class with 1 KB programs measured the same way.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _served import served

from docstore import PersistenceError, Session, Student, open_store

ADMIN_TOKEN = "bench-lecture-admin-token"


async def post(url: str, token: str, session_id: str, first: int, count: int, size: int, seconds: float) -> None:
    """Students first..first+count-1 each post a ``size``-byte program every 2 s; one JSON line per post."""
    async with open_store(url, token=token or None) as store:
        stop = time.monotonic() + seconds
        body = "x = 1  # padding\n" * (size // 17 + 1)

        async def student(index: int) -> None:
            await asyncio.sleep(2.0 * (index - first) / count)
            n = 0
            while time.monotonic() < stop:
                started = time.perf_counter()
                try:
                    await store.sessions.record_code(session_id, f"s{index:04d}", f"# {n}\n{body}"[:size])
                    ok = True
                except PersistenceError:
                    ok = False
                took = time.perf_counter() - started
                print(json.dumps({"ok": ok, "took": took}), flush=True)
                n += 1
                await asyncio.sleep(max(0.0, 2.0 - took))

        await asyncio.gather(*(student(i) for i in range(first, first + count)))


async def new_class(url: str, token: str, students: int) -> str:
    async with open_store(url, token=token or None) as store:
        session_id = await store.sessions.create_session(Session(join_code=None))
        for start in range(0, students, 100):
            await asyncio.gather(
                *(
                    store.sessions.upsert_student(session_id, Student(id=f"s{i:04d}"))
                    for i in range(start, min(students, start + 100))
                )
            )
        return session_id


async def lecture(url: str, token: str, students: int, size: int, seconds: float) -> dict[str, Any]:
    session_id = await new_class(url, token, students)
    half = students // 2
    writers = [
        subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--post",
                url,
                token,
                session_id,
                str(first),
                str(count),
                str(size),
                str(seconds),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        for first, count in ((0, half), (half, students - half))
    ]
    lines: list[str] = []
    for writer in writers:
        out, _ = await asyncio.to_thread(writer.communicate, timeout=seconds * 10 + 120)
        lines += out.splitlines()
    posts = [json.loads(line) for line in lines if line.startswith("{")]
    took = sorted(p["took"] * 1000 for p in posts)
    return {
        "rate": len(posts) / seconds,
        "needed": students / 2.0,
        "failed": sum(1 for p in posts if not p["ok"]),
        "p50": took[len(took) // 2] if took else float("nan"),
        "p99": took[min(len(took) - 1, int(0.99 * len(took)))] if took else float("nan"),
    }


def line(label: str, r: dict[str, Any]) -> str:
    return (
        f"{label}: {r['rate']:.0f} posts/s of {r['needed']:.0f}/s needed ({r['rate'] / r['needed']:.2f}x), "
        f"p50 {r['p50']:.1f} ms, p99 {r['p99']:.1f} ms, {r['failed']} failed"
    )


async def main(seconds: float, students: int, directory: str) -> None:
    with tempfile.TemporaryDirectory(dir=directory) as tmp:
        print(f"# {os.cpu_count()} cores, stores in {directory}, {seconds:.0f} s per lecture, two writer processes")
        print(line("local://  30 students x 1 KB", await lecture(f"local://{tmp}/small", "", 30, 1024, seconds)))
        big = await lecture(f"local://{tmp}/lecture", "", students, 5 * 1024, seconds)
        print(line(f"local:// {students} students x 5 KB", big) + " (target 150/s, p99 <= 100 ms)")
        async with served(f"local://{tmp}/served", ADMIN_TOKEN) as remote:
            served_figures = await lecture(remote, ADMIN_TOKEN, students, 5 * 1024, seconds)
            print(line(f"docstore serve, {students} students x 5 KB", served_figures))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--post":
        url, token, session, first, count, size, seconds = sys.argv[2:9]
        asyncio.run(post(url, token, session, int(first), int(count), int(size), float(seconds)))
    else:
        parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
        parser.add_argument("--seconds", type=float, default=20.0)
        parser.add_argument("--students", type=int, default=300)
        parser.add_argument("--dir", default="/dev/shm" if Path("/dev/shm").is_dir() else tempfile.gettempdir())
        options = parser.parse_args()
        asyncio.run(main(options.seconds, options.students, options.dir))
