"""``local://`` against hand-written SQLite (the floor), measured side by side in the same run.

    python scripts/bench_floor.py [--saves 10000] [--rounds 3] [--open-revisions 100000] [--places disk,shm]
                                  [--against CHECKOUT]

The floor is what a careful programmer writes with the standard library: ``sqlite3``, WAL,
``synchronous=FULL``, one JSON text column plus an index on (session, student, timestamp),
one commit per save, every call through ``asyncio.to_thread``; nothing verified or validated.
A ratio is what docstore's guarantees and layers cost over the bare minimum.

For each place (``disk``: under ``--dir`` or the system's temporary directory; ``shm``:
/dev/shm, no fsync cost), each round builds a fresh store per engine, alternating which first:

1. ``--saves`` revisions saved one by one, each awaited (30 students of one session);
2. one student's history (``saves / 30`` revisions), median of many; and the first read of
   each other student's (median of 29: rows never read, each one validated; later reads
   are built from what validation gave, ``_sqlite/_revision_rows.py``);
3. the overview of the 30 students (each one's newest revision), median of many.

Then: a new process opens a store of ``--open-revisions`` revisions and reads one (wall
time of the whole process, Python's start included; alternating; the floor as everywhere
here, an asyncio program reading through ``asyncio.to_thread``, and also a synchronous
script that imports nothing but ``sqlite3`` and ``json``); syncs per save
(``strace -c -f``, fsync + fdatasync, a child that saves 200 minus one that saves none);
the ``memory://`` overview of a 6,000-revision session (no floor: a time with its size).
Every figure is printed as min / median over the rounds and ratio of the medians.

``--against CHECKOUT`` (a ``git worktree`` of an earlier commit, say) adds that version of
docstore to the rounds of each place, in this process, alternating with the other two: its
ratio to the floor, and this version's to it, measured in the same minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import compileall
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from _floor_engines import STUDENTS, Floor, load_before, make_engine
from _timing import median_seconds

import docstore
from docstore import CodeRevision, open_store

STRACE_SAVES = 200


# -- measuring ----------------------------------------------------------------------------


async def one_round(name: str, folder: Path, saves: int, repeat: int) -> dict[str, float]:
    engine = await make_engine(name, folder)
    try:
        started, cpu = time.perf_counter(), time.process_time()
        for i in range(saves):
            await engine.save(f"s{i % STUDENTS:02d}", f"x = {i}\nprint(x)\n")
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        expected = len(range(0, saves, STUDENTS))
        # Each other student's history read once, first: no row of it was read before.
        first_reads = []
        for student in range(1, min(STUDENTS, saves)):
            started = time.perf_counter()
            await engine.history(f"s{student:02d}")
            first_reads.append(time.perf_counter() - started)
        assert await engine.history("s00") == expected
        assert await engine.overview() == min(STUDENTS, saves)
        return {
            "saves": elapsed,
            # CPU of the whole process (every thread) a save: steadier than wall time on a shared machine.
            "save_cpu": cpu / saves,
            "first_history": statistics.median(first_reads),
            "history": await median_seconds(lambda: engine.history("s00"), repeat),
            "overview": await median_seconds(engine.overview, repeat * 4),
        }
    finally:
        await engine.close()


def summary(
    label: str,
    samples: dict[str, list[float]],
    unit: str = "s",
    scale: float = 1.0,
    pair: tuple[str, str] = ("floor", "local"),
) -> str:
    """``label``: min / median of both engines of ``pair``, and the ratio of the second's median to the first's."""
    first, second = samples[pair[0]], samples[pair[1]]
    ratio = statistics.median(second) / statistics.median(first)
    return (
        f"  {label:52} {pair[0]} {min(first) * scale:8.3f} / {statistics.median(first) * scale:8.3f} {unit}   "
        f"{pair[1]} {min(second) * scale:8.3f} / {statistics.median(second) * scale:8.3f} {unit}   ratio {ratio:5.2f}x"
    )


async def place_rounds(place: str, base: Path, saves: int, rounds: int, repeat: int, before: bool = False) -> None:
    results: dict[str, dict[str, list[float]]] = {}
    engines = ["floor", "local", "before"] if before else ["floor", "local"]
    for round_number in range(rounds):
        order = engines if round_number % 2 == 0 else engines[::-1]
        for name in order:
            folder = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=base))
            try:
                measured = await one_round(name, folder, saves, repeat)
            finally:
                shutil.rmtree(folder, ignore_errors=True)
            for key, value in measured.items():
                results.setdefault(key, {}).setdefault(name, []).append(value)
    per_student = len(range(0, saves, STUDENTS))
    print(f"\n{place} ({base}), {rounds} rounds, min / median:", flush=True)
    print(summary(f"{saves:,} awaited saves", results["saves"]))
    print(summary("  CPU time a save (all threads)", results["save_cpu"], "us", 1e6))
    print(summary(f"one student's history ({per_student} revisions)", results["history"], "ms", 1000))
    print(summary("  its first read (each other student once)", results["first_history"], "ms", 1000))
    print(summary(f"overview of {STUDENTS} students", results["overview"], "ms", 1000), flush=True)
    for pair in (("floor", "before"), ("before", "local")) if before else ():
        print(f"  {pair[1]} against {pair[0]} (--against: the version before in the same rounds):")
        print(summary(f"{saves:,} awaited saves", results["saves"], pair=pair))
        print(summary("  CPU time a save (all threads)", results["save_cpu"], "us", 1e6, pair=pair), flush=True)


# -- a new process: open a large store, read one revision ----------------------------------
def revision(i: int) -> dict[str, Any]:
    when = datetime(2026, 1, 6, tzinfo=UTC) + timedelta(milliseconds=i)
    return {
        "id": f"{i:032x}",
        "session_id": f"sess{i // 100:06d}",
        "student_id": f"s{i % STUDENTS:02d}",
        "code": "print('hello')\n" * 4,
        "timestamp": when.isoformat(),
    }


async def build_open_stores(base: Path, count: int) -> tuple[Path, Path]:
    floor_folder, local_folder = base / "open-floor", base / "open-local"
    floor = Floor(floor_folder)
    floor.insert_many([revision(i) for i in range(count)])
    await floor.close()
    async with open_store(f"local://{local_folder}") as store:
        for start in range(0, count, 5000):
            batch = [CodeRevision.model_validate(revision(i)) for i in range(start, min(start + 5000, count))]
            await store.revisions.save_revisions(batch)
    return floor_folder, local_folder


_OPEN_FLOOR = """
import json, sqlite3, sys
connection = sqlite3.connect(sys.argv[1] + "/floor.sqlite3")
connection.execute("PRAGMA journal_mode = WAL")
document = json.loads(connection.execute("SELECT doc FROM revisions WHERE id = ?", (sys.argv[2],)).fetchone()[0])
assert document["id"] == sys.argv[2]
"""

# The floor as every other figure here runs it: an asyncio program whose query goes through
# ``asyncio.to_thread`` (an async app's open-and-read; the target is against this one).
_OPEN_FLOOR_ASYNC = """
import asyncio, json, sqlite3, sys
def read():
    connection = sqlite3.connect(sys.argv[1] + "/floor.sqlite3", check_same_thread=False)
    connection.execute("PRAGMA journal_mode = WAL")
    return json.loads(connection.execute("SELECT doc FROM revisions WHERE id = ?", (sys.argv[2],)).fetchone()[0])
