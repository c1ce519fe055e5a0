"""On memory://, a student's post costs one student whatever the class size.

Counted, not timed: how many stored documents mongomock tests against a filter
during one ``record_code``. A 1,000-student class must cost what a 3-student one does
(mongomock's unique-index check used to walk every record of the session, and any
update threw away the equality indexes that spare it a walk of the collection).
"""

from __future__ import annotations

from typing import Any

import pytest
from mongomock import collection, filtering

from docstore import Session, Student, _posts, open_store
from docstore._memory import _mongomock_fast_paths


class Counter:
    def __init__(self) -> None:
        self.tested = 0


@pytest.fixture
def counter(monkeypatch: pytest.MonkeyPatch) -> Counter:
    counter = Counter()
    original = filtering.filter_applies

    def counting(*args: Any, **kwargs: Any) -> Any:
        counter.tested += 1
        return original(*args, **kwargs)  # type: ignore[no-untyped-call]

    monkeypatch.setattr(_mongomock_fast_paths, "filter_applies", counting)
    monkeypatch.setattr(filtering, "filter_applies", counting)
    monkeypatch.setattr(collection, "filter_applies", counting)  # mongomock's own scans
    # Every post marks the session's activity: left to the clock, the once-a-second mark fell on a
    # different number of the posts of each class (the larger one takes longer to set up), and the
    # counts differed by that mark's cost under load. Marking on every post also counts its cost.
    monkeypatch.setattr(_posts, "activity_due", lambda session, now: True)
    return counter


async def documents_tested_per_post(counter: Counter, class_size: int) -> int:
    async with open_store("memory://") as store:
        students = {f"s{i:04d}": Student(id=f"s{i:04d}") for i in range(class_size)}
        session_id = await store.sessions.create_session(Session(join_code=f"C{class_size}", students=students))
        await store.sessions.record_code(session_id, "s0001", "warm up")  # lazily built indexes
        counter.tested = 0
        for n in range(10):
            await store.sessions.record_code(session_id, f"s{n % 3:04d}", f"print({n})")
        await store.sessions.update_student_code(session_id, "s0002", "again")
        return counter.tested


async def test_a_post_costs_the_same_in_a_class_of_3_and_of_1000(counter: Counter) -> None:
    small = await documents_tested_per_post(counter, 3)
    large = await documents_tested_per_post(counter, 1000)
    assert large == small, (small, large)
