"""Models built on first use (``docstore/_models_deferred.py``) answer as models built at import.

A fresh interpreter validates, dumps and describes every model as its first use; another
does the same with ``DEFER_BUILD`` turned off before docstore is imported (every model
built at import, as before): both print the same results, refusals and JSON schemas, and
a docstore call refused at a model's first use is the same ``PersistenceError``. Threads
validating one model for the first time at once each get its answer. ``StorageConfig``
made from a URL alone (no validator, ``_config.py``) equals the validated one.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from docstore import StorageConfig
from docstore._config import _masked
from docstore._models_deferred import DEFER_BUILD

from .helpers import fresh

_EAGER = "import docstore._models_deferred as deferred\ndeferred.DEFER_BUILD = False\n"

_FIRST_USES = """
import asyncio, json, sys, tempfile
from docstore import (
    CodeRevision, ExecutionResult, Page, PersistenceError, ProblemSpec, Session, SessionChange,
    StorageConfig, StorageMetadata, Student, open_store,
)
built_at_import = [model.__pydantic_complete__ for model in (CodeRevision, Session, StorageConfig)]

when = "2026-01-06T10:00:00.123456+02:00"
cases = [
    (CodeRevision, {"id": "r1", "session_id": "s", "student_id": "a", "code": "x", "timestamp": when,
                    "execution_result": {"success": True, "output": "1", "extra": {"k": [1]}}}),
    (CodeRevision, {"session_id": "s", "student_id": "a", "code": 5, "nope": 1}),
    (Session, {"id": "s1", "join_code": " ab12cd ", "created_at": when, "last_activity": when,
               "students": {"a": {"id": "a", "name": "A", "last_update": when}},
               "problem": {"id": "p", "title": "T", "created_at": when, "difficulty": "beginner"}}),
    (Session, {"id": "s2", "students": {"b": {"id": "a"}}, "created_at": when, "last_activity": when}),
    (ProblemSpec, {"id": "p1", "title": "T", "tags": ["a"], "difficulty": "hard", "created_at": when}),
    (Student, {"id": "", "extra": 1}),
    (ExecutionResult, {"success": "yes", "execution_time_ms": "1.5"}),
    (StorageMetadata, {"created_at": when, "updated_at": "not a time", "version": 0}),
    (SessionChange, {"position": "1", "kind": "student_changed", "session_id": "s",
                     "student": {"id": "a", "last_update": when}}),
    (SessionChange, {"position": "1", "kind": "nothing", "session_id": "s"}),
    (Page[CodeRevision], {"items": [{"id": "r", "session_id": "s", "student_id": "a", "code": "x",
                                     "timestamp": when}], "next_cursor": None}),
    (StorageConfig, {"url": "local://x", "cache_ttl_s": 1}),
    (StorageConfig, {"url": "ftp://user:secret@host", "max_pool_size": 0}),
]
out = []
for model, data in cases:
    try:
        item = model.model_validate(data)
    except Exception as exc:
        out.append(["refused", type(exc).__name__, [[e["type"], list(e["loc"]), e["msg"]] for e in exc.errors()]])
    else:
        out.append(["valid", type(item).__name__, item.model_dump(mode="json"), repr(item)])
out.append(Page([Student(id="a")], "c").model_dump(mode="json"))
out.append(StorageConfig(url="memory://").model_dump(mode="json"))

async def refused_call():
    async with open_store("local://" + tempfile.mkdtemp()) as store:
        try:
            await store.revisions.save_revision(CodeRevision.model_construct(session_id="s", student_id="a", code=5))
        except PersistenceError as error:
            return [error.code.value, error.message]
        return "accepted"

out.append(asyncio.run(refused_call()))
for model in (CodeRevision, Session, ProblemSpec, Student, SessionChange, Page[CodeRevision], StorageConfig):
    out.append(model.model_json_schema())
print(json.dumps({"built at import": built_at_import, "answers": out}, sort_keys=True))
"""

_THREADS = """
import json, threading
from docstore import CodeRevision, Session

barrier = threading.Barrier(8)
answers = []

