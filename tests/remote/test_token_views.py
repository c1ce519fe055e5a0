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
