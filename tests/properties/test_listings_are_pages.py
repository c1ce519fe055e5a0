"""Every listing of every repository returns a ``Page`` (never a bare list), on every engine,
and a page's cursor walks the whole listing without repeats."""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter

from docstore import CodeRevision, Page, ProblemSpec, Session, Store, Student


async def seed(store: Store) -> None:
    for number in range(5):
        await store.sessions.create_session(Session(id=f"s{number}", join_code=f"CODE0{number}"))
        await store.problems.save_problem(ProblemSpec(id=f"p{number}", title=f"loops {number}", tags=["loops"]))
    await store.sessions.upsert_student("s0", Student(id="ada"))
    for number in range(5):
        await store.revisions.save_revision(CodeRevision(session_id="s0", student_id="ada", code=str(number)))


async def test_every_listing_is_a_page(store: Store) -> None:
    await seed(store)
    listings: dict[str, Any] = {
        "list_active_sessions": store.sessions.list_active_sessions(limit=2),
        "list_all_sessions": store.sessions.list_all_sessions(limit=2),
        "list_problems": store.problems.list_problems(limit=2),
        "search_problems": store.problems.search_problems("loops", limit=2),
        "get_revisions": store.revisions.get_revisions("s0", "ada", limit=2),
    }
    for name, call in listings.items():
        page = await call
        assert isinstance(page, Page), (name, type(page))
        assert len(page) == 2, name
        dumped = page.model_dump(mode="json")
        assert set(dumped) == {"items", "next_cursor"} and len(dumped["items"]) == 2, name


async def test_cursors_walk_each_listing_once(store: Store) -> None:
    await seed(store)
    seen: list[str] = []
    cursor = None
    while True:
        page = await store.problems.list_problems(limit=2, cursor=cursor)
        seen += [problem.id for problem in page]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert sorted(seen) == [f"p{number}" for number in range(5)]
    revisions: list[str] = []
    cursor = None
    while True:
        revision_page = await store.revisions.get_revisions("s0", "ada", limit=2, cursor=cursor)
        revisions += [revision.code for revision in revision_page]
        if revision_page.next_cursor is None:
            break
        cursor = revision_page.next_cursor
    assert revisions == ["0", "1", "2", "3", "4"]


async def test_a_page_round_trips_through_its_json_form(store: Store) -> None:
    await seed(store)
    page = await store.problems.list_problems(limit=3)
    adapter = TypeAdapter(Page[ProblemSpec])
    again = adapter.validate_python(page.model_dump(mode="json"))
    assert again == page