def first_use(i):
    barrier.wait()
    revision = CodeRevision.model_validate({"id": f"r{i}", "session_id": "s", "student_id": "a", "code": str(i)})
    session = Session.model_validate({"id": f"s{i}", "students": {"a": {"id": "a"}}})
    answers.append([type(revision).__name__, revision.code, type(session).__name__, list(session.students)])

threads = [threading.Thread(target=first_use, args=(i,)) for i in range(8)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print(json.dumps(sorted(answers)))
"""


def test_a_first_use_answers_as_a_model_built_at_import() -> None:
    deferred, eager = fresh(_FIRST_USES), fresh(_EAGER + _FIRST_USES)
    assert isinstance(deferred, dict) and isinstance(eager, dict)
    assert eager["built at import"] == [True, True, True]
    assert deferred["built at import"] == [not DEFER_BUILD] * 3
    assert deferred["answers"] == eager["answers"]
    refused = deferred["answers"][-8]  # the refused call: a PersistenceError, not pydantic's error
    assert refused[0] == "INVALID_DATA", refused


@pytest.mark.skipif(not DEFER_BUILD, reason="pydantic < 2.14 builds every model at import (_models_deferred.py)")
def test_threads_validating_a_model_first_at_once_each_get_its_answer() -> None:
    answers = fresh(_THREADS)
    assert answers == sorted(["CodeRevision", str(i), "Session", ["a"]] for i in range(8))


def _described(exc: ValidationError) -> list[tuple[object, ...]]:
    return [(e["type"], e["loc"], e["msg"], e["input"]) for e in exc.errors()]


def _same_config(url: str) -> None:
    """``StorageConfig(url=url)`` is what validating ``{"url": url}`` makes, or refuses the same way."""
    try:
        expected = StorageConfig.model_validate({"url": url})
    except ValidationError as exc:
        with pytest.raises(ValidationError) as refused:
            StorageConfig(url=url)
        assert _described(refused.value) == _described(_masked(exc))
        return
    made = StorageConfig(url=url)
    assert made == expected
    assert list(made.__dict__.items()) == list(expected.__dict__.items())
    assert made.model_fields_set == expected.model_fields_set == {"url"}
    assert (made.__pydantic_extra__, made.__pydantic_private__) == (None, None)
    assert repr(made) == repr(expected)
    assert made.model_dump() == expected.model_dump()


URLS = [
    "local://x",
    "local://",
    "local://  ",
    "memory://",
    "mongodb://u:p@h/db",
    "mongodb://u:p@ss@h/db",
    "mongodb+srv://h",
    "https://token@host",
    "http://127.0.0.1:1",
    "ftp://u:secret@h",
    "",
    "LOCAL://x",
]


@pytest.mark.parametrize("url", URLS)
def test_a_config_from_a_url_alone_is_the_validated_one(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [name for name in os.environ if name.startswith("DOCSTORE_")]:
        monkeypatch.delenv(name)
    _same_config(url)


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(["local://", "memory://", "mongodb://", "mongodb+srv://", "http://", "https://", "", "x://"]),
    st.text(max_size=30),
)
def test_any_url_alone_makes_the_validated_config(scheme: str, rest: str) -> None:
    if any(name.startswith("DOCSTORE_") for name in os.environ):
        pytest.skip("DOCSTORE_* settings in the environment: a URL is not alone")
    _same_config(scheme + rest)


def test_a_url_that_is_not_a_plain_str_is_validated(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [name for name in os.environ if name.startswith("DOCSTORE_")]:
        monkeypatch.delenv(name)

    class Url(str):
        pass

    made = StorageConfig(url=Url("local://x"))
    assert type(made.url) is str and made == StorageConfig.model_validate({"url": "local://x"})
    with pytest.raises(ValidationError):
        StorageConfig(url=5)


def test_a_subclass_with_fields_of_its_own_is_validated(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [name for name in os.environ if name.startswith("DOCSTORE_")]:
        monkeypatch.delenv(name)

    class Tagged(StorageConfig):
        tag: str = "t"

    made = Tagged(url="local://x")
    assert made == Tagged.model_validate({"url": "local://x"}) and made.tag == "t"
