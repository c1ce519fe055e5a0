"""``_stored_reads``: items of naively decoded documents are exactly ``from_document``'s.

The derived validators replace ``from_document`` (and ``student_from_record``) on the MongoDB
dialect's naive reads, so every item they give must be the one the reference gives: the same
class (the model's own), the same values, ``datetime.UTC`` itself on every field's
datetime, the same ``model_fields_set`` at every depth, extras untouched; and a damaged document
must be the same STORAGE_ERROR. Documents are generated with every optional field present,
absent or None, extras holding anything BSON does (datetimes at any depth), then damaged at
random, and go through BSON exactly as a naive read takes them (``NaiveReader.settled``).
"""

from __future__ import annotations

import math
import sys
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import bson
from bson.codec_options import CodecOptions
from bson.tz_util import utc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from docstore import PersistenceError
from docstore._mapping import METADATA, from_document
from docstore._models import CodeRevision, ExecutionResult, ProblemSpec, Session, StorageMetadata, StoredItem, Student
from docstore._mongo._naive_reads import NaiveReader
from docstore._naive_times import naive_times_suffice
from docstore._stored_reads import _READERS, _named_afresh, _reader, naive_items, naive_students
from docstore._students import student_from_record
from docstore._time import to_utc_ms

NAIVE: CodecOptions[dict[str, Any]] = CodecOptions(tz_aware=False)
AWARE: CodecOptions[dict[str, Any]] = CodecOptions(tz_aware=True, tzinfo=utc)

text = st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=4)
keys = st.text(alphabet="abxyz_", min_size=1, max_size=3)
times = st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59)).map(
    lambda value: value.replace(microsecond=value.microsecond // 1000 * 1000)
)
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**63), 2**63 - 1), st.floats(), text, times, st.binary(max_size=2)
)
free = st.recursive(scalars, lambda inner: st.lists(inner, max_size=2) | st.dictionaries(keys, inner, max_size=2))
extras = st.dictionaries(keys, free, max_size=2)

metadata = st.fixed_dictionaries(
    {"created_at": times, "updated_at": times},
    optional={"version": st.integers(1, 5), "created_by": st.none() | text, "modified_by": st.none() | text},
)
problem_fields = {
    "description": text,
    "starter_code": text,
    "solution": st.none() | text,
    "difficulty": st.sampled_from([None, "beginner", "intermediate", "advanced"]),
    "tags": st.lists(text, max_size=2),
    "created_at": times,
    "created_by": st.none() | text,
    "namespace_id": text,
    "extra": extras,
}
problems = st.fixed_dictionaries(
    {"_id": st.text(min_size=1, max_size=4), "title": text, METADATA: metadata}, optional=problem_fields
)
nested_problems = st.fixed_dictionaries(
    {"id": st.text(min_size=1, max_size=4), "title": text}, optional={**problem_fields, "metadata": metadata}
)
sessions = st.fixed_dictionaries(
    {"_id": st.text(min_size=1, max_size=4), METADATA: metadata},
    optional={
        "join_code": st.none() | st.sampled_from(["ABC", " abc ", "\uff26\uff35\uff2c\uff2c"]),
        "problem_text": text,
        "problem": st.none() | nested_problems,
        "featured_student_id": st.none() | text,
        "featured_code": st.none() | text,
        "instructor_id": st.none() | text,
        "namespace_id": text,
        "active": st.booleans(),
        "created_at": times,
        "last_activity": times,
        "ended_at": st.none() | times,
        "extra": extras,
    },
)
results = st.fixed_dictionaries(
    {"success": st.booleans()},
    optional={"output": text, "error": text, "execution_time_ms": st.none() | st.floats(), "extra": extras},
)
revisions = st.fixed_dictionaries(
    {"_id": st.text(min_size=1, max_size=4), "session_id": text, "student_id": text, "code": text, METADATA: metadata},
    optional={"timestamp": times, "execution_result": st.none() | results, "namespace_id": text, "extra": extras},
)
records = st.fixed_dictionaries(
    {"_id": text, "student_id": st.text(min_size=1, max_size=4)},
    optional={"name": text, "code": text, "last_update": st.none() | times, "extra": extras},
)
# A damage: a key (of a field, of bookkeeping, or unknown) set to any value or deleted, at the top
# or inside a nested document.
DAMAGED_KEYS = [
    *("_id", "id", METADATA, "metadata", "title", "tags", "created_at", "updated_at", "version"),
    *("last_update", "student_id", "problem", "join_code", "extra", "students", "unknown"),
    *("timestamp", "execution_result", "success", "execution_time_ms", "session_id", "code"),
]
damages = st.lists(
    st.tuples(
        st.sampled_from(["", METADATA, "problem"]), st.sampled_from(DAMAGED_KEYS), st.none() | free, st.booleans()
    ),
    max_size=2,
)


