"""The client's fast decoding of a ``Page`` answer (``_remote/_repositories.decode_result``)
gives what ``method.result.validate_json`` (the slow road) gives, or refuses what it refuses."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from docstore import CodeRevision, ProblemSpec, Session, Student
from docstore._remote._repositories import _page_decoder, decode_result
from docstore._wire import WireMethod, methods

PAGE_METHODS = [m for catalogue in methods().values() for m in catalogue.values() if _page_decoder(m.returns)]

_moments = st.datetimes(
    min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.sampled_from([UTC, None])
)
_texts = st.text(max_size=8)
_leaves = st.none() | st.booleans() | st.integers(-(2**70), 2**70) | _texts | _moments.map(datetime.isoformat)
_json = st.recursive(_leaves, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_texts, inner, max_size=3))


def _stamp(moment: datetime) -> str:
    return moment.isoformat()


_metadata = st.none() | st.fixed_dictionaries(
    {"created_at": _moments.map(_stamp), "updated_at": _moments.map(_stamp), "version": st.integers(0, 3)},
    optional={"created_by": st.none() | _texts, "bogus": _texts},
)
# Fields a model fills by a default factory (a new id, now) are always sent: else the two
# roads would differ by the factory's value, not by how they decode.
_FILLED = {
    "Student": {"id": "s1"},
    "ProblemSpec": {"id": "p", "created_at": "2026-01-02T03:04:05Z"},
    "CodeRevision": {"id": "r", "timestamp": "2026-01-02T03:04:05Z"},
    "Session": {"id": "x", "created_at": "2026-01-02T03:04:05Z", "last_activity": "2026-01-02T03:04:05Z"},
}


def _item(kind: str) -> st.SearchStrategy[dict[str, Any]]:
    filled = {name: st.just(value) | _moments.map(_stamp) | _json for name, value in _FILLED[kind].items()}
    filled["id"] = st.sampled_from(["a", "s1", ""])
    return st.fixed_dictionaries(
        filled,
        optional={
            "name": _texts,
            "title": _texts,
            "code": _texts,
            "session_id": _texts,
            "student_id": _texts,
            "metadata": _metadata,
            "last_update": st.none() | _moments.map(_stamp),
            "tags": st.lists(_texts, max_size=3) | _json,
            "difficulty": st.sampled_from(["beginner", "advanced", "hard"]),
            "extra": st.dictionaries(_texts, _json, max_size=2),
            "join_code": st.none() | _texts,
            "students": st.dictionaries(st.sampled_from(["s1", "s2"]), st.fixed_dictionaries({"id": st.just("s1")})),
            "unknown": _json,
        },
    )


def _answer(kind: str) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {},
        optional={
            # Not lists of dicts other than items: a dict without the factory-filled fields
            # would differ by the factory's value (a new id) on each road.
            "items": st.lists(_item(kind), max_size=4)
            | _leaves
            | st.lists(_leaves, max_size=3)
            | st.dictionaries(_texts, _json, max_size=3),
            "next_cursor": st.none() | _texts | st.integers(),
        },
    )


def _kind(method: WireMethod) -> str:
    return str(method.returns.model_fields["items"].annotation.__args__[0].__name__)


def _outcome(decode: Any, content: bytes) -> Any:
    try:
        page = decode(content)
    except ValidationError as exc:
        return ("refused", exc.errors()[0]["msg"])  # the client's message names the first problem
    except TypeError as exc:  # ``Page.__init__`` on items that are not iterable (``null``, a number)
        return ("TypeError", str(exc))
    return (type(page), page.items, page.next_cursor, page.model_fields_set, vars(page))


@pytest.mark.parametrize("method", PAGE_METHODS, ids=lambda m: m.path)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_page_answers_decode_as_validate_json_does(method: WireMethod, data: st.DataObject) -> None:
    content = json.dumps(data.draw(_answer(_kind(method)))).encode()
    assert _outcome(lambda c: decode_result(method, c), content) == _outcome(method.result.validate_json, content)


def _real_items() -> dict[str, list[Any]]:
    moment = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    student = Student(id="s1", name="Ann", code="print(1)", last_update=moment)
    problem = ProblemSpec(title="P", tags=["a", "b"], difficulty="beginner", created_at=moment, extra={"x": [1, 2.5]})
    revision = CodeRevision(session_id="x", student_id="s1", code="pass", timestamp=moment + timedelta(seconds=1))
    session = Session(join_code="abc", students={"s1": student}, problem=problem)
    return {"Student": [student], "ProblemSpec": [problem], "CodeRevision": [revision], "Session": [session]}


@pytest.mark.parametrize("method", PAGE_METHODS, ids=lambda m: m.path)
@pytest.mark.parametrize("cursor", [None, "next"])
def test_real_pages_round_trip_alike(method: WireMethod, cursor: str | None) -> None:
    """What a server sends (``dump_json`` of a real page) decodes to the same page both ways."""
    page = method.returns(_real_items()[_kind(method)] * 3, cursor)
    content = method.result.dump_json(page)
    fast, slow = decode_result(method, content), method.result.validate_json(content)
    assert _outcome(lambda _: fast, b"") == _outcome(lambda _: slow, b"")
    assert fast == page


def test_other_results_take_the_slow_road() -> None:
    assert _page_decoder(methods()["sessions"]["get_session"].returns) is None
    assert _page_decoder(methods()["revisions"]["get_latest_revisions"].returns) is None
