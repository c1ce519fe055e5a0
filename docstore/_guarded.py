"""What a store hands out for its repositories and documents: views that check the store at each call.

Each view's methods are made from its Protocol (``_forwarding.forwarded`` with the route
``_checked``), so help() and IDEs show the Protocol's signatures and docstrings, and
nothing but the Protocol is reachable through a view.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Callable
from typing import Any, Protocol

from ._forwarding import forwarded, protocol_methods, protocol_of
from ._interfaces import DocumentStore, ProblemRepository, RevisionRepository, SessionRepository

__all__ = ["guarded_documents", "guarded_problems", "guarded_revisions", "guarded_sessions"]


class _Checked(Protocol):
    """What a view checks (``_store._Shared``): the state of its store."""

    status: str

    def open_backend(self) -> Any: ...


def _checked(name: str, declared: Callable[..., Any]) -> Callable[..., Any]:
    """The route of a store's views (``_forwarding``): check the store, then call the backend's object."""
    if name == "iter_documents":  # an async iterator: checked again at every item

        async def stream(self: _Guarded, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
            async for item in getattr(self._resolve(), name)(*args, **kwargs):
                self._shared.open_backend()  # shut down mid-stream: stop, saying why
                yield item

        return stream
    if inspect.iscoroutinefunction(declared):

        async def call(self: _Guarded, *args: Any, **kwargs: Any) -> Any:
            return await getattr(self._resolve(), name)(*args, **kwargs)

        return call

    # A feed (an async context manager): checked when called, entered by the caller.
    def context(self: _Guarded, *args: Any, **kwargs: Any) -> Any:
        return getattr(self._resolve(), name)(*args, **kwargs)

    return context


class _Guarded:
    """What a store hands out for a repository or its documents: each call checks the store first.

    The check runs when the call runs, not when the object was fetched: one fetched
    before ``initialize()`` reaches the backend once the store is open, and one held
    past ``shutdown()`` refuses (STORAGE_ERROR) instead of running on a closed engine.
    Its methods are made from the Protocol (``forwarded`` with ``_checked``): help() and
    IDEs show the Protocol's signatures and docstrings, and nothing else is reachable.
    """

    def __init__(self, shared: _Checked, resolve: Callable[[], Any]) -> None:
        self._shared = shared
        self._resolve = resolve  # the backend's object for this view; raises unless open

    def __dir__(self) -> list[str]:
        return sorted(protocol_methods(protocol_of(type(self))))

    def __repr__(self) -> str:
        return f"<{protocol_of(type(self)).__name__} of a {self._shared.status} store>"


class _GuardedSessions(_Guarded, SessionRepository):
    pass


class _GuardedProblems(_Guarded, ProblemRepository):
    pass


class _GuardedRevisions(_Guarded, RevisionRepository):
    pass


class _GuardedDocuments(_Guarded, DocumentStore):
    pass


guarded_sessions = forwarded(_GuardedSessions, _checked)
guarded_problems = forwarded(_GuardedProblems, _checked)
guarded_revisions = forwarded(_GuardedRevisions, _checked)
guarded_documents = forwarded(_GuardedDocuments, _checked)
