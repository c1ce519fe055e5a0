"""The MongoDB dialect's own cost per call: docstore against raw PyMongo on the same server, same run.

    python scripts/bench_mongo.py [--calls 300] [--rounds 5]

The server is ``DOCSTORE_TEST_MONGODB_URL`` (a real MongoDB; a replica set or a standalone).
None can run on the machines this project is built on, and nx-27017 (the MongoDB-wire
server the fault tests use) refuses docstore's writes and would be no reference anyway
(its own slowness would dilute docstore's share of each call): without the variable the
script says so and exits 2.

For each operation, in alternating rounds on one database (dropped at the end): the p50
of ``--calls`` sequential calls through docstore's repositories and through a bare
``AsyncMongoClient`` doing the same work on the same collection (the raw call returns
the document; docstore validates it into the domain type, scopes it and maps errors);
the ratio of the medians. Target (issue 18): within 1.15x.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from _timing import median_seconds
from pymongo import AsyncMongoClient

from docstore import Session, open_store

Call = Callable[[], Awaitable[Any]]



async def bench(url: str, calls: int, rounds: int) -> None:
    database = f"docstore_bench_{uuid.uuid4().hex[:8]}"
    raw_client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(url)
    raw = raw_client[database]
    try:
        async with open_store(url, database=database) as store:
            session_id = await store.sessions.create_session(Session(join_code="BENCH1", instructor_id="t"))
            counter = iter(range(10**9))

            async def docstore_create() -> None:
                await store.sessions.create_session(Session(instructor_id="t", join_code=None))

            async def raw_create() -> None:
                await raw["bench_raw_sessions"].insert_one({"_id": f"raw{next(counter)}", "instructor_id": "t"})

            operations: dict[str, tuple[Call, Call]] = {
                "get a session by id": (
                    lambda: store.sessions.get_session(session_id),
                    lambda: raw["sessions"].find_one({"_id": session_id}),
                ),
                "join-code lookup": (
                    lambda: store.sessions.get_session_by_join_code("BENCH1"),
                    lambda: raw["sessions"].find_one({"join_code": "BENCH1", "active": True}),
                ),
                "create a session": (docstore_create, raw_create),
            }
            samples: dict[str, dict[str, list[float]]] = {name: {"docstore": [], "raw": []} for name in operations}
            for round_number in range(rounds):
                for name, (ours, theirs) in operations.items():
                    order = [("docstore", ours), ("raw", theirs)]
                    for side, call in order if round_number % 2 == 0 else order[::-1]:
                        samples[name][side].append(await median_seconds(call, calls))
            print(f"{calls} sequential calls a round, {rounds} alternating rounds; p50 in ms, median of the rounds")
            print(f"{'operation':<22} {'raw PyMongo':>12} {'docstore':>10} {'ratio':>7}  (target <= 1.15)")
            for name, sides in samples.items():
                theirs_ms = statistics.median(sides["raw"]) * 1000
                ours_ms = statistics.median(sides["docstore"]) * 1000
                print(f"{name:<22} {theirs_ms:12.3f} {ours_ms:10.3f} {ours_ms / theirs_ms:6.2f}x")
    finally:
        await raw_client.drop_database(database)
        await raw_client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    url = os.environ.get("DOCSTORE_TEST_MONGODB_URL")
    if not url:
        print("set DOCSTORE_TEST_MONGODB_URL to a MongoDB server: this bench has no stand-in", file=sys.stderr)
        raise SystemExit(2)
    asyncio.run(bench(url, args.calls, args.rounds))

if __name__ == "__main__":
    main()
