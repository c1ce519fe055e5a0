"""A class of any size: what a post and a join cost in a 1,000-student class against a 30-student one.

    python scripts/bench_classroom.py [--engines local,memory] [--posts 600] [--joins 600] [--rounds 3]

For each engine (``local://`` on a directory under /dev/shm, so the fsync cost is out of
the figures; ``memory://``), two classes are built in the same store:

- baseline: 30 students with 1 KB programs;
- large: 1,000 students with 16 KB programs (16 MB of code in one class).

Measured, alternating baseline and large rounds so that drift hits both alike:

- ``record_code`` p50 (one student's post: a revision and the student's code);
- joining by code: ``get_session_by_join_code(code, include_students=False)`` p50.

Printed: each p50 in milliseconds and the ratio large / baseline (the issue's target:
<= 1.3x). An engine whose repositories do not yet support the calls is skipped with the
error it raised. Ratios only, measured in one run: never a timing assertion in a test.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shutil
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from docstore import Session, Store, Student, open_store

CLASSES = {"baseline": (30, 1024), "large": (1000, 16 * 1024)}


async def _build(store: Store, name: str, students: int, code_bytes: int) -> str:
    session_id = await store.sessions.create_session(Session(join_code=f"{name[:5].upper()}1"))
    for start in range(0, students, 50):
        await asyncio.gather(
            *(
                store.sessions.upsert_student(
                    session_id, Student(id=f"student-{i:04d}@school.org", code="#" * code_bytes)
                )
                for i in range(start, min(start + 50, students))
            )
        )
    return session_id


async def _timed(calls: int, call: Callable[[int], Awaitable[Any]]) -> list[float]:
    durations: list[float] = []
    for i in range(calls):
        start = time.perf_counter()
        await call(i)
        durations.append(time.perf_counter() - start)
    return durations


async def _measure(store: Store, args: argparse.Namespace) -> dict[str, dict[str, float]]:
    sessions = {name: await _build(store, name, *shape) for name, shape in CLASSES.items()}
    codes = {name: f"{name[:5].upper()}1" for name in CLASSES}
    samples: dict[str, dict[str, list[float]]] = {name: {"post": [], "join": []} for name in CLASSES}
    for _ in range(args.rounds):
        for name, (students, code_bytes) in CLASSES.items():
            session_id = sessions[name]
            program = "x" * (code_bytes - 16)

            async def post(i: int, session_id: str = session_id, size: int = students, program: str = program) -> Any:
                student_id = f"student-{(i * 7) % size:04d}@school.org"  # every student in turn
                return await store.sessions.record_code(session_id, student_id, f"{program}{i:016d}")

            async def join(i: int, code: str = codes[name]) -> Any:
                found = await store.sessions.get_session_by_join_code(code.lower(), include_students=False)
                assert found is not None and not found.students
                return found

            samples[name]["post"] += await _timed(args.posts // args.rounds, post)
            samples[name]["join"] += await _timed(args.joins // args.rounds, join)
    return {
        name: {kind: statistics.median(values) * 1000 for kind, values in kinds.items()}
        for name, kinds in samples.items()
    }


def _report(engine: str, p50: dict[str, dict[str, float]]) -> None:
    for kind, label in (("post", "record_code"), ("join", "join by code (include_students=False)")):
        base, large = p50["baseline"][kind], p50["large"][kind]
        print(
            f"{engine:7} {label:40} p50 30x1KB {base:7.3f} ms   1000x16KB {large:7.3f} ms   "
            f"ratio {large / base:5.2f}x  (target <= 1.3x)"
        )


async def _engine(engine: str, args: argparse.Namespace) -> None:
    directory = None
    if engine == "local":
        shm = Path("/dev/shm")
        directory = Path(tempfile.mkdtemp(prefix="bench-classroom-", dir=shm if shm.is_dir() else None))
        url = f"local://{directory}"
    else:
        url = f"{engine}://"
    try:
        async with open_store(url) as store:
            p50 = await _measure(store, args)
    except Exception as exc:  # an engine that does not support the calls yet: say so, go on
        print(f"{engine:7} skipped: {type(exc).__name__}: {exc}"[:300])
        return
    finally:
        if directory is not None:
            with contextlib.suppress(OSError):
                shutil.rmtree(directory)
    _report(engine, p50)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engines", default="local,memory")
    parser.add_argument("--posts", type=int, default=600)
    parser.add_argument("--joins", type=int, default=600)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    for engine in args.engines.split(","):
        await _engine(engine.strip(), args)


if __name__ == "__main__":
    asyncio.run(main())
