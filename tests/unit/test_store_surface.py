"""What ``Store`` hands out for its repositories reads like the Protocols, even before opening."""

from __future__ import annotations

import inspect

import pytest

from docstore import ProblemRepository, RevisionRepository, SessionRepository, open_store


def test_repository_methods_show_the_protocols_signature_and_docstring() -> None:
    store = open_store("memory://")
    method = store.sessions.record_code
    assert list(inspect.signature(method).parameters) == ["session_id", "student_id", "code", "execution_result"]
    assert method.__doc__ == SessionRepository.record_code.__doc__
    assert "get_revisions" in dir(store.revisions)


def test_a_misspelt_method_is_an_attribute_error_at_once() -> None:
    store = open_store("memory://")
    with pytest.raises(AttributeError, match="create_sesion"):
        store.sessions.create_sesion  # type: ignore[attr-defined]  # noqa: B018


def test_repositories_satisfy_their_protocols() -> None:
    store = open_store("memory://")
    assert isinstance(store.sessions, SessionRepository)
    assert isinstance(store.problems, ProblemRepository)
    assert isinstance(store.for_namespace("a").revisions, RevisionRepository)