def damaged(document: dict[str, Any], changes: list[tuple[str, str, Any, bool]]) -> dict[str, Any]:
    for where, key, value, delete in changes:
        target = document.get(where) if where else document
        if isinstance(target, dict):
            if delete and (where, key) == ("problem", "id"):
                continue  # a session's problem without an id gets a new one (``new_id``): each read its own
            if delete:
                target.pop(key, None)
            else:
                target[key] = value
    return document


def read_naive(model: type[StoredItem] | None, documents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The documents as the dialect's naive read hands them over (BSON, naive, some made again aware)."""
    rows = [bson.decode(bson.encode(document), NAIVE) for document in documents]
    if model is None:  # student records: naive unless ``extra`` holds something
        return NaiveReader(None, AWARE).settled(rows, lambda record: not record.get("extra"))
    return NaiveReader(None, AWARE).settled(rows, lambda row: naive_times_suffice(model, row))


# A field left out of a document takes its default: ``utc_now()`` for a creation time, read at each
# side's own moment. Two such values are alike when both fall within the two reads.
_window: list[datetime] = []


def outcome(read: Callable[[], list[Any]]) -> tuple[str, Any]:
    try:
        return "items", read()
    except PersistenceError as error:
        return "refused", (error.code, error.message)


def _both_now(got: Any, expected: Any) -> bool:
    if type(got) is not datetime or type(expected) is not datetime or expected.tzinfo is not UTC:
        return False
    start, end = _window
    return got.tzinfo is UTC and start <= got <= end and start <= expected <= end


def assert_same(got: Any, expected: Any) -> None:
    assert type(got) is type(expected), (got, expected)
    if isinstance(expected, BaseModel):
        assert got.model_fields_set == expected.model_fields_set
        assert got.__pydantic_extra__ == expected.__pydantic_extra__
        assert got.__pydantic_private__ == expected.__pydantic_private__
        assert list(got.__dict__) == list(expected.__dict__)
        for name, value in expected.__dict__.items():
            assert_same(got.__dict__[name], value)
    elif isinstance(expected, dict):
        assert list(got) == list(expected)
        for key, value in expected.items():
            assert_same(got[key], value)
    elif isinstance(expected, list):
        assert len(got) == len(expected)
        for left, right in zip(got, expected, strict=True):
            assert_same(left, right)
    elif isinstance(expected, float) and math.isnan(expected):
        assert math.isnan(got)
    elif not _both_now(got, expected):
        assert got == expected and repr(got) == repr(expected)
        if isinstance(expected, datetime):
            assert got.tzinfo is expected.tzinfo and got.fold == expected.fold


def assert_reads_alike(derived: Callable[[], list[Any]], reference: Callable[[], list[Any]]) -> None:
    """The derived road's outcome is the reference's: the same items, or the same refusal."""
    start = datetime.now(UTC)
    expected = outcome(reference)
    got = outcome(derived)
    _window[:] = [start.replace(microsecond=start.microsecond // 1000 * 1000), datetime.now(UTC)]
    assert got[0] == expected[0], (got, expected)
    if expected[0] == "refused":
        assert got == expected
    else:
        assert_same(got[1], expected[1])


SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def assert_items_read_alike(model: type[StoredItem], generated: list[tuple[dict[str, Any], Any]]) -> None:
    """The generated documents, damaged and read naive: ``naive_items`` as ``from_document``."""
    rows = read_naive(model, [damaged(document, changes) for document, changes in generated])
    assert_reads_alike(lambda: naive_items(model, rows), lambda: [from_document(model, row) for row in rows])


@SETTINGS
@given(st.lists(st.tuples(problems, damages), min_size=1, max_size=4))
def test_a_page_of_problems_reads_as_from_document_gives_it(generated: list[tuple[dict[str, Any], Any]]) -> None:
    assert_items_read_alike(ProblemSpec, generated)


@SETTINGS
@given(st.lists(st.tuples(sessions, damages), min_size=1, max_size=3))
def test_sessions_read_as_from_document_gives_them(generated: list[tuple[dict[str, Any], Any]]) -> None:
    assert_items_read_alike(Session, generated)


@SETTINGS
@given(st.lists(st.tuples(revisions, damages), min_size=1, max_size=4))
def test_an_overview_reads_as_from_document_gives_it(generated: list[tuple[dict[str, Any], Any]]) -> None:
    """``from_document`` checks a plain revision by hand (``_plain``): the derived road gives the same."""
    assert_items_read_alike(CodeRevision, generated)


@SETTINGS
@given(st.lists(st.tuples(records, damages), min_size=1, max_size=4))
def test_a_class_reads_as_student_from_record_gives_it(generated: list[tuple[dict[str, Any], Any]]) -> None:
    rows = read_naive(None, [damaged(document, changes) for document, changes in generated])
    assert_reads_alike(lambda: naive_students(rows), lambda: [student_from_record(row) for row in rows])


def test_a_session_of_the_earlier_layout_keeps_its_students_unescaped() -> None:
    """Students inside a session document sit under escaped keys: ``from_document``'s road reads them."""
    student: dict[str, Any] = {"id": "a.b", "name": "N", "code": "", "last_update": None, "extra": {}}
    document = {"_id": "s1", METADATA: {"created_at": datetime(2026, 1, 2), "updated_at": datetime(2026, 1, 3)}}
    rows = read_naive(Session, [{**document, "students": {"a%2Eb": student}}])
    [session] = naive_items(Session, rows)
    assert list(session.students) == ["a.b"]
    # Through assert_reads_alike: the document leaves times to their defaults (now), which the
    # two roads take a moment apart; the window it sets is the one they may differ within.
    assert_reads_alike(lambda: naive_items(Session, rows), lambda: [from_document(Session, rows[0])])


def test_a_page_read_naive_calls_no_python_for_its_datetimes() -> None:
    """The point of the derived validators: no ``to_utc_ms`` call from pydantic's core (three a
    problem, half of its validation), the datetimes made UTC by arithmetic after, each exactly
    ``datetime.UTC``."""
    when = datetime(2026, 1, 2, 3, 4, 5, 6000)
    meta = {"created_at": when, "updated_at": when, "version": 1, "created_by": None, "modified_by": None}
    documents = [{"_id": f"p{n}", "title": "T", "tags": ["t"], "created_at": when, METADATA: meta} for n in range(5)]
    rows = read_naive(ProblemSpec, documents)
    calls: list[str] = []

    def profile(frame: Any, event: str, arg: Any) -> None:
        if event == "call" and frame.f_code is to_utc_ms.__code__:
            calls.append(event)

    sys.setprofile(profile)
    try:
        items = naive_items(ProblemSpec, rows)
    finally:
        sys.setprofile(None)
    assert calls == []
    assert [type(item) for item in items] == [ProblemSpec] * 5
    assert all(item.created_at == when.replace(tzinfo=UTC) and item.created_at.tzinfo is UTC for item in items)
    assert all(item.metadata is not None and item.metadata.updated_at.tzinfo is UTC for item in items)
    assert_same(items, [from_document(ProblemSpec, row) for row in rows])


def test_deriving_leaves_every_model_flagged_as_it_was() -> None:
    """The derived validators are built with the models they change flagged incomplete
    (``_named_afresh``): each flag is put back, by derivations racing in eight threads too,
    and a flag a class did not hold itself is not left on it."""
    models = [ProblemSpec, StorageMetadata, Session, Student, CodeRevision, ExecutionResult]
    before = {model: model.__dict__.get("__pydantic_complete__", "absent") for model in models}
    saved = dict(_READERS)
    _READERS.clear()
    try:
        start = threading.Barrier(8)

        def derive() -> None:
            start.wait()
            for model in (ProblemSpec, Session, CodeRevision):
                assert _reader(model, "item") is not None
            assert _reader(Student, "record") is not None

        threads = [threading.Thread(target=derive) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        _READERS.update(saved)
    assert {model: model.__dict__.get("__pydantic_complete__", "absent") for model in models} == before

    class Plain(BaseModel):
        value: int = 0

    del Plain.__pydantic_complete__  # inherited from BaseModel from now on
    with _named_afresh([Plain, Plain]):
        assert Plain.__dict__["__pydantic_complete__"] is False
    assert "__pydantic_complete__" not in Plain.__dict__


def previous_rule(model: type[StoredItem], raw: Mapping[str, Any]) -> bool:
    """``naive_times_suffice`` as written before its None short cuts."""
    if raw.get("extra"):
        return False
    if model is CodeRevision:
        result = raw.get("execution_result")
        return not (isinstance(result, Mapping) and result.get("extra"))
    if model is ProblemSpec:
        return True
    if model is Session:
        problem = raw.get("problem")
        if isinstance(problem, Mapping) and problem.get("extra"):
            return False
        students = raw.get("students")
        return not isinstance(students, Mapping) or not any(
            isinstance(student, Mapping) and student.get("extra") for student in students.values()
        )
    return False


@SETTINGS
@given(
    st.sampled_from([ProblemSpec, Session, CodeRevision, Student]),
    st.one_of(problems, sessions, revisions, records),
    damages,
)
def test_whether_naive_times_suffice_is_answered_as_before(
    model: type[StoredItem], document: dict[str, Any], changes: Any
) -> None:
    document = damaged(document, changes)
    assert naive_times_suffice(model, document) is previous_rule(model, document)
