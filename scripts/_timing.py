"""How the benchmarks time an awaited call: the median of many, after one warm-up call.

Why the median: on a shared machine a few calls wait behind other jobs; the median is
what a typical call costs, and each bench compares it with a baseline timed the same way.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

__all__ = ["median_seconds", "seconds_each"]


async def median_seconds(call: Callable[[], Awaitable[Any]], repeat: int) -> float:
    """Median seconds of one ``call``, over ``repeat`` calls (after one warm-up)."""
    return statistics.median(await seconds_each(call, repeat))


async def seconds_each(call: Callable[[], Awaitable[Any]], repeat: int) -> list[float]:
    """Seconds of each of ``repeat`` calls of ``call`` (after one warm-up): more than the median."""
    await call()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        await call()
        samples.append(time.perf_counter() - started)
    return samples
