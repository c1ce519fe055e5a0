"""``_wire``'s free-form values: the cheap test never skips a value that needs Extended JSON,
and what ``to_extended`` sends, ``from_extended`` gives back (finding 8)."""

from __future__ import annotations

import json
from collections import OrderedDict
from datetime import UTC, datetime
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from docstore import CodeRevision, ExecutionResult, ProblemSpec, Session, Student
from docstore._page import Page
from docstore._wire_values import from_extended, holds_foreign, map_free_form, map_result, to_extended

_dates = st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2999, 1, 1), timezones=st.just(UTC)).map(
    lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000)  # what every engine keeps
)
_leaves = (
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False, allow_infinity=False)
)
_values = st.recursive(
    _leaves | st.text(max_size=5) | _dates | st.binary(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.tuples(inner)
        | st.dictionaries(st.text("abc", max_size=3), inner, max_size=3)
        | st.dictionaries(st.text("abc", max_size=3), inner, max_size=2).map(OrderedDict)
    ),
    max_leaves=12,
)
_extras = st.dictionaries(st.text("xyz", min_size=1, max_size=3), _values, max_size=4)


def _session(extras: list[dict[str, Any]]) -> Session:
    students = {f"s{i}": Student(id=f"s{i}", extra=extra) for i, extra in enumerate(extras[1:])}
    return Session(students=students, extra=extras[0], problem=ProblemSpec(title="p", extra=extras[-1]))


@given(st.lists(_extras, min_size=1, max_size=4))
def test_the_cheap_test_never_skips_a_value_to_convert(extras: list[dict[str, Any]]) -> None:
    session = _session(extras)
    converted = map_free_form(session, Session, to_extended)
    if converted is not session:
        assert holds_foreign(session, Session)
    assert map_result(session, to_extended) == converted
    page = Page[ProblemSpec](items=[ProblemSpec(title="t", extra=extra) for extra in extras])
    assert map_result(page, to_extended).items == [map_free_form(p, ProblemSpec, to_extended) for p in page.items]


@given(_extras)
def test_free_form_values_come_back_as_sent(extra: dict[str, Any]) -> None:
    revision = CodeRevision(session_id="s", student_id="u", code="x", extra=extra)
    revision.execution_result = ExecutionResult(success=True, extra=extra)
    sent = map_free_form(revision, CodeRevision, to_extended)
    wire = json.loads(sent.model_dump_json())
    back = map_free_form(CodeRevision.model_validate(wire), CodeRevision, from_extended)
    expected = json.loads(json.dumps(extra, default=_not_json))  # tuples as lists, as every engine stores them
    assert _plain(back.extra) == expected and _plain(back.execution_result.extra) == expected


def _not_json(value: Any) -> Any:
    return ("<date>", value.isoformat()) if isinstance(value, datetime) else ("<bytes>", value.hex())


def _plain(value: Any) -> Any:
    return json.loads(json.dumps(value, default=_not_json))


def test_json_native_extra_is_not_copied() -> None:
    session = _session([{"a": [1, {"b": "c"}]}, {"n": 1.5}])
    assert map_result(session, to_extended) is session
    assert not holds_foreign(session, Session)


_keyed = st.recursive(
    _leaves | _dates,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text("$ab", max_size=2), inner, max_size=3),
    max_leaves=10,
)


def _has_dollar_key(value: Any) -> bool:
    if isinstance(value, dict):
        return any(key.startswith("$") or _has_dollar_key(child) for key, child in value.items())
    return isinstance(value, list) and any(_has_dollar_key(child) for child in value)


@given(st.dictionaries(st.text("$ab", max_size=2), _keyed, max_size=3))
def test_the_clients_test_finds_every_dollar_key(extra: dict[str, Any]) -> None:
    # The client refuses a caller's own "$" key (to_extended with refuse_dollar) only on the
    # road the cheap test sends it to: the test must find every one, at any depth.
    dump = {"id": "s", "extra": extra}
    if _has_dollar_key(extra):
        assert holds_foreign(dump, Student, dollar=True)
    elif not holds_foreign(dump, Student, dollar=True):
        assert map_free_form(dump, Student, to_extended) is dump
