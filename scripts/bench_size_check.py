"""What the memory engine's document-size check costs on the hot path, as a ratio in one run.

    python scripts/bench_size_check.py [--calls 2000] [--students 30] [--code-bytes 2000] [--rounds 5]

``record_code`` into a session of ``--students`` students, each holding ``--code-bytes``
of code, on memory://: every call rewrites the session document, which the check
encodes once. Rounds alternate with the check installed and removed (the collection
object's own ``_ensure_uniques`` restored); ratio = median with / median without.
Also ``upsert_documents`` of 10,000 small documents (an import batch), where the check
encodes each inserted document.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from typing import Any

from docstore import Session, Store, Student, open_store
from docstore._memory._mongomock_adapter import _limit_document_size


def _sync_collection(store: Store, name: str) -> Any:
    backend: Any = store._shared.backend  # the memory engine: a MongoBackend
    return backend.database[name]._sync


def _set_check(store: Store, name: str, on: bool) -> None:
    sync = _sync_collection(store, name)
    sync.__dict__.pop("_ensure_uniques", None)  # back to mongomock's method
    if on:
        _limit_document_size(sync)


async def _record(store: Store, session_id: str, calls: int, students: int) -> float:
    start = time.perf_counter()
    for i in range(calls):
        await store.sessions.record_code(session_id, f"s{i % students}", f"print({i})\n" * 10)
    return time.perf_counter() - start


async def _import(store: Store, size: int, round_: int) -> float:
    batch = [{"_id": f"r{round_}-{i}", "n": i, "text": "x" * 200} for i in range(size)]
    start = time.perf_counter()
    await store.documents.upsert_documents("bench", batch)
    return time.perf_counter() - start


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--students", type=int, default=30)
    parser.add_argument("--code-bytes", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    async with open_store("memory://") as store:
        code = "x" * args.code_bytes
        students = {f"s{i}": Student(id=f"s{i}", code=code) for i in range(args.students)}
        session_id = await store.sessions.create_session(Session(join_code="BENCH1", students=students))
        await store.documents.upsert_documents("bench", [{"_id": "warm"}])
        times: dict[bool, list[float]] = {True: [], False: []}
        imports: dict[bool, list[float]] = {True: [], False: []}
        for round_ in range(args.rounds):
            for on in (False, True) if round_ % 2 else (True, False):
                _set_check(store, "sessions", on)
                _set_check(store, "bench", on)
                times[on].append(await _record(store, session_id, args.calls, args.students))
                imports[on].append(await _import(store, 10_000, round_ * 2 + on))
        _set_check(store, "sessions", True)
        _set_check(store, "bench", True)
    with_, without = statistics.median(times[True]), statistics.median(times[False])
    print(
        f"record_code x {args.calls} ({args.students} students x {args.code_bytes} B of code): "
        f"{without * 1000 / args.calls:.3f} ms/call without the check, {with_ * 1000 / args.calls:.3f} with; "
        f"ratio {with_ / without:.3f}"
    )
    with_, without = statistics.median(imports[True]), statistics.median(imports[False])
    print(
        f"upsert_documents of 10,000 documents: {without:.3f} s without, {with_:.3f} s with; "
        f"ratio {with_ / without:.3f}"
    )


if __name__ == "__main__":
    asyncio.run(main())
