"""``_mapping.read_back`` calls the model's built validator itself: the same item, the same refusal."""

from __future__ import annotations

from datetime import UTC, datetime

import bson.tz_util
import pytest

from docstore import ErrorCode, PersistenceError
from docstore._mapping import from_document, read_back
from docstore._models import ProblemSpec, Student

STORED = {
    "_id": "p1",
    "title": "T",
    "tags": ["a"],
    "created_at": datetime(2026, 1, 2, 3, 4, 5, 6000, tzinfo=bson.tz_util.utc),
    "_metadata": {
        "created_at": datetime(2026, 1, 2, tzinfo=bson.tz_util.utc),
        "updated_at": datetime(2026, 1, 3),
        "version": 2,
    },
}


def test_read_back_gives_what_model_validate_gives() -> None:
    data = {"id": "s1", "name": "N", "last_update": datetime(2026, 1, 2, 3, 4, 5, 6789, tzinfo=bson.tz_util.utc)}
    student = read_back(Student, data, "student record", "x/s1")
    assert student == Student.model_validate(data)
    assert student.model_fields_set == Student.model_validate(data).model_fields_set
    assert student.last_update is not None and student.last_update.tzinfo is UTC
    assert student.last_update.microsecond == 6000
    problem = from_document(ProblemSpec, STORED)
    assert problem.created_at == datetime(2026, 1, 2, 3, 4, 5, 6000, tzinfo=UTC)
    assert problem.metadata is not None and problem.metadata.updated_at.tzinfo is UTC


def test_a_damaged_document_is_a_storage_error_naming_it() -> None:
    with pytest.raises(PersistenceError) as caught:
        from_document(ProblemSpec, {**STORED, "tags": "not a list"})
    assert caught.value.code is ErrorCode.STORAGE_ERROR
    assert caught.value.message.startswith("stored ProblemSpec 'p1' is damaged: tags: ")
    with pytest.raises(PersistenceError) as caught:
        read_back(Student, {"id": "", "name": "N"}, "student record", "x/")
    assert caught.value.code is ErrorCode.STORAGE_ERROR
    assert caught.value.message.startswith("stored student record 'x/' is damaged: id: ")
