"""Whatever answers at a server's address, the client's calls end in a ``PersistenceError``
with a code, never a raw exception (found by the remote attack, tester5: an error answer
nested 10,000 deep was a raw RecursionError from every call; a page answer whose ``items``
is a number a raw TypeError; the admin surface's answers of the wrong shape raw TypeError,
KeyError or ValueError)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from docstore import CodeRevision, PersistenceError, ProblemSpec, Session, Store, Student, open_store

from .raw_servers import RawServer, answer, raw_server

BODIES = [
    b"[" * 10_000,
    b'{"a": ' * 5_000,
    b'{"items": 5}',
    b'{"items": [1, 2], "next_cursor": 3}',
    b'{"items": null}',
    b"\xff\xfe",
    b"",
    b"1e999",
    b'"text"',
    b"[1, 2]",
    b"{}",
    b'{"inserted": "x", "failed": 5}',
    b'{"sessions": 5}',
    b'{"sessions": {"documents": "x"}}',
    b'{"$date": "no"}',
    b'{"_id": {"$oid": 1}}',
]
STATUSES = [200, 404, 500]

Call = Callable[[Store], Awaitable[Any]]
CALLS: dict[str, Call] = {
    "get_session": lambda s: s.sessions.get_session("s"),
    "create_session": lambda s: s.sessions.create_session(Session(join_code="AB")),
    "list_all_sessions": lambda s: s.sessions.list_all_sessions(),
    "count_students": lambda s: s.sessions.count_students("s"),
    "upsert_student": lambda s: s.sessions.upsert_student("s", Student(id="s1")),
    "list_problems": lambda s: s.problems.list_problems(),
    "search_problems": lambda s: s.problems.search_problems("q"),
    "tag_counts": lambda s: s.problems.tag_counts(),
    "save_problem": lambda s: s.problems.save_problem(ProblemSpec(title="t")),
    "get_revisions": lambda s: s.revisions.get_revisions("s", "s1"),
    "get_latest_revisions": lambda s: s.revisions.get_latest_revisions("s"),
    "get_all_session_revisions": lambda s: s.revisions.get_all_session_revisions("s"),
    "save_revisions": lambda s: s.revisions.save_revisions([CodeRevision(session_id="s", student_id="a", code="c")]),
    "collection_names": lambda s: s.documents.collection_names(),
    "collection_stats": lambda s: s.documents.collection_stats(),
    "get_document": lambda s: s.documents.get_document("sessions", "x"),
    "upsert_documents": lambda s: s.documents.upsert_documents("legacy_x", [{"_id": "a", "v": 1}]),
    "delete_document": lambda s: s.documents.delete_document("legacy_x", "a"),
    "iter_documents": lambda s: _drain(s.documents.iter_documents("sessions")),
    "health": lambda s: _raising_health(s),
}


async def _drain(documents: Any) -> None:
    async for _ in documents:
        pass


async def _raising_health(store: Store) -> None:
    report = await store.health()  # never raises: ok=False is its way to say so
    assert isinstance(report.ok, bool)


@pytest.mark.parametrize("status", STATUSES)
async def test_no_answer_of_a_hostile_server_is_a_raw_exception(status: int) -> None:
    state = {"body": b"null"}

    async def script(record: RawServer, reader: Any, writer: Any) -> None:
        while await record.next_request(reader):
            if b"/v1/info" in record.requests[-1] and state["body"] == b"null":
                writer.write(answer(b'{"engine": "memory"}'))
            else:
                writer.write(answer(state["body"], status=status))
            await writer.drain()

    raw: list[tuple[str, bytes, str]] = []
    async with raw_server(script) as (url, _):
        store = open_store(url, token="t", retry_reads=False)
        await store.initialize()
        try:
            for body in BODIES:
                state["body"] = body
                for name, call in CALLS.items():
                    try:
                        await call(store)
                    except PersistenceError:
                        pass
                    except Exception as exc:  # what this test is about: none may get here
                        raw.append((name, body[:20], repr(exc)[:100]))
                reopened = open_store(url, token="t")  # initialize() reads /v1/info: the same rule
                try:
                    await reopened.initialize()
                except PersistenceError:
                    pass
                except Exception as exc:
                    raw.append(("initialize", body[:20], repr(exc)[:100]))
                finally:
                    await reopened.shutdown()
        finally:
            state["body"] = b"null"
            await store.shutdown()
    assert not raw, raw