async def main():
    assert (await asyncio.to_thread(read))["id"] == sys.argv[2]
asyncio.run(main())
"""

_OPEN_LOCAL = """
import asyncio, sys
from docstore import open_store
async def main():
    async with open_store("local://" + sys.argv[1]) as store:
        assert (await store.revisions.get_revision(sys.argv[2])).id == sys.argv[2]
asyncio.run(main())
"""


_OPEN_CODE = {"floor": _OPEN_FLOOR_ASYNC, "sync floor": _OPEN_FLOOR, "local": _OPEN_LOCAL}


def open_once(name: str, folder: Path, revision_id: str) -> tuple[float, float]:
    """Wall time of the whole process, and its CPU time (user + system: steadier on a shared machine)."""
    started = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-c", _OPEN_CODE[name], str(folder), revision_id])
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise subprocess.CalledProcessError(child.returncode, child.args)
    return time.perf_counter() - started, usage.ru_utime + usage.ru_stime


async def open_rounds(base: Path, count: int, rounds: int) -> None:
    # As ``pip install`` does for a wheel: without it, a machine with PYTHONDONTWRITEBYTECODE
    # (this one) compiles docstore from source in every new process, while the floor's
    # standard library comes compiled.
    compileall.compile_dir(str(Path(docstore.__file__).parent), quiet=1)
    started = time.perf_counter()
    folders = dict(zip(("floor", "local"), await build_open_stores(base, count), strict=True))
    built = time.perf_counter() - started
    wanted = f"{count // 2:032x}"
    folders["sync floor"] = folders["floor"]
    samples: dict[str, list[float]] = {name: [] for name in _OPEN_CODE}
    cpu: dict[str, list[float]] = {name: [] for name in _OPEN_CODE}
    for round_number in range(max(rounds, 5)):
        for name in list(_OPEN_CODE)[:: 1 if round_number % 2 == 0 else -1]:
            wall, used = open_once(name, folders[name], wanted)
            samples[name].append(wall)
            cpu[name].append(used)
    print(f"\nnew process (stores of {count:,} revisions, built in {built:.0f} s), min / median:")
    print(summary(f"open {count:,} revisions, read one", samples, "ms", 1000), flush=True)
    print(summary("  its CPU time (user + system)", cpu, "ms", 1000), flush=True)
    synchronous = {"floor": samples["sync floor"], "local": samples["local"]}
    print(summary("  the same against a floor without asyncio", synchronous, "ms", 1000), flush=True)


# -- syncs per save ---------------------------------------------------------------------------
async def child_saves(name: str, folder: Path, count: int) -> None:
    engine = await make_engine(name, folder)
    try:
        for i in range(count):
            await engine.save(f"s{i % STUDENTS:02d}", f"x = {i}")
    finally:
        await engine.close()


def sync_calls(name: str, folder: Path, count: int) -> int:
    """fsync + fdatasync calls of a child process that opens a store and saves ``count`` revisions."""
    report = folder / f"strace-{name}-{count}.txt"
    subprocess.run(
        [
            "strace",
            "-f",
            "-c",
            "-e",
            "trace=fsync,fdatasync",
            "-o",
            str(report),
            sys.executable,
            __file__,
            "--child-saves",
            name,
            str(folder / f"{name}-{count}"),
            str(count),
        ],
        check=True,
    )
    calls = 0
    for line in report.read_text().splitlines():
        fields = line.split()
        if fields and fields[-1] in ("fsync", "fdatasync"):
            calls += int(fields[3])
    return calls


def syncs_per_save(base: Path) -> None:
    if shutil.which("strace") is None:
        print("\nsyncs per save: strace is not installed (apt-get install strace)")
        return
    print(f"\nsyncs per save (strace -c -f; {STRACE_SAVES} saves minus none, on disk):")
    for name in ("floor", "local"):
        folder = Path(tempfile.mkdtemp(prefix=f"strace-{name}-", dir=base))
        try:
            extra = sync_calls(name, folder, STRACE_SAVES) - sync_calls(name, folder, 0)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        print(f"  {name:6} {extra / STRACE_SAVES:.2f} per save ({extra} for {STRACE_SAVES})", flush=True)


# -- memory:// overview ---------------------------------------------------------------------
async def memory_overview(repeat: int) -> None:
    documents = []
    for i in range(6000):
        when = datetime(2026, 1, 6, tzinfo=UTC) + timedelta(milliseconds=i)
        meta = {"created_at": when, "updated_at": when, "version": 1, "created_by": None, "modified_by": None}
        body = {"session_id": "big", "student_id": f"s{i % STUDENTS:02d}", "code": "x", "timestamp": when}
        extra = {"execution_result": None, "namespace_id": "default", "extra": {}, "_metadata": meta}
        documents.append({"_id": f"rev{i:08d}", **body, **extra})
    async with open_store("memory://") as store:
        await store.documents.upsert_documents("revisions", documents)

        async def overview() -> None:
            assert len(await store.revisions.get_latest_revisions("big")) == STUDENTS

        seconds = await median_seconds(overview, repeat)
    print(f"\nmemory:// overview of a 6,000-revision session (30 students): {seconds * 1000:.2f} ms (median)")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--saves", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=50, help="reads per round (the overview: 4 times as many)")
    parser.add_argument("--open-revisions", type=int, default=100_000, help="0 skips the new-process figure")
    parser.add_argument("--places", default="shm,disk", help="shm (or /dev/shm) and/or disk, comma-separated")
    parser.add_argument("--dir", default=None, help="the disk place (default: the system's temporary directory)")
    parser.add_argument(
        "--against",
        default=None,
        metavar="CHECKOUT",
        help="a checkout of another docstore version to A/B in the rounds",
    )
    parser.add_argument("--child-saves", nargs=3, metavar=("ENGINE", "DIR", "COUNT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_saves:
        name, folder, count = args.child_saves
        await child_saves(name, Path(folder), int(count))
        return
    # "/dev/shm" is "shm": once it silently ran the disk rounds instead. Anything else is refused.
    places = ["shm" if place == "/dev/shm" else place for place in filter(None, args.places.split(","))]
    if unknown := sorted(set(places) - {"shm", "disk"}):
        parser.error(f"--places: unknown {', '.join(unknown)} (shm, /dev/shm, disk)")
    if args.against:
        load_before(Path(args.against))
    disk = Path(tempfile.mkdtemp(prefix="docstore-floor-", dir=args.dir))
    try:
        for place in places:  # --places "": only the rest
            if place == "shm":
                if not Path("/dev/shm").is_dir():
                    print("\nshm: no /dev/shm here")
                    continue
                shm = Path(tempfile.mkdtemp(prefix="docstore-floor-", dir="/dev/shm"))
                try:
                    await place_rounds("shm", shm, args.saves, args.rounds, args.repeat, bool(args.against))
                finally:
                    shutil.rmtree(shm, ignore_errors=True)
            else:
                await place_rounds("disk", disk, args.saves, args.rounds, args.repeat, bool(args.against))
        if args.open_revisions:
            await open_rounds(disk, args.open_revisions, args.rounds)
        syncs_per_save(disk)
        await memory_overview(args.repeat)
    finally:
        shutil.rmtree(disk, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
