"""What the remote layer costs: the same calls direct and through `docstore serve`, in one run.

    python scripts/bench_remote.py [--engine memory://] [--calls 300] [--seconds 5]

Starts `docstore serve` over a fresh store of ``--engine`` on a free 127.0.0.1 port (a
separate process, as in production) and a direct store of the same engine in this
process, loads both with the same data, then prints per operation the p50/p90 of each
and what the remote layer adds (remote p50 - direct p50, and the ratio); student posts
per second with 30 concurrent clients (``record_code``) both ways; and a join-code
lookup through a client with the read cache, hit and missed. Target: the remote layer
adds <= 1 ms per call at p50 on loopback.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx

from docstore import ProblemSpec, Session, Store, Student, open_store
from docstore._remote import asgi_transport
from docstore.server import create_app

ADMIN_TOKEN = "bench-admin-token"
STUDENTS = 30


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def fresh_url(engine: str, folder: Path, name: str) -> str:
    return f"local://{folder / name}" if engine.startswith("local") else engine


async def seed(store: Store) -> dict[str, Any]:
    """Sessions, a 30-student session with revisions, 500 problems; the ids the bench reads."""
    session_id = await store.sessions.create_session(
        Session(join_code="BENCH1", students={f"s{i}": Student(id=f"s{i}", name=f"S{i}") for i in range(STUDENTS)})
    )
    for round_ in range(3):
        for i in range(STUDENTS):
            await store.sessions.record_code(session_id, f"s{i}", f"print({round_})")
    for i in range(500):
        await store.problems.save_problem(
            ProblemSpec(title=f"P{i}", difficulty=("beginner", "advanced")[i % 2], tags=[f"t{i % 7}", "all"])
        )
    codes = [f"J{i:05d}" for i in range(400)]
    for code in codes:
        await store.sessions.create_session(Session(join_code=code))
    return {"session_id": session_id, "codes": codes}


async def timed(call: Callable[[], Awaitable[Any]], calls: int) -> list[float]:
    """Milliseconds of each of ``calls`` sequential calls (after 20 warm-up calls)."""
    for _ in range(20):
        await call()
    samples = []
    for _ in range(calls):
        started = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def operations(store: Store, ids: dict[str, Any]) -> dict[str, Callable[[], Awaitable[Any]]]:
    session_id = ids["session_id"]
    return {
        "get by id": lambda: store.sessions.get_session(session_id),
        "create": lambda: store.sessions.create_session(Session()),
        "overview (30 students)": lambda: store.revisions.get_latest_revisions(session_id),
        "filtered page (20 of 500)": lambda: store.problems.list_problems(
            difficulty="beginner", tags=["t3", "all"], limit=20
        ),
    }


async def posts_per_second(open_client: Callable[[], Store], ids: dict[str, Any], seconds: float) -> float:
    """Student posts (record_code) per second, 30 clients posting as fast as they can."""
    clients = [open_client() for _ in range(STUDENTS)]
    for client in clients:
        await client.initialize()
    deadline = time.perf_counter() + seconds
    done = 0

    async def student(client: Store, number: int) -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            await client.sessions.record_code(ids["session_id"], f"s{number}", f"print({done})")
            done += 1

    started = time.perf_counter()
    await asyncio.gather(*(student(client, i) for i, client in enumerate(clients)))
    elapsed = time.perf_counter() - started
    for client in clients:
        await client.shutdown()
    return done / elapsed


async def compare(engine: str, calls: int, *stores: tuple[Store, dict[str, Any]]) -> None:
    """Per operation: p50 direct, through the server (socket), in process (ASGI); what each adds."""
    print(f"engine {engine}, {calls} sequential calls each, ms; remote: `docstore serve` in its own process, loopback")
    header = ("direct p50", "remote p50", "remote p90", "added p50", "ratio", "ASGI p50", "ASGI added")
    print(f"{'operation':<27}" + "".join(f"{h:>11}" for h in header))
    (direct, direct_ids), (remote, remote_ids), (asgi, asgi_ids) = stores
    direct_ops, remote_ops = operations(direct, direct_ids), operations(remote, remote_ids)
    asgi_ops = operations(asgi, asgi_ids)
    for name in direct_ops:
        d = await timed(direct_ops[name], calls)
        r = await timed(remote_ops[name], calls)
        a = await timed(asgi_ops[name], calls)
        d50, r50, a50 = statistics.median(d), statistics.median(r), statistics.median(a)
        row = (d50, r50, p(r, 90), r50 - d50, r50 / d50, a50, a50 - d50)
        print(f"{name:<27}" + "".join(f"{value:>11.3f}" for value in row))


def p(samples: list[float], q: float) -> float:
    return statistics.quantiles(samples, n=100)[int(q) - 1]


async def bench(engine: str, calls: int, seconds: float) -> None:
    folder = Path(tempfile.mkdtemp(prefix="bench-remote-"))
    port = free_port()
    env = {**os.environ, "DOCSTORE_ADMIN_TOKEN": ADMIN_TOKEN}
    server = subprocess.Popen(
        [sys.executable, "-m", "docstore", "serve", "--url", fresh_url(engine, folder, "served"), "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    remote_url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(400):
            try:
                if httpx.get(f"{remote_url}/v1/health").status_code == 200:
                    break
            except httpx.TransportError:
                await asyncio.sleep(0.05)
        async with (
            open_store(fresh_url(engine, folder, "direct")) as direct,
            open_store(remote_url, token=ADMIN_TOKEN) as remote,
            open_store(fresh_url(engine, folder, "in-process")) as behind,
        ):
            # The same server app in this process, reached without a socket: what the layer
            # itself costs (HTTP framing, JSON, validation), apart from loopback and scheduling.
            direct_ids, remote_ids = await seed(direct), await seed(remote)
            transport = asgi_transport(create_app(behind, admin_token=ADMIN_TOKEN))
            async with open_store("http://docstore.invalid", token=ADMIN_TOKEN, transport=transport) as asgi:
                await compare(engine, calls, (direct, direct_ids), (remote, remote_ids), (asgi, await seed(asgi)))

            direct_rate = await posts_per_second(lambda: direct, direct_ids, seconds)
            remote_rate = await posts_per_second(lambda: open_store(remote_url, token=ADMIN_TOKEN), remote_ids, seconds)
            print(
                f"student posts/s, {STUDENTS} concurrent clients (record_code): direct {direct_rate:,.0f}, "
                f"through the server {remote_rate:,.0f} (ratio {remote_rate / direct_rate:.2f})"
            )

        async with open_store(remote_url, token=ADMIN_TOKEN, cache_ttl_s=60, cache_max_entries=100_000) as cached:
            codes = iter(remote_ids["codes"])
            missed = await timed(lambda: cached.sessions.get_session_by_join_code(next(codes)), min(calls, 350))
            hit = await timed(lambda: cached.sessions.get_session_by_join_code("J00001"), calls)
            stats = (await cached.health()).details["cache"]
            miss50, hit50 = statistics.median(missed), statistics.median(hit)
            print(
                f"join-code lookup through the server, read cache on: missed p50 {miss50:.3f} ms, "
                f"hit p50 {hit50:.3f} ms (ratio {miss50 / hit50:.0f}); cache {stats}"
            )
    finally:
        server.terminate()
        server.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--engine", default="memory://", help="memory:// or local (a fresh local:// folder)")
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=5.0, help="length of the posts/s runs")
    arguments = parser.parse_args()
    asyncio.run(bench(arguments.engine, arguments.calls, arguments.seconds))


if __name__ == "__main__":
    main()
