"""Benchmark the legacy import. Prints ratios against baselines measured in the same run.

    python scripts/bench_import.py [--revisions 200000] [--engines memory,local] [--rounds 1]
                                   [--dry-run-gb 1.0] [--keep DIR]

1. Generates a legacy directory in the newest format (``legacy_generator.py``).
2. For each engine (``memory://``, and ``local://``, the embedded default, on the disk of
   the work folder), imports it into a fresh store and reports records/s.
3. Baseline: a raw ``upsert_documents`` of the very same revision documents into a fresh
   store of the same engine, in batches of the same size, right after. The ratio
   import/raw says what the import itself costs (parsing, rebuilding diffs, validation,
   idempotency checks). With ``--rounds N`` the engines alternate N times and the ratios
   are printed per round, then their range, with the share of each side's CPU time the
   garbage collector took.
4. Generates a ~1 GB ``revisions.json`` and measures the peak RSS of
   ``docstore import --dry-run`` over it, next to the peak RSS of a process that only
   imports docstore (the floor).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from docstore import import_legacy, open_store

ROOT = Path(__file__).resolve().parents[1]
GENERATOR = ROOT / "scripts" / "legacy_generator.py"


def generate(out: Path, revisions: int, code_bytes: int = 0) -> None:
    students, per_stream = 50, 200
    sessions = max(1, revisions // (students * per_stream))
    subprocess.run(
        [
            sys.executable,
            str(GENERATOR),
            str(out),
            "--sessions",
            str(sessions),
            "--students",
            str(students),
            "--revisions",
            str(per_stream),
            "--code-bytes",
            str(code_bytes),
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )


BATCH = 1000


class CollectorTime:
    """Seconds the garbage collector ran (every generation), from ``gc.callbacks``.

    The import raises the youngest generation's threshold while it runs
    (``docstore._legacy._collector``); this says what each side still spends in it."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._started = 0.0
        gc.callbacks.append(self._callback)

    def _callback(self, phase: str, _info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._started


COLLECTOR = CollectorTime()


async def import_rate(url: str, source: Path) -> tuple[float, float, float, int, list[dict[str, Any]]]:
    """Records per second (of wall time, of CPU time) of a whole import into a fresh store at
    ``url``, the share of its CPU time spent collecting garbage, the records read, and the
    revision documents it wrote."""
    async with open_store(url) as store:
        started, cpu, collected = time.perf_counter(), time.process_time(), COLLECTOR.seconds
        report = await import_legacy(source, store, batch_size=BATCH)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        collected = COLLECTOR.seconds - collected
        assert report.rejected == 0, report.to_dict()
        documents = [document async for document in store.documents.iter_documents("revisions")]
    read = report.records_read
    return read / elapsed, read / cpu, collected / cpu, read, documents


async def raw_insert_rate(url: str, documents: list[dict[str, Any]]) -> tuple[float, float, float]:
    """Documents per second (wall, CPU) of the same documents written straight through the
    document surface (no parsing or mapping), and the share of its CPU time collecting garbage."""
    async with open_store(url) as store:
        started, cpu, collected = time.perf_counter(), time.process_time(), COLLECTOR.seconds
        for start in range(0, len(documents), BATCH):
            result = await store.documents.upsert_documents("revisions", documents[start : start + BATCH])
            assert result.inserted == len(documents[start : start + BATCH]), result
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        return len(documents) / elapsed, len(documents) / cpu, (COLLECTOR.seconds - collected) / cpu


def spread(values: list[float]) -> str:
    """``0.71`` for one value; ``0.68-0.74 (median 0.71, 3 rounds)`` for several."""
    values = sorted(values)
    if len(values) == 1:
        return f"{values[0]:.2f}"
    return f"{values[0]:.2f}-{values[-1]:.2f} (median {statistics.median(values):.2f}, {len(values)} rounds)"


def engine_url(engine: str, work: Path, name: str) -> str:
    """A fresh store of ``engine`` (a new folder for ``local://``, even with ``--keep``)."""
    return "memory://" if engine == "memory" else f"local://{tempfile.mkdtemp(prefix=name + '-', dir=work)}/store"


def peak_rss_mb(args: list[str]) -> float:
    """Peak resident memory of a child process, in MB (Linux reports ru_maxrss in KB)."""
    script = (
        "import resource, subprocess, sys; subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, check=False);"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    result = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, check=True)
    return int(result.stdout.strip()) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--revisions", type=int, default=200_000)
    parser.add_argument("--engines", default="memory,local", help="comma-separated: memory, local")
    parser.add_argument("--rounds", type=int, default=1, help="import/raw pairs per engine, engines alternating")
    parser.add_argument("--dry-run-gb", type=float, default=1.0, help="size of the dry-run input; 0 skips it")
    parser.add_argument("--keep", type=Path, help="generate into this folder and keep it")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="docstore-bench-"))

    source = work / "legacy"
    started = time.perf_counter()
    generate(source, args.revisions)
    print(
        f"generated {args.revisions:,} revisions in {time.perf_counter() - started:.1f} s "
        f"({(source / 'revisions.json').stat().st_size / 1e6:.0f} MB revisions.json)"
    )
    engines = [engine.strip() for engine in args.engines.split(",") if engine.strip()]
    # CPU time too (this process, every thread): on a machine other jobs share, wall time
    # swings with their load; CPU time says what each side costs.
    ratios: dict[str, list[float]] = {engine: [] for engine in engines}
    cpu_ratios: dict[str, list[float]] = {engine: [] for engine in engines}
    for round_ in range(1, args.rounds + 1):
        for engine in engines:
            rate, cpu_rate, gc_share, records, documents = asyncio.run(
                import_rate(engine_url(engine, work, f"import-{round_}"), source)
            )
            raw, raw_cpu, raw_gc_share = asyncio.run(
                raw_insert_rate(engine_url(engine, work, f"raw-{round_}"), documents)
            )
            ratios[engine].append(rate / raw)
            cpu_ratios[engine].append(cpu_rate / raw_cpu)
            print(
                f"round {round_} {engine + '://':10} import {rate:8,.0f} records/s ({records:,} records), "
                f"raw upsert of the same documents {raw:8,.0f} documents/s: ratio {rate / raw:.2f} "
                f"(CPU time: {cpu_rate:,.0f} against {raw_cpu:,.0f}, {cpu_rate / raw_cpu:.2f}; "
                f"garbage collector {gc_share:.0%} of the import's CPU, {raw_gc_share:.0%} of the raw upsert's)",
                flush=True,
            )
            del documents
    for engine in engines:
        wall, cpu = spread(ratios[engine]), spread(cpu_ratios[engine])
        print(f"ratio import / raw upsert, {engine + '://':10} {wall}; in CPU time {cpu}")

    if args.dry_run_gb > 0:
        big = work / "legacy-1gb"
        code_bytes = 5000
        revisions = int(args.dry_run_gb * 1e9 / (code_bytes + 330))
        generate(big, revisions, code_bytes=code_bytes)
        size = (big / "revisions.json").stat().st_size
        floor = peak_rss_mb([sys.executable, "-c", "import docstore"])
        started = time.perf_counter()
        peak = peak_rss_mb([sys.executable, "-m", "docstore", "import", str(big), "--dry-run", "--url", "memory://"])
        print(
            f"dry run over {size / 1e9:.2f} GB revisions.json: peak RSS {peak:.0f} MB "
            f"(floor, importing docstore: {floor:.0f} MB; ratio {peak / floor:.2f}) "
            f"in {time.perf_counter() - started:.0f} s"
        )
    if args.keep is None:
        subprocess.run(["rm", "-rf", str(work)], check=False)


if __name__ == "__main__":
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    main()
