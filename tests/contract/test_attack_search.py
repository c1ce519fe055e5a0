"""``search_problems`` puts title hits first even when many problems mention the word.

Found by the attack pass: candidates were capped at 2000 in storage order before
ranking, so with 2100 problems mentioning "loops" in their description the one titled
"Loops" (saved last) was not returned at all.
"""

from __future__ import annotations

from docstore import ProblemSpec, Store


async def test_a_title_hit_beyond_the_candidate_cap_still_comes_first(store: Store) -> None:
    for index in range(2100):
        await store.problems.save_problem(ProblemSpec(title=f"exercise {index}", description="practice loops here"))
    await store.problems.save_problem(ProblemSpec(title="Loops", description="for and while"))
    found = await store.problems.search_problems("loops", limit=5)
    assert [problem.title for problem in found][:1] == ["Loops"]
    assert len(found) == 5
