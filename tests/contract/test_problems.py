"""Contract of the problems repository, on every engine."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from docstore import ErrorCode, ProblemSortKey, ProblemSpec, SortOrder, Store

from .helpers import expect_error


def problem(title: str, **fields: Any) -> ProblemSpec:
    return ProblemSpec(title=title, **fields)


async def test_save_inserts_then_replaces(store: Store) -> None:
    first = problem("FizzBuzz", description="Print numbers", tags=["loops"], difficulty="beginner", solution="...")
    problem_id = await store.problems.save_problem(first)
    stored = await store.problems.get_problem(problem_id)
    assert stored is not None and stored.metadata is not None
    assert stored.metadata.version == 1
    assert stored.model_dump(exclude={"metadata"}) == first.model_dump(exclude={"metadata"})

    replacement = first.model_copy(update={"title": "FizzBuzz II", "solution": None, "tags": []})
    assert await store.problems.save_problem(replacement) == problem_id
    replaced = await store.problems.get_problem(problem_id)
    assert replaced is not None and replaced.metadata is not None
    assert (replaced.title, replaced.solution, replaced.tags) == ("FizzBuzz II", None, [])
    assert replaced.metadata.version == 2
    assert replaced.metadata.created_at == stored.metadata.created_at
    assert await store.problems.get_problem("missing") is None


async def test_update_and_delete(store: Store) -> None:
    problem_id = await store.problems.save_problem(problem("Sum", difficulty="beginner"))
    updated = await store.problems.update_problem(problem_id, {"difficulty": "advanced", "tags": ["math"]})
    assert (updated.difficulty, updated.tags, updated.title) == ("advanced", ["math"], "Sum")
    await expect_error(ErrorCode.INVALID_DATA, store.problems.update_problem(problem_id, {"difficulty": "expert"}))
    await expect_error(ErrorCode.INVALID_DATA, store.problems.update_problem(problem_id, {"tags": "math"}))
    await expect_error(
        ErrorCode.CONFLICT, store.problems.update_problem(problem_id, {"title": "x"}, expected_version=1)
    )
    await expect_error(ErrorCode.NOT_FOUND, store.problems.update_problem("missing", {"title": "x"}))
    await store.problems.delete_problem(problem_id)
    assert await store.problems.get_problem(problem_id) is None
    await expect_error(ErrorCode.NOT_FOUND, store.problems.delete_problem(problem_id))


async def test_filters_and_counts(store: Store) -> None:
    specs = [
        problem("A", difficulty="beginner", tags=["loops", "strings"], created_by="ann"),
        problem("B", difficulty="beginner", tags=["loops"], created_by="bob"),
        problem("C", difficulty="advanced", tags=["strings"], created_by="ann"),
        problem("D", tags=[]),
    ]
    for spec in specs:
        await store.problems.save_problem(spec)

    async def titles(**filters: object) -> list[str]:
        page = await store.problems.list_problems(sort_by="title", sort_order="asc", **filters)  # type: ignore[arg-type]
        assert await store.problems.count_problems(**filters) == len(page)  # type: ignore[arg-type]
        return [p.title for p in page]

    assert await titles() == ["A", "B", "C", "D"]
    assert await titles(difficulty="beginner") == ["A", "B"]
    assert await titles(tags=["loops", "strings"]) == ["A", "B", "C"]
    assert await titles(tags=["loops", "strings"], match="all") == ["A"]
    assert await titles(created_by="ann", difficulty="advanced") == ["C"]
    assert await titles(tags=[]) == ["A", "B", "C", "D"]
    await expect_error(ErrorCode.INVALID_DATA, store.problems.list_problems(difficulty="easy"))  # type: ignore[arg-type]
    await expect_error(ErrorCode.INVALID_DATA, store.problems.list_problems(tags=[{"$ne": 1}]))  # type: ignore[list-item]
    await expect_error(ErrorCode.INVALID_DATA, store.problems.list_problems(limit=0))
    assert await store.problems.tag_counts() == {"loops": 2, "strings": 2}


@pytest.mark.parametrize(("sort_by", "sort_order"), [("created_at", "desc"), ("title", "asc"), ("title", "desc")])
async def test_cursor_paging_over_1000_problems_misses_and_repeats_nothing(
    store: Store, sort_by: ProblemSortKey, sort_order: SortOrder
) -> None:
    base = datetime(2026, 1, 1, tzinfo=UTC)
    # Ties on purpose (10 problems share each created_at and each title) so _id must break them.
    specs = [problem(f"Problem {i % 100:03d}", created_at=base + timedelta(seconds=i // 10)) for i in range(1000)]
    for start in range(0, 1000, 100):
        await asyncio.gather(*(store.problems.save_problem(s) for s in specs[start : start + 100]))
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        page = await store.problems.list_problems(
            sort_by=sort_by,
            sort_order=sort_order,
            limit=37,
            cursor=cursor,
        )
        seen.extend(p.id for p in page)
        pages += 1
        cursor = page.next_cursor
        if cursor is None:
            break
    assert pages == 28
    assert len(seen) == len(set(seen)) == 1000
    assert set(seen) == {s.id for s in specs}
    key = (lambda p: (p.created_at, p.id)) if sort_by == "created_at" else (lambda p: (p.title, p.id))
    by_id = {s.id: s for s in specs}
    assert seen == [p.id for p in sorted(by_id.values(), key=key, reverse=sort_order == "desc")]


async def test_search_matches_words_title_first(store: Store) -> None:
    await store.problems.save_problem(problem("Sum of a list", description="Add the numbers with a loop"))
    await store.problems.save_problem(problem("Loops and more LOOPS", description="Practice"))
    await store.problems.save_problem(problem("Strings", description="Reverse each word"))
    found = await store.problems.search_problems("loop")
    assert [p.title for p in found] == ["Sum of a list"]  # whole words: "loop" is not "loops"
    found = await store.problems.search_problems("LOOPS reverse")
    assert [p.title for p in found] == ["Loops and more LOOPS", "Strings"]
    found = await store.problems.search_problems("list loop")
    assert [p.title for p in found] == ["Sum of a list"]
    assert await store.problems.search_problems("   ") == []
    assert len(await store.problems.search_problems("a loops reverse", limit=2)) == 2


@pytest.mark.parametrize("query", [".*", "(", "\\", "[a-z]+", "$where", "^S", "a|b", '{"$ne": null}'])
async def test_search_treats_metacharacters_as_text(store: Store, query: str) -> None:
    await store.problems.save_problem(problem("Strings", description="anything at all"))
    await store.problems.save_problem(problem("Regex (.*) and \\ slashes", description=""))
    found = await store.problems.search_problems(query)
    # Only real words of the query can match; punctuation matches nothing by itself.
    for result in found:
        assert result.title.startswith("Regex") or "a" in query
    assert all(isinstance(p, ProblemSpec) for p in found)


async def test_a_title_hit_beyond_the_candidate_cap_still_comes_first(store: Store) -> None:
    """``search_problems`` puts title hits first even when many problems mention the word.

    Found by the attack pass (was ``test_attack_search.py``): candidates were capped at 2000
    in storage order before ranking, so with 2100 problems mentioning "loops" in their
    description the one titled "Loops" (saved last) was not returned at all.
    """
    for index in range(2100):
        await store.problems.save_problem(ProblemSpec(title=f"exercise {index}", description="practice loops here"))
    await store.problems.save_problem(ProblemSpec(title="Loops", description="for and while"))
    found = await store.problems.search_problems("loops", limit=5)
    assert [problem.title for problem in found][:1] == ["Loops"]
    assert len(found) == 5
