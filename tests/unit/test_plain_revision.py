"""``plain_revision`` (revisions read without pydantic) gives exactly what pydantic gives, or steps aside.

It is a validation written by hand for speed: for every stored document it either returns
None (pydantic then decides) or the very instance pydantic would make. These tests hold it
to pydantic's answers over many documents, valid and damaged, and to the models' fields as
they are now (a field added or retyped there must be taught to it, or it must step aside).
"""

from __future__ import annotations

import copy
import typing
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import bson
import pytest
from bson.int64 import Int64
from bson.tz_util import utc as bson_utc
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from docstore import CodeRevision, ExecutionResult, ProblemSpec, Session
from docstore._mapping import METADATA, from_document
from docstore._models import StorageMetadata
from docstore._naive_times import naive_times_suffice
from docstore._plain import plain_revision

WHEN = datetime(2026, 3, 4, 5, 6, 7, 123000, tzinfo=UTC)


def stored(**changes: Any) -> dict[str, Any]:
    """A revision document as a repository writes it."""
    document: dict[str, Any] = {
        "_id": "0" * 31 + "1",
        "session_id": "session",
        "student_id": "ada@example.org",
        "code": "print('hi')\n",
        "timestamp": WHEN,
        "execution_result": None,
        "namespace_id": "default",
        "extra": {},
        METADATA: {"created_at": WHEN, "updated_at": WHEN, "version": 1, "created_by": None, "modified_by": None},
    }
    document.update(changes)
    return document


def meta(**changes: Any) -> dict[str, Any]:
    return {"created_at": WHEN, "updated_at": WHEN, "version": 1, "created_by": None, "modified_by": None, **changes}


def pydantic_answer(raw: dict[str, Any]) -> CodeRevision | None:
    """What ``from_document`` made of ``raw`` before the hand-written path: pydantic's own answer."""
    data = {name: raw[name] for name in CodeRevision.model_fields if name in raw}
    data["id"] = raw.get("_id")
    data["metadata"] = raw.get(METADATA)
    try:
        return CodeRevision.model_validate(data)
    except Exception:
        return None


def same(left: Any, right: Any) -> None:
    """Equal values, field sets, field order and value types, at every level."""
    assert left == right
    assert type(left) is type(right)
    assert left.model_fields_set == right.model_fields_set
    assert list(vars(left)) == list(vars(right))
    for name, value in vars(left).items():
        other = getattr(right, name)
        assert type(value) is type(other), name
        if isinstance(value, datetime):
            assert value.tzinfo is other.tzinfo, name
        if hasattr(value, "model_fields_set"):
            same(value, other)
    assert left.model_dump_json() == right.model_dump_json()


def test_the_models_are_those_the_hand_written_checks_know() -> None:
    known: dict[type[BaseModel], str] = {
        CodeRevision: "id:str metadata:StorageMetadata|None session_id:str student_id:str code:str "
        "timestamp:datetime execution_result:ExecutionResult|None namespace_id:str extra:dict[str,Any]",
        ExecutionResult: "success:bool output:str error:str execution_time_ms:float|None extra:dict[str,Any]",
        StorageMetadata: "created_at:datetime updated_at:datetime version:int created_by:str|None modified_by:str|None",
    }
    for model, fields in known.items():
        described = " ".join(f"{name}:{field.annotation}" for name, field in model.model_fields.items())
        for noise in ("<class '", "'>", "typing.", "docstore._models.", "datetime.", " | "):
            described = described.replace(noise, "|" if noise == " | " else "")
        assert described.replace(", ", ",") == fields, model
        assert model.model_config.get("extra") == "forbid"
        assert not model.__pydantic_decorators__.model_validators
        assert not model.__pydantic_decorators__.field_validators
        assert not model.__private_attributes__


