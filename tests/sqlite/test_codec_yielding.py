"""``yielding``: a long read in a thread hands the GIL over by the clock, a short one never pays for it."""

from __future__ import annotations

import pytest

from docstore._sqlite import _codec


class Clock:
    """perf_counter that advances ``step`` seconds a call; time.sleep counted, not slept."""

    def __init__(self, step: float) -> None:
        self.now = 0.0
        self.step = step
        self.sleeps = 0

    def perf_counter(self) -> float:
        self.now += self.step
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds == 0
        self.sleeps += 1


@pytest.mark.parametrize(("step", "items", "sleeps"), [(0.00001, 100, 0), (0.001, 10, 5), (0.003, 5, 5)])
def test_the_gil_is_handed_over_once_per_slice_of_work(
    monkeypatch: pytest.MonkeyPatch, step: float, items: int, sleeps: int
) -> None:
    clock = Clock(step)
    monkeypatch.setattr(_codec, "time", clock)  # the module's clock only, not the process's
    assert list(_codec.yielding(range(items))) == list(range(items))
    assert clock.sleeps == sleeps
