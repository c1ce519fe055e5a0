"""What every request of one app shares: the store, the authenticator, and the view a caller gets."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from pathlib import Path

from fastapi import Request

from .._store import Store
from .._wire import ACTOR_HEADER, NAMESPACE_HEADER, from_header
from ._auth import Authenticator, Caller

__all__ = ["Context", "Grant", "context_of"]

_VIEWS_KEPT = 1024


class Grant:
    """An authenticated caller and the store view it acts on."""

    __slots__ = ("caller", "view")

    def __init__(self, caller: Caller, view: Store) -> None:
        self.caller = caller
        self.view = view


class Context:
    """The store behind one app (opened on first use if the caller has not) and its views."""

    def __init__(self, store: Store, authenticator: Authenticator) -> None:
        self.store = store
        self.auth = authenticator
        self._ready = False
        self._lock = asyncio.Lock()
        self._views: OrderedDict[tuple[str | None, str | None], Store] = OrderedDict()
        self._private = _server_paths(store)

    async def ready(self) -> None:
        if not self._ready:
            async with self._lock:
                await self.store.initialize()  # a no-op when the owner opened it already
                self._ready = True

    async def grant(self, request: Request) -> Grant:
        """Authenticate the request and pick its view; ``Refusal`` when it may not."""
        await self.ready()
        client = request.client.host if request.client else "unknown client"
        caller = await self.auth.caller(request.headers.get("authorization"), client)
        request.state.docstore_caller = caller  # the error handler shows server paths to admins only
        asked = from_header(request.headers.get(NAMESPACE_HEADER), NAMESPACE_HEADER)
        namespace = caller.namespace
        if caller.admin:
            namespace = asked
        elif asked is not None and asked != caller.namespace:
            raise self.auth.refuse(
                403,
                f"token {caller.name!r} (namespace {caller.namespace!r}) asked for namespace {asked!r}",
                "this token is not valid for that namespace",
            )
        return Grant(caller, self.view(namespace, from_header(request.headers.get(ACTOR_HEADER), ACTOR_HEADER)))

    def view(self, namespace: str | None, actor: str | None) -> Store:
        """``store.for_namespace(namespace, actor=actor)`` (the root store for None), kept for reuse."""
        key = (namespace, actor)
        found = self._views.get(key)
        if found is None:
            # for_namespace/as_actor check both (INVALID_DATA for an empty name).
            found = self.store if namespace is None else self.store.for_namespace(namespace)
            if actor is not None:
                found = found.as_actor(actor)
            self._views[key] = found
            if len(self._views) > _VIEWS_KEPT:
                self._views.popitem(last=False)
        else:
            self._views.move_to_end(key)
        return found

    def shown_to(self, request: Request, message: str) -> str:
        """``message`` as the request's caller may see it: where the store lives on the server
        (a local store's directory) is the operator's business, shown to an admin only."""
        caller: Caller | None = getattr(request.state, "docstore_caller", None)
        if caller is not None and caller.admin:
            return message
        for path in self._private:
            message = message.replace(path, "<store>")
        return message


def _server_paths(store: Store) -> list[str]:
    """A local store's directory as messages may spell it (as configured, absolute, resolved)."""
    if store.config.engine != "local":
        return []
    directory = Path(store.config.local_path).expanduser()
    spelled = {str(directory.absolute()), str(directory.resolve())}
    # Longest first, so a path is replaced whole before a shorter one inside it; never "/".
    return sorted((path for path in spelled if path != "/"), key=len, reverse=True)


def context_of(request: Request) -> Context:
    context: Context = request.app.state.docstore
    return context