@pytest.mark.parametrize(
    "raw",
    [
        stored(),
        stored(timestamp=WHEN.replace(tzinfo=None)),  # naive, as a naive BSON decode gives
        stored(timestamp=WHEN.replace(tzinfo=bson_utc)),  # mongomock's and PyMongo's UTC
        stored(timestamp=WHEN.replace(tzinfo=ZoneInfo("Europe/London"))),  # offset zero in March
        stored(  # three conversions in PyMongo's UTC: its epoch is met, then reused
            timestamp=WHEN.replace(tzinfo=bson_utc),
            _metadata=meta(
                created_at=(WHEN - timedelta(days=400)).replace(tzinfo=bson_utc),
                updated_at=(WHEN + timedelta(hours=1)).replace(tzinfo=bson_utc),
            ),
        ),
        stored(timestamp=WHEN.replace(tzinfo=ZoneInfo("Africa/Abidjan"))),  # offset zero in 1970 and now
        stored(execution_result={"success": True, "output": "hi", "error": "", "execution_time_ms": 1.5, "extra": {}}),
        stored(execution_result={"success": False, "output": "", "error": "E", "execution_time_ms": None, "extra": {}}),
        stored(extra={"tool": {"when": WHEN, "n": [1, 2]}}),
        stored(_metadata=meta(updated_at=WHEN + timedelta(seconds=1), version=7, created_by="t", modified_by="u")),
    ],
)
def test_a_plain_revision_is_the_instance_pydantic_makes(raw: dict[str, Any]) -> None:
    expected = pydantic_answer(copy.deepcopy(raw))
    made = plain_revision(copy.deepcopy(raw))
    assert expected is not None and made is not None
    same(made, expected)
    same(from_document(CodeRevision, raw), expected)


@pytest.mark.parametrize(
    "raw",
    [
        stored(_id=""),
        stored(code=5),
        stored(code=b"bytes"),  # pydantic would decode it; the hand-written path leaves it to pydantic
        stored(timestamp="2026-01-01T00:00:00Z"),
        stored(timestamp=WHEN.replace(microsecond=123456)),
        stored(timestamp=WHEN.astimezone(timezone(timedelta(hours=2)))),
        stored(timestamp=WHEN.replace(month=7, tzinfo=ZoneInfo("Europe/London"))),  # offset one hour
        stored(timestamp=WHEN.replace(tzinfo=bson_utc, fold=1)),
        stored(extra=[]),
        stored(extra={1: "x"}),
        stored(unknown="field"),
        stored(_metadata=None),
        stored(_metadata=meta(version=0)),
        stored(_metadata=meta(version=True)),
        stored(_metadata=meta(version=Int64(3))),
        stored(execution_result={"success": 1, "output": "", "error": "", "execution_time_ms": None, "extra": {}}),
        stored(execution_result={"success": True, "output": "", "error": "", "execution_time_ms": 3, "extra": {}}),
        stored(execution_result={"success": True}),
    ],
)
def test_anything_else_is_left_to_pydantic(raw: dict[str, Any]) -> None:
    assert plain_revision(raw) is None
    expected = pydantic_answer(copy.deepcopy(raw))
    if expected is not None:
        same(from_document(CodeRevision, raw), expected)


# Values of every kind a stored document (a tool's, through Store.documents) may hold.
VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.integers(min_value=-3, max_value=3).map(Int64),
    st.floats(allow_nan=False),
    st.text(max_size=5),
    st.binary(max_size=3),
    st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2100, 1, 1)),
    st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2100, 1, 1)).map(
        lambda value: value.replace(microsecond=value.microsecond // 1000 * 1000, tzinfo=UTC)
    ),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.lists(st.integers(), max_size=2),
)
PATHS = [
    ("_id",), ("session_id",), ("student_id",), ("code",), ("timestamp",), ("execution_result",),
    ("namespace_id",), ("extra",), (METADATA,), (METADATA, "created_at"), (METADATA, "updated_at"),
    (METADATA, "version"), (METADATA, "created_by"), (METADATA, "modified_by"),
    ("execution_result", "success"), ("execution_result", "output"), ("execution_result", "error"),
    ("execution_result", "execution_time_ms"), ("execution_result", "extra"),
]  # fmt: skip


