"""Revisions read from rows: every read verifies, and a row read again gives what validation gives.

``RevisionRows`` remembers, by content, what a plainly valid revision's validation gave, and
builds fresh instances from it when the same bytes come back. These tests hold every
read, first or again, to what the full path (checksum, BSON, ``from_document``) makes of
the same bytes, over generated documents valid and damaged; and a remembered row to the
same checks as a new one (damage is still STORAGE_ERROR naming the item).
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import bson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from docstore import CodeRevision, ErrorCode, PersistenceError, open_store
from docstore._mapping import from_document
from docstore._naive_times import naive_times_suffice
from docstore._sqlite import _revision_rows
from docstore._sqlite._codec import checksum, decode
from docstore._sqlite._revision_rows import RevisionRows

from ..unit.test_plain_revision import PATHS, VALUES, changed_document, same, stored

WHERE = "a revisions document in test"


def row(document: dict[str, Any]) -> tuple[bytes, bytes]:
    blob = bson.encode(document)
    return blob, checksum(blob)


def full_path(blob: bytes, digest: bytes) -> CodeRevision | PersistenceError:
    """What a read made of a row before ``RevisionRows`` (``_items``): verify, decode, validate."""
    try:
        document = decode(blob, digest, WHERE, aware=False)
        if not naive_times_suffice(CodeRevision, document):
            document = decode(blob, digest, WHERE)
        return from_document(CodeRevision, document)
    except PersistenceError as exc:
        return exc


def shares_nothing_mutable(left: CodeRevision, right: CodeRevision) -> None:
    assert left is not right
    assert left.model_fields_set is not right.model_fields_set
    if left.metadata is not None:
        assert right.metadata is not None and left.metadata is not right.metadata
        assert left.metadata.model_fields_set is not right.metadata.model_fields_set
    assert left.extra is not right.extra
    if left.execution_result is not None:
        assert right.execution_result is not None
        assert left.execution_result is not right.execution_result
        assert left.execution_result.extra is not right.execution_result.extra
        assert left.execution_result.model_fields_set is not right.execution_result.model_fields_set


@settings(max_examples=300, deadline=None)
@given(
    changes=st.lists(st.tuples(st.sampled_from(PATHS), VALUES, st.booleans()), max_size=3),
    with_result=st.booleans(),
)
def test_a_row_read_once_or_again_is_what_the_full_path_makes(
    changes: list[tuple[tuple[str, ...], Any, bool]], with_result: bool
) -> None:
    raw = changed_document(changes, with_result)
    if "timestamp" not in raw:
        return  # validation fills it with the time of the read: two reads never agree
    try:
        blob, digest = row(raw)
    except (bson.errors.BSONError, OverflowError, ValueError):
        return  # not even BSON: no row holds it
    expected = full_path(blob, digest)
    rows = RevisionRows()
    for _ in range(3):  # the first read validates; the next ones may be remembered
        try:
            made: CodeRevision | PersistenceError = rows.revisions([(blob, digest)], WHERE)[0]
        except PersistenceError as exc:
            made = exc
        if isinstance(expected, PersistenceError):
            assert isinstance(made, PersistenceError) and made.code is ErrorCode.STORAGE_ERROR
            assert str(made) == str(expected)
        else:
            assert isinstance(made, CodeRevision), made
            same(made, expected)
            shares_nothing_mutable(made, expected)
            expected = made


def test_a_remembered_row_still_has_its_checksum_verified() -> None:
    blob, digest = row(stored())
    rows = RevisionRows()
    first = rows.revisions([(blob, digest)], WHERE)[0]
    damaged = bytearray(blob)
    damaged[blob.index(b"print")] ^= 0x01
    for bad in [(bytes(damaged), digest), (blob, bytes(16)), (blob.decode("latin-1"), digest)]:
        with pytest.raises(PersistenceError) as caught:
            rows.revisions([bad], WHERE)  # type: ignore[list-item]
        assert caught.value.code is ErrorCode.STORAGE_ERROR and WHERE in str(caught.value)
    again = rows.revisions([(blob, digest)], WHERE)[0]
    same(again, first)


def test_the_same_checksum_over_other_bytes_is_not_served_from_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    # A checksum that collides for every blob: only the comparison of the bytes tells them apart.
    monkeypatch.setattr(_revision_rows, "checksum", lambda blob: b"same")
    rows = RevisionRows()
    one, other = bson.encode(stored(code="one")), bson.encode(stored(code="other"))
    assert rows.revisions([(one, b"same")], WHERE)[0].code == "one"
    monkeypatch.setattr("docstore._sqlite._codec.checksum", lambda blob: b"same")
    assert rows.revisions([(other, b"same")], WHERE)[0].code == "other"


def test_a_caller_changing_a_revision_changes_no_later_read() -> None:
    document = stored(
        execution_result={"success": True, "output": "", "error": "", "execution_time_ms": None, "extra": {}}
    )
    blob, digest = row(document)
    rows = RevisionRows()
    first = rows.revisions([(blob, digest)], WHERE)[0]
    first.extra["mine"] = [1]
    first.code = "changed"
    assert first.metadata is not None and first.execution_result is not None
    first.metadata.version = 99
    first.execution_result.extra["mine"] = 1
    first.model_fields_set.discard("code")
    again = rows.revisions([(blob, digest)], WHERE)[0]
    same(again, from_document(CodeRevision, copy.deepcopy(decode(blob, digest, WHERE))))


def test_memory_is_bounded_in_entries_and_bytes() -> None:
    rows = RevisionRows(entries=10, size=64 * 1024)
    many = [row(stored(_id=f"{i:032x}")) for i in range(50)]
    for found, (blob, _) in zip(rows.revisions(many, WHERE), many, strict=True):
        assert found.id == bson.decode(blob)["_id"]
    assert len(rows._memo) == 10 and rows._held == sum(len(blob) for blob, _ in many[-10:])
    large = row(stored(code="x" * 2000))  # over size / 64: never held
    assert rows.revisions([large], WHERE)[0].code == "x" * 2000
    assert large[1] not in rows._memo
    rows.clear()
    assert not rows._memo and rows._held == 0


async def test_a_store_read_twice_reads_the_same_revisions(tmp_path: Path) -> None:
    async with open_store(f"local://{tmp_path}") as store:
        for i in range(40):
            await store.revisions.save_revision(CodeRevision(session_id="s", student_id=f"u{i % 4}", code=str(i)))
        first = await store.revisions.get_revisions("s", "u1")
        again = await store.revisions.get_revisions("s", "u1")
        assert [r.code for r in again] == [str(i) for i in range(1, 40, 4)]
        for left, right in zip(first, again, strict=True):
            same(left, right)
            shares_nothing_mutable(left, right)
        overview = await store.revisions.get_latest_revisions("s")
        assert {student: r.code for student, r in overview.items()} == {f"u{i}": str(36 + i) for i in range(4)}


def test_a_datetime_in_free_form_values_is_read_as_the_full_path_reads_it() -> None:
    # Finding 1 of the attack pass: a plainly valid row with a datetime in ``extra`` (or the
    # result's) was built from the naive decoding, so it came back naive where the full path
    # (and get_revision) gives it aware UTC.
    when = datetime(2020, 1, 2, 3, 4, 5, 6000, tzinfo=UTC)
    result = {"success": True, "output": "", "error": "", "execution_time_ms": None, "extra": {"at": [when]}}
    for document in (stored(extra={"when": when}), stored(execution_result=result)):
        blob, digest = row(document)
        expected = full_path(blob, digest)
        assert isinstance(expected, CodeRevision)
        rows = RevisionRows()
        for _ in range(2):
            same(rows.revisions([(blob, digest)], WHERE)[0], expected)
        found = rows.revisions([(blob, digest)], WHERE)[0]
        value = found.extra["when"] if found.extra else found.execution_result.extra["at"][0]  # type: ignore[union-attr]
        assert value == when and value.tzinfo is not None
