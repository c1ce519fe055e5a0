"""Every Protocol method is there, with the Protocol's signature, on every implementation.

The read cache, the remote client and the store's guarded views write only some methods
and have the rest made from the Protocols (``docstore._forwarding``), so mypy cannot see
that the class is complete: this test does, on real objects of every backend.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from docstore import Store, open_store
from docstore._cache import ReadCache, cached_repositories
from docstore._cached_documents import cached_documents
from docstore._config import StorageConfig
from docstore._forwarding import protocol_methods
from docstore._interfaces import DocumentStore, ProblemRepository, RevisionRepository, Scope, SessionRepository
from docstore._remote import RemoteBackend

PROTOCOLS = {"sessions": SessionRepository, "problems": ProblemRepository, "revisions": RevisionRepository}


def uncovered(protocol: type, implementation: object) -> list[str]:
    """What ``implementation`` lacks of ``protocol``: a missing method, the Protocol's own
    empty body, another signature, or another kind (a coroutine function or not)."""
    problems = []
    for name, declared in protocol_methods(protocol).items():
        method = getattr(implementation, name, None)
        if method is None:
            problems.append(f"{name}: missing")
            continue
        if getattr(method, "__func__", None) is declared:
            problems.append(f"{name}: only the Protocol's declaration")
            continue
        if inspect.iscoroutinefunction(declared) != inspect.iscoroutinefunction(method):
            problems.append(f"{name}: a coroutine function where the Protocol has none, or the reverse")
        expected = list(inspect.signature(declared).parameters.values())[1:]
        found = list(inspect.signature(method).parameters.values())
        if _shape(found) != _shape(expected):
            problems.append(f"{name}: signature {_shape(found)} instead of {_shape(expected)}")
    return problems


def _shape(parameters: list[inspect.Parameter]) -> list[tuple[str, Any, Any, str]]:
    # Annotations as written (every module says ``from __future__ import annotations``),
    # without spaces: ``Session | None`` is ``Session|None``.
    return [(p.name, p.kind, p.default, str(p.annotation).replace(" ", "")) for p in parameters]


def _assert_covered(implementations: dict[str, Any], documents: object) -> None:
    for name, protocol in PROTOCOLS.items():
        assert uncovered(protocol, implementations[name]) == [], (name, type(implementations[name]))
    assert uncovered(DocumentStore, documents) == [], type(documents)


@pytest.fixture
async def stores(tmp_path: Path) -> AsyncIterator[dict[str, Store]]:
    # A cache on both: the store's view then goes through the cache's classes too.
    async with (
        open_store("memory://", cache_ttl_s=5) as memory,
        open_store(f"local://{tmp_path / 'store'}", cache_ttl_s=5) as local,
    ):
        yield {"memory": memory, "local": local}


@pytest.mark.parametrize("engine", ["memory", "local"])
async def test_the_engines_repositories_and_documents_cover_the_protocols(
    stores: dict[str, Store], engine: str
) -> None:
    backend = stores[engine]._shared.open_backend()
    _assert_covered(backend.repositories(Scope())._asdict(), backend.documents)


@pytest.mark.parametrize("engine", ["memory", "local"])
async def test_the_read_cache_covers_the_protocols(stores: dict[str, Store], engine: str) -> None:
    backend = stores[engine]._shared.open_backend()
    cache = ReadCache(5, 10)
    cached = cached_repositories(backend.repositories(Scope()), cache, None)
    _assert_covered(cached._asdict(), cached_documents(backend.documents, cache))


@pytest.mark.parametrize("engine", ["memory", "local"])
async def test_the_store_views_cover_the_protocols(stores: dict[str, Store], engine: str) -> None:
    store = stores[engine]
    # What a store hands out (guarded), and what it builds behind (the memory:// change
    # log's recorders, the cache's classes).
    guarded = {"sessions": store.sessions, "problems": store.problems, "revisions": store.revisions}
    _assert_covered(guarded, store.documents)
    _assert_covered(store._open_repositories()._asdict(), store.documents)
    view = store.for_namespace("ns", actor="me")
    in_view = {"sessions": view.sessions, "problems": view.problems, "revisions": view.revisions}
    _assert_covered(in_view, store.documents)


def test_the_remote_client_covers_the_protocols() -> None:
    backend = RemoteBackend(StorageConfig(url="http://127.0.0.1:9"))  # never connected
    _assert_covered(backend.repositories(Scope("ns", "me"))._asdict(), backend.documents)


class _Incomplete:
    """The sessions repository of a backend that forgot one method, and got another wrong."""

    def __init__(self, complete: object) -> None:
        for name in protocol_methods(SessionRepository):
            if name not in ("count_students", "get_student"):
                setattr(self, name, getattr(complete, name))

    async def get_student(self, session_id: str) -> None:
        return None


def test_a_missing_or_different_method_is_found() -> None:
    backend = RemoteBackend(StorageConfig(url="http://127.0.0.1:9"))
    problems = uncovered(SessionRepository, _Incomplete(backend.repositories(Scope()).sessions))
    assert [problem.split(":")[0] for problem in problems] == ["get_student", "count_students"]

    class OnlyDeclared(SessionRepository):
        pass

    # mypy refuses to make it (abstract): the reason a forwarded class is made through `forwarded`.
    only_declared = OnlyDeclared()  # type: ignore[abstract]
    assert uncovered(SessionRepository, only_declared)[0] == "create_session: only the Protocol's declaration"


async def test_the_remote_client_sends_every_argument_as_the_protocol_binds_it() -> None:
    sent: list[tuple[str, dict[str, Any]]] = []

    async def call(name: str, **arguments: Any) -> None:
        sent.append((name, arguments))

    backend = RemoteBackend(StorageConfig(url="http://127.0.0.1:9"))
    for repository, protocol in PROTOCOLS.items():
        remote = getattr(backend.repositories(Scope()), repository)
        remote.call = call
        for name, declared in protocol_methods(protocol).items():
            if not inspect.iscoroutinefunction(declared):
                continue  # watch: a stream, written by hand
            parameters = list(inspect.signature(declared).parameters.values())[1:]
            given = {p.name: f"<{p.name}>" for p in parameters}
            expected = inspect.signature(declared).bind(None, **given).arguments
            del expected["self"]
            positional = [given[p.name] for p in parameters if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD]
            keywords = {p.name: given[p.name] for p in parameters if p.kind is inspect.Parameter.KEYWORD_ONLY}
            await getattr(remote, name)(**given)
            await getattr(remote, name)(*positional, **keywords)
            assert sent[-2:] == [(name, expected), (name, expected)]
            required = [p.name for p in parameters if p.default is inspect.Parameter.empty]
            if required:  # only what has no default: the defaults are sent too
                await getattr(remote, name)(**{key: given[key] for key in required})
                defaults = {p.name: p.default for p in parameters if p.name not in required}
                assert sent[-1] == (name, {**expected, **defaults})
                with pytest.raises(TypeError):  # as Python says it, not sent
                    await getattr(remote, name)(**{key: given[key] for key in required[1:]})
            with pytest.raises(TypeError):
                await getattr(remote, name)(**given, unknown=1)