def changed_document(changes: list[tuple[tuple[str, ...], Any, bool]], with_result: bool) -> dict[str, Any]:
    """A stored revision with ``changes`` applied: (path, value, remove) each, where the path still leads."""
    raw = stored()
    if with_result:
        raw["execution_result"] = {"success": True, "output": "o", "error": "", "execution_time_ms": 2.5, "extra": {}}
    for path, value, remove in changes:
        parent: Any = raw
        for step in path[:-1]:
            parent = parent.get(step) if isinstance(parent, dict) else None
        if isinstance(parent, dict):
            if remove:
                parent.pop(path[-1], None)
            else:
                parent[path[-1]] = value
    return raw


@settings(max_examples=400, deadline=None)
@given(
    changes=st.lists(st.tuples(st.sampled_from(PATHS), VALUES, st.booleans()), max_size=3),
    with_result=st.booleans(),
)
def test_whatever_the_document_the_answer_is_pydantic_s(
    changes: list[tuple[tuple[str, ...], Any, bool]], with_result: bool
) -> None:
    raw = changed_document(changes, with_result)
    expected = pydantic_answer(copy.deepcopy(raw))
    made = plain_revision(copy.deepcopy(raw))
    if made is not None:
        assert expected is not None, raw
        same(made, expected)
    if expected is None:
        assert made is None


def test_free_form_values_need_aware_datetimes() -> None:
    """A datetime in ``extra`` stays as decoded: only without one is a naive decode enough."""
    assert naive_times_suffice(CodeRevision, stored())
    assert not naive_times_suffice(CodeRevision, stored(extra={"when": WHEN}))
    result = {"success": True, "output": "", "error": "", "execution_time_ms": None, "extra": {"when": WHEN}}
    assert not naive_times_suffice(CodeRevision, stored(execution_result=result))
    assert naive_times_suffice(CodeRevision, stored(execution_result={**result, "extra": {}}))
    naive = bson.decode(bson.encode(stored()))
    assert naive["timestamp"].tzinfo is None  # what the naive decode gives; the model makes it aware
    assert from_document(CodeRevision, naive).timestamp == WHEN


def free_form_paths(model: type[BaseModel], prefix: str = "") -> set[str]:
    """Where a model holds values of any type (``Any``), at any depth: there a datetime stays as decoded."""
    found: set[str] = set()
    for name, field in model.model_fields.items():
        text = str(field.annotation)
        if "Any" in text:
            found.add(prefix + name)
        for inner in typing.get_args(field.annotation) or (field.annotation,):
            for candidate in typing.get_args(inner) or (inner,):
                if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                    found |= free_form_paths(candidate, f"{prefix}{name}.")
    return found


def test_naive_times_suffice_knows_every_free_form_field() -> None:
    """A field of type Any added to a model must be taught to ``naive_times_suffice``."""
    assert free_form_paths(CodeRevision) == {"extra", "execution_result.extra"}
    assert free_form_paths(ProblemSpec) == {"extra"}
    assert free_form_paths(Session) == {"extra", "problem.extra", "students.extra"}
    problem = {"extra": {}, "title": "t"}
    student = {"id": "a", "extra": {}}
    assert naive_times_suffice(ProblemSpec, {"extra": {}})
    assert not naive_times_suffice(ProblemSpec, {"extra": {"when": WHEN}})
    assert naive_times_suffice(Session, {"extra": {}, "problem": problem, "students": {"a": student}})
    assert not naive_times_suffice(Session, {"extra": {}, "problem": {**problem, "extra": {"w": WHEN}}})
    assert not naive_times_suffice(Session, {"extra": {}, "students": {"a": {**student, "extra": {"w": WHEN}}}})
