"""A namespace token sees exactly what ``store.for_namespace(NS)`` sees, read by read, whatever ids it sends."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from docstore import CodeRevision, ProblemSpec, Session, Store, Student

from .conftest import Served

Read = Callable[[Store], Awaitable[Any]]


async def seed(view: Store, tag: str) -> dict[str, str]:
    session_id = await view.sessions.create_session(
        Session(join_code=f"{tag}01", students={"s1": Student(id="s1")}, instructor_id="t")
    )
    revision = await view.sessions.record_code(session_id, "s1", "print('loop')")
    await view.revisions.save_revision(CodeRevision(session_id=session_id, student_id="s1", code="2"))
    problem_id = await view.problems.save_problem(ProblemSpec(title=f"{tag} loop", tags=[tag, "common"]))
    return {"session": session_id, "code": f"{tag}01", "revision": revision.id, "problem": problem_id}


def reads(ids: dict[str, str]) -> dict[str, Read]:
    s, r, p = ids["session"], ids["revision"], ids["problem"]
    return {
        "get_session": lambda v: v.sessions.get_session(s),
        "get_session_by_join_code": lambda v: v.sessions.get_session_by_join_code(ids["code"]),
        "list_active_sessions": lambda v: v.sessions.list_active_sessions(),
        "list_all_sessions": lambda v: v.sessions.list_all_sessions(instructor_id="t"),
        "count_sessions": lambda v: v.sessions.count_sessions(active=True),
        "get_problem": lambda v: v.problems.get_problem(p),
        "list_problems": lambda v: v.problems.list_problems(tags=["common"]),
        "count_problems": lambda v: v.problems.count_problems(tags=["common"]),
        "search_problems": lambda v: v.problems.search_problems("loop"),
        "tag_counts": lambda v: v.problems.tag_counts(),
        "get_revision": lambda v: v.revisions.get_revision(r),
        "get_revisions": lambda v: v.revisions.get_revisions(s, "s1"),
        "get_latest_revision": lambda v: v.revisions.get_latest_revision(s, "s1"),
        "get_latest_revisions": lambda v: v.revisions.get_latest_revisions(s),
        "get_all_session_revisions": lambda v: v.revisions.get_all_session_revisions(s),
        "count_revisions": lambda v: v.revisions.count_revisions(s),
    }


async def test_every_read_of_a_token_equals_the_namespace_view(served: Served) -> None:
    mine = await seed(served.store.for_namespace("cs101"), "MINE")
    theirs = await seed(served.store.for_namespace("art"), "THEM")
    token = await served.token("cs101")
    view = served.store.for_namespace("cs101")
    async with served.client(token) as client:
        for ids in (mine, theirs):  # its own ids, and another namespace's
            for name, read in reads(ids).items():
                assert await read(client) == await read(view), name
                assert await read(client.for_namespace("cs101")) == await read(view), name
    # and the other namespace's items really are there for the other view
    assert await served.store.for_namespace("art").sessions.get_session(theirs["session"]) is not None


async def _outcome(call: Awaitable[Any], shown_id: str) -> tuple[str, str]:
    """What a caller learns from a call: its result's kind, or its error's code and message
    with the id it named written as ID."""
    from docstore import PersistenceError

    try:
        result = await call
    except PersistenceError as error:
        return error.code.value, error.message.replace(shown_id, "ID")
    return "answer", repr(result if isinstance(result, int | type(None)) else list(result))


async def test_a_namespace_token_learns_nothing_from_another_namespaces_ids(served: Served) -> None:
    """The existence oracle of the server attack (tester5), timing aside: for an id that
    another namespace holds and one held nowhere, every read, write, delete and watch through
    a namespace token answers alike (code and message). What README grants a namespace (an id
    it *creates* is taken somewhere: ALREADY_EXISTS; a revision filed under a session of
    another namespace: PERMISSION_DENIED) is not among them."""
    from docstore import ExecutionResult

    admin = served.client()
    theirs = served.client(await served.token("theirs"))
    mine = served.client(await served.token("mine"))
    async with admin, theirs, mine:
        held = await seed(theirs, "th")
        ended = await theirs.sessions.create_session(Session(join_code="th02"))
        await theirs.sessions.end_session(ended)
        nowhere = {"session": "0" * 32, "revision": "1" * 32, "problem": "2" * 32, "code": "ZZ9999"}
        for other_session in (held["session"], ended):
            ids = {**held, "session": other_session}
            calls: dict[str, Callable[[dict[str, str]], Awaitable[Any]]] = {
                "get_session": lambda i: mine.sessions.get_session(i["session"]),
                "update_session": lambda i: mine.sessions.update_session(i["session"], {"featured_code": "x"}),
                "update_session_versioned": lambda i: mine.sessions.update_session(
                    i["session"], {"featured_code": "x"}, expected_version=1
                ),
                "end_session": lambda i: mine.sessions.end_session(i["session"]),
                "get_student": lambda i: mine.sessions.get_student(i["session"], "s1"),
                "list_students": lambda i: mine.sessions.list_students(i["session"]),
                "count_students": lambda i: mine.sessions.count_students(i["session"]),
                "upsert_student": lambda i: mine.sessions.upsert_student(i["session"], Student(id="s9")),
                "update_student_code": lambda i: mine.sessions.update_student_code(i["session"], "s1", "x"),
                "record_code": lambda i: mine.sessions.record_code(
                    i["session"], "s1", "x", ExecutionResult(success=True)
                ),
                "watch": lambda i: mine.sessions.watch(i["session"]).__aenter__(),
                "get_revision": lambda i: mine.revisions.get_revision(i["revision"]),
                "get_revisions": lambda i: mine.revisions.get_revisions(i["session"], "s1"),
                "get_latest_revisions": lambda i: mine.revisions.get_latest_revisions(i["session"]),
                "count_revisions": lambda i: mine.revisions.count_revisions(i["session"]),
                "delete_revisions": lambda i: mine.revisions.delete_revisions(i["session"]),
                "get_problem": lambda i: mine.problems.get_problem(i["problem"]),
                "update_problem": lambda i: mine.problems.update_problem(i["problem"], {"title": "x"}),
                "delete_problem": lambda i: mine.problems.delete_problem(i["problem"]),
                "by_join_code": lambda i: mine.sessions.get_session_by_join_code(i["code"]),
                "delete_session": lambda i: mine.sessions.delete_session(i["session"]),
            }
            for name, call in calls.items():
                kind = "problem" if "problem" in name else "revision" if name == "get_revision" else "session"
                there = await _outcome(call(ids), ids[kind])
                gone = await _outcome(call(nowhere), nowhere[kind])
                assert there == gone, (name, there, gone)
        # Nothing of theirs changed.
        assert await theirs.sessions.get_session(held["session"]) is not None
        assert await theirs.problems.get_problem(held["problem"]) is not None
