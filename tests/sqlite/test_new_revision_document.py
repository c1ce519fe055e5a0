"""local:// builds a new revision's document in one step: exactly what stamping a copy and mapping it gave."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from docstore import CodeRevision, ErrorCode, ExecutionResult, PersistenceError, _backend_common
from docstore._mapping import to_document
from docstore._sqlite import _revisions
from docstore._sqlite._database import Database
from docstore._sqlite._revisions import SqliteRevisionRepository
from docstore._time import to_utc_ms

NOW = datetime(2026, 5, 6, 7, 8, 9, 10000, tzinfo=UTC)

REVISIONS = [
    CodeRevision(session_id="s", student_id="a", code="x = 1"),
    CodeRevision(
        session_id="s",
        student_id="b@x.org",
        code="print()",
        namespace_id="other",
        execution_result=ExecutionResult(success=False, error="E", execution_time_ms=2.5, extra={"k": [1]}),
        extra={"legacy": {"n": 1}},
    ),
]


@pytest.mark.parametrize("revision", REVISIONS)
@pytest.mark.parametrize(("namespace", "actor"), [(None, None), ("course", "teacher@x.org")])
def test_the_document_is_the_one_the_stamped_copy_mapped_to(
    revision: CodeRevision, namespace: str | None, actor: str | None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(_backend_common, "utc_now", lambda: NOW)
    monkeypatch.setattr(_revisions, "utc_now", lambda: NOW)
    repository = SqliteRevisionRepository(Database(tmp_path / "unused.sqlite3"), namespace, actor)
    made: dict[str, Any] = repository._new_row(revision)[0]
    expected = to_document(repository._prepared(revision))
    assert made == expected
    assert list(made) == list(expected)
    assert list(made["_metadata"]) == list(expected["_metadata"])


def test_a_revision_changed_by_assignment_is_refused_the_same_way(tmp_path: Path) -> None:
    revision = CodeRevision(session_id="s", student_id="a", code="x")
    revision.code = 5  # type: ignore[assignment]  # pydantic does not validate assignment
    repository = SqliteRevisionRepository(Database(tmp_path / "unused.sqlite3"), None, None)
    with pytest.raises(PersistenceError) as new:
        repository._new_row(revision)[0]
    with pytest.raises(PersistenceError) as old:
        repository._prepared(revision)
    assert new.value.code is old.value.code is ErrorCode.INVALID_DATA
    assert new.value.message == old.value.message


@given(st.datetimes(timezones=st.just(UTC)))
def test_a_save_truncates_its_time_as_to_utc_ms_does(moment: datetime) -> None:
    truncated = _revisions.to_ms(moment)
    assert truncated == to_utc_ms(moment)
    assert truncated.tzinfo is UTC and truncated.fold == 0 and truncated.microsecond % 1000 == 0


def test_a_save_stamps_the_time_now_in_milliseconds() -> None:
    before = to_utc_ms(datetime.now(UTC))
    stamped = _revisions.utc_now()
    assert before <= stamped <= datetime.now(UTC)
    assert stamped.tzinfo is UTC and stamped.microsecond % 1000 == 0
