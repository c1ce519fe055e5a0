"""The upsert planner (``docstore._upsert_plan``), pure: given a batch and the digests stored
under its ids, what every engine inserts, replaces, leaves alone or refuses, and why."""

from __future__ import annotations

from typing import Any

import pytest

from docstore import ErrorCode, PersistenceError
from docstore._interfaces import BatchResult
from docstore._upsert_plan import UpsertPlan, batch_of, check_batch, plan_upsert


def plan(documents: list[Any], stored: dict[str, object], collection: str = "notes") -> UpsertPlan:
    checked, refused = check_batch(collection, documents)
    # The digest of a test: the encoding itself (equal documents, equal digests).
    return plan_upsert(checked, refused, stored, bytes)


def actions(made: UpsertPlan) -> list[tuple[int, str, int | None]]:
    return [(step.position, step.action, step.follows) for step in made.steps]


def digest_of(document: dict[str, Any]) -> object:
    return plan([document], {}).steps[0].digest


def test_new_ids_are_inserted_stored_ones_replaced_or_left_alone() -> None:
    same, other = {"_id": "same", "n": 1}, {"_id": "other", "n": 1}
    made = plan([{"_id": "new"}, same, other], {"same": digest_of(same), "other": digest_of({"_id": "other"})})
    assert actions(made) == [(0, "insert", None), (1, "unchanged", None), (2, "replace", None)]
    assert [step.position for step in made.writes] == [0, 2]
    assert made.result() == BatchResult(inserted=1, updated=1, unchanged=1)


def test_a_stored_document_without_a_digest_is_replaced() -> None:
    assert actions(plan([{"_id": "a"}], {"a": None})) == [(0, "replace", None)]


def test_refusals_keep_their_positions_and_the_shared_messages() -> None:
    made = plan([None, {"_id": "a"}, {"_id": 3}, {"_id": "b", "k.x": 1}], {})
    assert made.refused == [
        (0, "a document must be a dict, not NoneType"),
        (2, "_id must be a non-empty string, not int"),
        (3, "key 'k.x' at top level may not start with '$' or contain '.'"),
    ]
    assert made.result() == BatchResult(inserted=1, failed=made.refused)


def test_a_session_is_planned_in_its_stored_form_and_refused_with_students() -> None:
    made = plan(
        [{"_id": "s", "join_code": "ab12\u200b "}, {"_id": "t", "students": {}}, {"_id": "u", "students": {}}],
        {},
        collection="sessions",
    )
    assert made.steps[0].document == {"_id": "s", "join_code": "AB12"}
    reason = "students live in session_students; convert with docstore restore/import"
    assert made.refused == [(1, reason), (2, reason)]
    # Elsewhere a "students" key is a document's own business.
    assert plan([{"_id": "t", "students": {}}], {}).refused == []


def test_a_repeated_id_is_planned_against_the_copy_before_it() -> None:
    made = plan([{"_id": "a"}, {"_id": "a"}, {"_id": "a", "n": 2}, {"_id": "a", "n": 2}, {"_id": "a"}], {})
    assert actions(made) == [
        (0, "insert", None),
        (1, "unchanged", 0),
        (2, "replace", 0),
        (3, "unchanged", 2),
        (4, "replace", 2),
    ]
    assert [[step.position for step in steps] for steps in made.rounds] == [[0], [2], [4]]
    assert made.result() == BatchResult(inserted=1, updated=2, unchanged=2)


def test_a_batch_without_repeated_ids_is_one_round() -> None:
    made = plan([{"_id": str(i)} for i in range(5)], {"3": b""})
    assert [[step.position for step in steps] for steps in made.rounds] == [[0, 1, 2, 3, 4]]


def test_copies_that_follow_a_failed_write_are_neither_written_nor_counted() -> None:
    made = plan([{"_id": "a"}, {"_id": "a"}, {"_id": "a", "n": 2}, {"_id": "b"}, {"_id": "a", "n": 3}], {})
    failed: dict[int, str] = {}
    written = []
    for step in made.runnable(made.writes, failed):
        written.append(step.position)
        if step.position == 0:
            failed[0] = "duplicate key"
    assert written == [0, 3]  # 2 and 4 follow the failed insert of "a"
    result = made.result(failed)
    assert [position for position, _ in result.failed] == [0, 1, 2, 4]
    assert result.failed[0] == (0, "duplicate key")
    assert result.failed[1] == (1, "an earlier copy of this _id (position 0) was not written: duplicate key")
    assert "(position 2)" in result.failed[3][1]
    assert (result.inserted, result.updated, result.unchanged) == (1, 0, 0)


@pytest.mark.parametrize("documents", ["ab", b"ab", bytearray(b"ab"), {"_id": "x"}, 5, (d for d in [{"_id": "x"}])])
def test_something_not_a_sequence_is_invalid_data_for_the_whole_call(documents: Any) -> None:
    with pytest.raises(PersistenceError) as caught:
        batch_of(documents)
    assert caught.value.code is ErrorCode.INVALID_DATA
    assert caught.value.message.startswith("documents must be a sequence of dicts, not ")
