"""A saved revision's document is the same whether pydantic or the hand-written checks validated it.

``plain_new_body`` takes a caller's revision that validation would give back unchanged
(one dump, checked by hand) and steps aside for anything else. These tests hold the
whole new document of a save (and its BSON), or the error refusing it, to what the
full path (``revalidated``, a second dump, ``check_document``) makes of the same revision,
over generated revisions whose fields were assigned anything (pydantic does not
validate assignment).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from docstore import CodeRevision, ExecutionResult, PersistenceError
from docstore._models import StorageMetadata
from docstore._plain import plain_new_body
from docstore._sqlite import _revisions
from docstore._sqlite._revisions import SqliteRevisionRepository

from .test_plain_revision import VALUES

NOW = datetime(2026, 5, 6, 7, 8, 9, 10000, tzinfo=UTC)
FIELDS = ["id", "session_id", "student_id", "code", "timestamp", "execution_result", "namespace_id", "extra"]
FIELDS.append("metadata")
RESULT_FIELDS = ["success", "output", "error", "execution_time_ms", "extra"]
SPECIAL = st.one_of(
    VALUES,
    st.just(float("nan")),
    st.just(float("inf")),
    st.just(NOW.replace(tzinfo=None)),
    st.just(NOW.astimezone(timezone(timedelta(hours=3)))),
    st.just(NOW.replace(microsecond=123456)),
    st.just({"$bad": 1}),
    st.just({"a.b": 1}),
    st.just({"when": NOW.replace(tzinfo=None)}),
    st.just({"n": 2**70}),
    st.just("\ud800"),
    st.just(StorageMetadata(created_at=NOW, updated_at=NOW)),
)


def document_of(
    revision: object, namespace: str | None, *, plain: bool, monkeypatch: pytest.MonkeyPatch
) -> tuple[dict[str, Any], bytes] | str:
    monkeypatch.setattr(_revisions, "utc_now", lambda: NOW)
    if not plain:
        monkeypatch.setattr(_revisions, "plain_new_body", lambda revision: None)
    repository = SqliteRevisionRepository(None, namespace, "actor")  # type: ignore[arg-type]  # no database used
    try:
        return repository._new_row(revision)
    except PersistenceError as exc:
        return f"{exc.code}: {exc}"
    finally:
        monkeypatch.undo()


def same_values(left: Any, right: Any) -> None:
    assert type(left) is type(right), (left, right)
    if isinstance(left, dict):
        assert list(left) == list(right)
        for key in left:
            same_values(left[key], right[key])
    elif isinstance(left, list):
        assert len(left) == len(right)
        for one, other in zip(left, right, strict=True):
            same_values(one, other)
    elif isinstance(left, float) and math.isnan(left):
        assert math.isnan(right)
    else:
        assert left == right
        if isinstance(left, datetime):
            assert left.tzinfo is right.tzinfo


def check_same(revision: object, namespace: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    full = document_of(revision, namespace, plain=False, monkeypatch=monkeypatch)
    fast = document_of(revision, namespace, plain=True, monkeypatch=monkeypatch)
    if isinstance(full, str):
        assert fast == full
        return
    assert not isinstance(fast, str), (fast, full)
    same_values(fast[0], full[0])
    assert fast[1] == full[1]


def test_a_plain_revision_takes_the_hand_written_path() -> None:
    revision = CodeRevision(session_id="s", student_id="a", code="x")
    assert plain_new_body(revision) is not None
    revision.code = 5  # type: ignore[assignment]
    assert plain_new_body(revision) is None


@settings(max_examples=400, deadline=None)
@given(
    changes=st.lists(st.tuples(st.sampled_from(FIELDS), SPECIAL), max_size=3),
    result_changes=st.lists(st.tuples(st.sampled_from(RESULT_FIELDS), SPECIAL), max_size=2),
    with_result=st.booleans(),
    with_extra=st.booleans(),
    namespace=st.sampled_from([None, "ns"]),
)
def test_the_new_document_is_the_full_path_s(
    changes: list[tuple[str, Any]],
    result_changes: list[tuple[str, Any]],
    with_result: bool,
    with_extra: bool,
    namespace: str | None,
) -> None:
    extra: dict[str, Any] = {"k": [1, "v"]} if with_extra else {}
    revision = CodeRevision(session_id="s", student_id="a", code="print(1)\n", extra=extra)
    if with_result:
        revision.execution_result = ExecutionResult(success=True, output="o", execution_time_ms=1.5)
        for name, value in result_changes:
            setattr(revision.execution_result, name, value)
    for name, value in changes:
        setattr(revision, name, value)  # no validation on assignment: anything goes in
    with pytest.MonkeyPatch.context() as monkeypatch:
        check_same(revision, namespace, monkeypatch)


def assigned(revision: CodeRevision, **values: Any) -> CodeRevision:
    for name, value in values.items():
        target: Any = revision.execution_result if name == "execution_time_ms" else revision
        setattr(target, name, value)
    return revision


def plain(**values: Any) -> CodeRevision:
    return CodeRevision(**{"session_id": "s", "student_id": "a", "code": "x", **values})


STAMPED = StorageMetadata(created_at=NOW, updated_at=NOW)
TIMED = ExecutionResult(success=True, execution_time_ms=1.0)


@pytest.mark.parametrize(
    "revision",
    [
        plain(),
        plain(metadata=STAMPED),
        plain(execution_result=ExecutionResult(success=False)),
        plain(extra={"tool": {"when": NOW}}),
        plain(code="café ünïcode"),
        assigned(plain(), code="\ud800"),
        assigned(plain(), id="\ud800"),  # pydantic checks the id's text (the code's it does not)
        assigned(plain(), timestamp=NOW.replace(tzinfo=None)),
        assigned(plain(), timestamp=NOW.replace(microsecond=1)),
        assigned(plain(execution_result=TIMED.model_copy()), execution_time_ms=float("nan")),
        assigned(plain(execution_result=TIMED.model_copy()), execution_time_ms=float("inf")),
        "not a revision",
    ],
)
def test_common_revisions(revision: object, monkeypatch: pytest.MonkeyPatch) -> None:
    check_same(revision, None, monkeypatch)
    check_same(revision, "ns", monkeypatch)


SIMPLE_FIELDS = ["id", "session_id", "student_id", "code", "timestamp", "namespace_id"]


@settings(max_examples=400, deadline=None)
@given(
    changes=st.lists(st.tuples(st.sampled_from(SIMPLE_FIELDS), SPECIAL), max_size=3),
    namespace=st.sampled_from([None, "ns"]),
)
def test_the_usual_revision_read_from_its_fields_is_the_full_path_s(
    changes: list[tuple[str, Any]], namespace: str | None
) -> None:
    """The usual new revision (no result, no metadata, no extra) is checked from its fields as they are,
    without a dump: whatever they were assigned, the document (or the refusal) is the full path's."""
    revision = CodeRevision(session_id="s", student_id="a", code="print(1)\n")
    for name, value in changes:
        setattr(revision, name, value)
    with pytest.MonkeyPatch.context() as monkeypatch:
        check_same(revision, namespace, monkeypatch)


def test_the_usual_revision_is_checked_without_a_dump(monkeypatch: pytest.MonkeyPatch) -> None:
    revision = CodeRevision(session_id="s", student_id="a", code="x", namespace_id="ns")

    def no_dump(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("dumped")

    monkeypatch.setattr(CodeRevision, "model_dump", no_dump)
    found = plain_new_body(revision)
    assert found is not None
    item_id, body, left = found
    assert (item_id, left) == (revision.id, False)
    assert body == {
        "session_id": "s",
        "student_id": "a",
        "code": "x",
        "timestamp": revision.timestamp,
        "execution_result": None,
        "namespace_id": "ns",
        "extra": {},
    }
