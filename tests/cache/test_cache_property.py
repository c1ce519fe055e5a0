"""Any sequence of writes through a cached store, then any read: what the cache answers is what the store holds.

The cached store is a client of a server (ASGI, no socket); the truth is read from the
server's own, uncached store. A TTL of 5 minutes means nothing expires during a test: a
fresh answer can only come from an invalidation.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from docstore import CodeRevision, PersistenceError, ProblemSpec, Session, Store, Student, open_store
from docstore._remote import asgi_transport
from docstore.server import create_app

SLOTS = 3  # ids per kind in one example: small, so operations collide on the same items
CODES = ["AA01", "BB02", "CC03"]

operations = st.lists(
    st.tuples(
        st.sampled_from(
            [
                "create_session",
                "set_text",
                "set_code",
                "end",
                "reactivate",
                "set_look_alike_code",
                "delete_session",
                "upsert_student",
                "record_code",
                "save_revision",
                "delete_revisions",
                "save_problem",
                "update_problem",
                "delete_problem",
                "read",
            ]
        ),
        st.integers(0, SLOTS - 1),
        st.sampled_from(CODES),
        st.booleans(),  # then read everything (and cache it): staleness shows after the very next write
    ),
    max_size=25,
)


class Pair:
    """A cached client store and the server's own store, on one loop of their own."""

    def __init__(self) -> None:
        self.runner = asyncio.Runner()
        self.truth = open_store("memory://")
        self.run(self.truth.initialize())
        transport = asgi_transport(create_app(self.truth, admin_token="cache-admin"))
        self.cached = open_store("http://docstore.invalid", token="cache-admin", cache_ttl_s=300, transport=transport)
        self.run(self.cached.initialize())
        self.examples = itertools.count()

    def run(self, coroutine: Any) -> Any:
        return self.runner.run(coroutine)

    def close(self) -> None:
        self.run(self.cached.shutdown())
        self.run(self.truth.shutdown())
        self.runner.close()


@pytest.fixture(scope="module")
def pair() -> Iterator[Pair]:
    made = Pair()
    yield made
    made.close()


async def apply(store: Store, prefix: str, name: str, slot: int, code: str) -> None:
    session, problem = f"{prefix}s{slot}", f"{prefix}p{slot}"
    join = f"{prefix[-2:]}{code}"
    try:
        if name == "create_session":
            await store.sessions.create_session(Session(id=session, join_code=join))
        elif name == "set_text":
            await store.sessions.update_session(session, {"problem_text": code})
        elif name == "set_code":
            await store.sessions.update_session(session, {"join_code": join})
        elif name == "end":
            await store.sessions.end_session(session)
        elif name == "reactivate":
            await store.sessions.update_session(session, {"active": True})
        elif name == "set_look_alike_code":
            # The same code to a person (lower case, an invisible character): one cached answer.
            await store.sessions.update_session(session, {"join_code": f"\u200b{join.lower()}", "active": True})
        elif name == "delete_session":
            await store.sessions.delete_session(session)
        elif name == "upsert_student":
            await store.sessions.upsert_student(session, Student(id=f"st{slot}"))
        elif name == "record_code":
            await store.sessions.record_code(session, f"st{slot}", code)
        elif name == "save_revision":
            await store.revisions.save_revision(
                CodeRevision(id=f"{prefix}r{slot}", session_id=session, student_id=f"st{slot}", code=code)
            )
        elif name == "delete_revisions":
            await store.revisions.delete_revisions(session)
        elif name == "save_problem":
            await store.problems.save_problem(ProblemSpec(id=problem, title=code))
        elif name == "update_problem":
            await store.problems.update_problem(problem, {"title": code})
        elif name == "delete_problem":
            await store.problems.delete_problem(problem)
    except PersistenceError:
        pass  # NOT_FOUND, ALREADY_EXISTS: part of the game; the cache must survive them too


async def reads(store: Store, prefix: str) -> list[Any]:
    found: list[Any] = []
    for slot in range(SLOTS):
        session = f"{prefix}s{slot}"
        found.append(await store.sessions.get_session(session))
        found.append(await store.problems.get_problem(f"{prefix}p{slot}"))
        found.append(await store.revisions.get_revision(f"{prefix}r{slot}"))
        found.append(await store.revisions.get_latest_revisions(session))
    for code in CODES:
        found.append(await store.sessions.get_session_by_join_code(f"{prefix[-2:]}{code}"))
    return found


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=operations)
def test_the_cache_never_answers_what_the_store_no_longer_holds(
    pair: Pair, steps: list[tuple[str, int, str, bool]]
) -> None:
    prefix = f"e{next(pair.examples):04d}"
    for name, slot, code, then_read in steps:
        if name != "read":
            pair.run(apply(pair.cached, prefix, name, slot, code))
        if name == "read" or then_read:
            assert pair.run(reads(pair.cached, prefix)) == pair.run(reads(pair.truth, prefix))
    assert pair.run(reads(pair.cached, prefix)) == pair.run(reads(pair.truth, prefix))


# Only what changes which session holds a code, so that short sequences meet the hard
# cases: a code looked up (and a miss cached), then given back by a reactivation or a change.
join_code_operations = st.lists(
    st.tuples(
        st.sampled_from(["create_session", "set_code", "set_look_alike_code", "end", "reactivate", "delete_session"]),
        st.integers(0, 1),
        st.sampled_from(CODES[:2]),
        st.booleans(),
    ),
    max_size=12,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=join_code_operations)
def test_join_code_answers_follow_reactivations_and_code_changes(
    pair: Pair, steps: list[tuple[str, int, str, bool]]
) -> None:
    prefix = f"j{next(pair.examples):04d}"
    for name, slot, code, then_read in steps:
        pair.run(apply(pair.cached, prefix, name, slot, code))
        if then_read:
            assert pair.run(reads(pair.cached, prefix)) == pair.run(reads(pair.truth, prefix))
    assert pair.run(reads(pair.cached, prefix)) == pair.run(reads(pair.truth, prefix))
