"""local:// (SQLite) answers as the MongoDB dialect (memory://) does: search, listings, cursors."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from docstore import ProblemSpec, Session, Store, open_store

WORDS = ["loops", "Loop", "lists", "and", "or", "NOT", "near", "NEAR", "title", "sort_key", "déjà", "x1", "ÉCOLE"]
QUERIES = [
    "loops",
    "LOOP",
    "and",
    "or not",
    "NEAR",
    "title:loops",
    "loops*",
    '"loops" OR lists',
    "sort_key",
    "sort",
    "déjà vu",
    "école",
    "x1 -lists",
    "^loops",
    "(near)",
    "lists AND loops",
]


async def _fill(store: Store, chance: random.Random) -> None:
    base = datetime(2026, 2, 1, tzinfo=UTC)
    for i in range(60):
        title = " ".join(chance.choice(WORDS) for _ in range(chance.randint(1, 3)))
        description = " ".join(chance.choice(WORDS) for _ in range(chance.randint(0, 6)))
        await store.problems.save_problem(
            ProblemSpec(
                id=f"p{i:03d}",
                title=title,
                description=description,
                tags=chance.sample(["a", "b", "c", "d"], chance.randint(0, 3)),
                created_at=base + timedelta(minutes=chance.randint(0, 20)),  # ties on purpose
            )
        )
    for i in range(80):
        await store.sessions.create_session(
            Session(
                id=f"s{i:03d}",
                join_code=chance.choice([None, f"J{i:03d}"]),
                active=chance.random() < 0.5,
                instructor_id=chance.choice([None, "t1", "t2"]),
                created_at=base + timedelta(minutes=chance.randint(0, 10)),
                last_activity=base + timedelta(minutes=chance.randint(0, 10)),
            )
        )


async def _pages(listing: Any, **arguments: Any) -> tuple[list[list[str]], list[str | None]]:
    pages: list[list[str]] = []
    cursors: list[str | None] = []
    cursor = None
    while True:
        page = await listing(limit=7, cursor=cursor, **arguments)
        pages.append([item.id for item in page])
        cursors.append(page.next_cursor)
        cursor = page.next_cursor
        if cursor is None:
            return pages, cursors


@pytest.fixture
async def both(tmp_path: Path) -> Any:
    async with open_store("memory://") as memory, open_store(f"local://{tmp_path}") as local:
        for store in (memory, local):
            await _fill(store, random.Random(7))
        yield memory, local


async def test_search_finds_the_same_problems_in_the_same_order(both: tuple[Store, Store]) -> None:
    memory, local = both
    for query in QUERIES:
        expected = [p.id for p in await memory.problems.search_problems(query, limit=100)]
        assert [p.id for p in await local.problems.search_problems(query, limit=100)] == expected, query


@pytest.mark.parametrize("sort_by", ["created_at", "last_activity", "join_code"])
@pytest.mark.parametrize("sort_order", ["asc", "desc"])
@pytest.mark.parametrize("active", [None, True])
async def test_session_listings_and_their_cursors_are_the_same(
    both: tuple[Store, Store], sort_by: str, sort_order: str, active: bool | None
) -> None:
    memory, local = both
    arguments: dict[str, Any] = {"sort_by": sort_by, "sort_order": sort_order, "active": active}
    expected = await _pages(memory.sessions.list_all_sessions, **arguments)
    assert await _pages(local.sessions.list_all_sessions, **arguments) == expected
    # A cursor from one engine continues the same listing on the other.
    for cursor in expected[1][:-1]:
        on_memory = await memory.sessions.list_all_sessions(limit=7, cursor=cursor, **arguments)
        on_local = await local.sessions.list_all_sessions(limit=7, cursor=cursor, **arguments)
        assert [s.id for s in on_local] == [s.id for s in on_memory]


@pytest.mark.parametrize("sort_by", ["created_at", "title"])
@pytest.mark.parametrize("match", ["any", "all"])
async def test_problem_listings_tags_and_counts_are_the_same(
    both: tuple[Store, Store], sort_by: str, match: str
) -> None:
    memory, local = both
    for tags in (None, ["a"], ["a", "b"], []):
        arguments: dict[str, Any] = {"sort_by": sort_by, "tags": tags, "match": match}
        assert await _pages(local.problems.list_problems, **arguments) == await _pages(
            memory.problems.list_problems, **arguments
        )
        counted: dict[str, Any] = {"tags": tags, "match": match}
        assert await local.problems.count_problems(**counted) == await memory.problems.count_problems(**counted)
    assert await local.problems.tag_counts() == await memory.problems.tag_counts()
