"""``search_problems``'s one rule (``docstore/_search.py``) on every engine.

Each engine's index finds candidates its own way (``$text``, a case-insensitive word
regex, FTS5); the words, the hits and what a damaged problem does are the shared rule's.
Only hits are validated: a damaged problem that an index returns but that holds no query
word is passed over on every engine (``memory://`` used to fail the search on it, while
``local://`` passed it over), and a damaged hit is STORAGE_ERROR naming it on every
engine, even when it ranks below the page.
"""

from __future__ import annotations

from typing import Any

import pytest

from docstore import ErrorCode, ProblemSpec, Store

from .helpers import expect_error


async def _damaged(store: Store, title: str, description: str, /, **damage: Any) -> str:
    """A problem saved, then damaged behind the repositories' back (as an import may)."""
    problem_id = await store.problems.save_problem(ProblemSpec(title=title, description=description))
    stored = await store.documents.get_document("problems", problem_id)
    assert stored is not None
    result = await store.documents.upsert_documents("problems", [{**stored, **damage}])
    assert not result.failed, result.failed
    return problem_id


@pytest.mark.parametrize(
    ("title", "description", "damage", "query"),
    [
        # A case-insensitive regex matches "sum" in "\u017fum" (long s); no \w word of it is "sum".
        pytest.param("x", "\u017fum of two", {"difficulty": "expert"}, "sum", id="long-s"),
        # $text and FTS5 fold diacritics: "cafe" finds "café", whose word is "café".
        pytest.param("x", "caf\u00e9 au lait", {"difficulty": "expert"}, "cafe", id="diacritics"),
        # A title that is not text has no words, even if a regex finds one in its elements.
        pytest.param("x", "nothing here", {"title": ["sum"]}, "sum", id="title-not-text"),
    ],
)
async def test_a_damaged_candidate_that_is_no_hit_does_not_fail_the_search(
    store: Store, title: str, description: str, damage: dict[str, Any], query: str
) -> None:
    await _damaged(store, title, description, **damage)
    sound = await store.problems.save_problem(ProblemSpec(title=query, description="sound"))
    found = await store.problems.search_problems(query)
    assert [problem.id for problem in found] == [sound]


async def test_a_damaged_hit_is_storage_error_even_below_the_page(store: Store) -> None:
    for index in range(3):
        await store.problems.save_problem(ProblemSpec(title=f"sum {index}", description="sum"))
    # A title hit (fetched with the others) that ranks below them all (no word in its
    # description), out of a page of one.
    problem_id = await _damaged(store, "the sum", "other", difficulty="expert")
    error = await expect_error(ErrorCode.STORAGE_ERROR, store.problems.search_problems("sum", limit=1))
    assert problem_id in error.message


async def test_hits_are_words_in_lower_case_on_every_engine(store: Store) -> None:
    first = await store.problems.save_problem(ProblemSpec(title="Sum Of Pairs", description="pairs"))
    second = await store.problems.save_problem(ProblemSpec(title="pairs", description="a SUM"))
    await store.problems.save_problem(ProblemSpec(title="summary", description="summing up"))
    found = await store.problems.search_problems("sum pairs")
    assert [problem.id for problem in found] == [first, second]
