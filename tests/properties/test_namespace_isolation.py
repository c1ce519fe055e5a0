"""Whatever runs through ``store.for_namespace("a")``, namespace "b" is never returned,
counted, updated or deleted, even when the caller knows b's ids; whatever a view writes
stays in its namespace (an update can never move an item out). On every engine."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Coroutine
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from docstore import CodeRevision, ErrorCode, PersistenceError, ProblemSpec, Session, Store, Student
from tests.documents import all_documents

from .conftest import StoreRunner

B_SESSION, B_PROBLEM, B_CODE = "b-session", "b-problem", "BBBBBB"
ids = st.sampled_from([B_SESSION, B_PROBLEM, "a-session", "a-problem", "missing"])
words = st.sampled_from(["loops", "strings", "bonus", "x"])
# Updates a view may try; those naming namespace_id must be refused as INVALID_DATA.
session_updates = st.sampled_from(
    [
        {"namespace_id": "b"},
        {"namespace_id": "cs101"},
        {"namespace_id": "a"},
        {"problem_text": "t", "namespace_id": "b"},
        {"join_code": B_CODE},
        {"join_code": "AAAAAA", "active": True},
        {"active": False},
        {"instructor_id": "someone"},
        {"students": {"s": {"id": "s", "code": "a"}}},
    ]
)
problem_updates = st.sampled_from(
    [
        {"namespace_id": "cs101"},
        {"namespace_id": "b"},
        {"title": "x", "namespace_id": "a"},
        {"tags": ["loops", "bonus"]},
        {"title": "loops"},
        {"difficulty": "advanced"},
    ]
)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("create_session"), ids, st.sampled_from([B_CODE, "AAAAAA", None])),
        st.tuples(st.just("get_session"), ids),
        st.tuples(st.just("by_join_code"), st.sampled_from([B_CODE, "AAAAAA"])),
        st.tuples(st.just("update_session"), ids, st.dictionaries(st.just("problem_text"), st.text(max_size=5))),
        st.tuples(st.just("update_session_fields"), ids, session_updates),
        st.tuples(st.just("end_session"), ids),
        st.tuples(st.just("record_code"), ids, st.text(max_size=5)),
        st.tuples(st.just("update_student_code"), ids, st.text(max_size=5)),
        st.tuples(st.just("upsert_student"), ids),
        st.tuples(st.just("delete_session"), ids, st.booleans()),
        st.tuples(st.just("list_sessions"), st.sampled_from([None, True, False])),
        st.tuples(st.just("count_sessions")),
        st.tuples(st.just("save_problem"), ids, words),
        st.tuples(st.just("update_problem"), ids, words),
        st.tuples(st.just("update_problem_fields"), ids, problem_updates),
        st.tuples(st.just("get_problem"), ids),
        st.tuples(st.just("count_problems"), st.lists(words, max_size=2)),
        st.tuples(st.just("delete_problem"), ids),
        st.tuples(st.just("list_problems"), st.lists(words, max_size=2)),
        st.tuples(st.just("search"), words),
        st.tuples(st.just("tag_counts")),
        st.tuples(st.just("save_revision"), ids),
        st.tuples(st.just("revisions"), ids),
        st.tuples(st.just("latest"), ids),
        st.tuples(st.just("delete_revisions"), ids),
        st.tuples(st.just("count_revisions"), ids),
    ),
    max_size=30,
)


async def seed_b(store: Store) -> None:
    b = store.for_namespace("b")
    await b.sessions.create_session(Session(id=B_SESSION, join_code=B_CODE, students={"s": Student(id="s")}))
    await b.problems.save_problem(ProblemSpec(id=B_PROBLEM, title="Bonus loops", tags=["loops", "bonus"]))
    await b.revisions.save_revision(CodeRevision(session_id=B_SESSION, student_id="s", code="b"))


async def b_documents(store: Store) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for name in ("sessions", "problems", "revisions"):
        found += await all_documents(store, name, namespace_id="b")
    return found


def namespaces_in(result: Any) -> set[str]:
    if isinstance(result, dict):
        return set().union(*(namespaces_in(v) for v in result.values())) if result else set()
    if isinstance(result, list | tuple) or hasattr(result, "next_cursor"):
        return set().union(*(namespaces_in(v) for v in result)) if len(result) else set()
    namespace = getattr(result, "namespace_id", None)
    return {namespace} if namespace else set()


async def apply(a: Store, operation: tuple[Any, ...]) -> Any:
    name, *args = operation
    calls: dict[str, Callable[..., Coroutine[Any, Any, Any]]] = {
        "create_session": lambda i, code: a.sessions.create_session(Session(id=i, join_code=code)),
        "get_session": lambda i: a.sessions.get_session(i),
        "by_join_code": lambda code: a.sessions.get_session_by_join_code(code),
        "update_session": lambda i, u: a.sessions.update_session(i, u or {"problem_text": "a"}),
        "update_session_fields": lambda i, u: a.sessions.update_session(i, u),
        "end_session": lambda i: a.sessions.end_session(i),
        "record_code": lambda i, code: a.sessions.record_code(i, "s", code),
        "update_student_code": lambda i, code: a.sessions.update_student_code(i, "s", code),
        "upsert_student": lambda i: a.sessions.upsert_student(i, Student(id="s", code="a")),
        "delete_session": lambda i, cascade: a.sessions.delete_session(i, cascade=cascade),
        "list_sessions": lambda active: a.sessions.list_all_sessions(active=active),
        "count_sessions": lambda: a.sessions.count_sessions(),
        "save_problem": lambda i, word: a.problems.save_problem(ProblemSpec(id=i, title=word, tags=[word])),
        "update_problem": lambda i, word: a.problems.update_problem(i, {"title": word}),
        "update_problem_fields": lambda i, u: a.problems.update_problem(i, u),
        "get_problem": lambda i: a.problems.get_problem(i),
        "count_problems": lambda tags: a.problems.count_problems(tags=tags or None),
        "delete_problem": lambda i: a.problems.delete_problem(i),
        "list_problems": lambda tags: a.problems.list_problems(tags=tags or None),
        "search": lambda word: a.problems.search_problems(word),
        "tag_counts": lambda: a.problems.tag_counts(),
        "save_revision": lambda i: a.revisions.save_revision(CodeRevision(session_id=i, student_id="s", code="a")),
        "revisions": lambda i: a.revisions.get_all_session_revisions(i),
        "latest": lambda i: a.revisions.get_latest_revisions(i),
        "delete_revisions": lambda i: a.revisions.delete_revisions(i),
        "count_revisions": lambda i: a.revisions.count_revisions(i),
    }
    return await calls[name](*args)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sequence=operations)
def test_namespace_b_is_untouchable_from_a(engine_runner: StoreRunner, sequence: list[tuple[Any, ...]]) -> None:
    runner = engine_runner
    store = runner.store
    if not runner.run(b_documents(store)):
        runner.run(seed_b(store))
    before = runner.run(b_documents(store))
    a = store.for_namespace("a")

    def raw(collection: str) -> Any:
        return all_documents(store, collection, namespace_id="a")

    for operation in sequence:
        moves_namespace = isinstance(operation[-1], dict) and "namespace_id" in operation[-1]
        try:
            result = runner.run(apply(a, operation))
        except PersistenceError as error:
            # NOT_FOUND, ALREADY_EXISTS, CONFLICT: refusals are fine; leaks are not. An update
            # naming namespace_id is refused for what it is, whether the item exists or not.
            assert not moves_namespace or error.code is ErrorCode.INVALID_DATA, (operation, error)
            continue
        assert not moves_namespace, (operation, result)
        if operation[0] == "count_sessions":
            assert result == len(runner.run(raw("sessions")))
        elif operation[0] == "count_problems":
            tags = set(operation[1])
            assert result == sum(1 for p in runner.run(raw("problems")) if not tags or tags & set(p["tags"]))
        elif operation[0] == "tag_counts":
            assert result == dict(Counter(tag for problem in runner.run(raw("problems")) for tag in problem["tags"]))
        elif operation[0] == "count_revisions":  # a's own revisions may name any session id
            assert result == sum(1 for r in runner.run(raw("revisions")) if r["session_id"] == operation[1])
        else:
            assert namespaces_in(result) <= {"a"}, (operation, result)
    assert runner.run(b_documents(store)) == before
    # Everything else in the store was written through the view: all of it is in "a".
    for name in ("sessions", "problems", "revisions"):
        namespaces = {document["namespace_id"] for document in runner.run(all_documents(store, name))}
        assert namespaces <= {"a", "b"}, (name, namespaces)
