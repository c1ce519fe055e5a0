"""Who is calling: the bearer token checked against the admin token and the stored tokens.

An admin (the ``DOCSTORE_ADMIN_TOKEN`` bootstrap token) acts on the whole store, or on
one namespace named by ``X-Docstore-Namespace``. A namespace token acts on
``store.for_namespace(its namespace)`` and nothing else, whatever the request names.
A refusal is logged with who was refused (the token's name, or the client address for
an unknown token), never with the token.
"""

from __future__ import annotations

import hmac
import logging
import time
from dataclasses import dataclass

from .._errors import ErrorCode, PersistenceError
from .._store import Store
from ._tokens import TokenInfo, TokenStore, hash_token

__all__ = ["Authenticator", "Caller", "Refusal"]

log = logging.getLogger("docstore.server")

# A checked token is trusted this long without reading the store again: the bound on
# revocation. One made through this server applies at once (it forgets); one made
# elsewhere (the CLI on the store, another server process) within this delay.
TOKEN_CACHE_S = 1.0
# ``last_used`` is written at most this often per token: not one write per request.
TOUCH_EVERY_S = 60.0


@dataclass(frozen=True)
class Caller:
    """An authenticated caller."""

    name: str
    namespace: str | None  # None: admin, every namespace
    read_only: bool

    @property
    def admin(self) -> bool:
        return self.namespace is None


class Refusal(PersistenceError):
    """PERMISSION_DENIED with its HTTP status: 401 (who are you?) or 403 (not allowed)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(ErrorCode.PERMISSION_DENIED, message)
        self.status = status


class Authenticator:
    """Checks bearer tokens for one app; caches what it checked for ``TOKEN_CACHE_S``."""

    def __init__(self, store: Store, admin_token: str | None) -> None:
        self._store = store
        self._admin_token = admin_token or None
        self._checked: dict[str, tuple[float, TokenInfo | None]] = {}
        self._touched: dict[str, float] = {}
        # Bumped by ``forget``: a lookup that read the store before a revocation must not
        # put what it read back into the cache after it.
        self._generation = 0

    @property
    def tokens(self) -> TokenStore:
        return TokenStore(self._store.documents)

    async def anyone_can_authenticate(self) -> bool:
        """True when an admin token is set or at least one token is stored."""
        return self._admin_token is not None or await self.tokens.any()

    def forget(self) -> None:
        """Drop what was checked (tokens were created or revoked)."""
        self._checked.clear()
        self._generation += 1

    async def caller(self, authorization: str | None, client: str) -> Caller:
        """The caller for an ``Authorization`` header; ``Refusal`` (401) otherwise."""
        scheme, _, token = (authorization or "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise self.refuse(401, f"no bearer token from {client}", "a bearer token is required")
        if self._admin_token is not None and hmac.compare_digest(token.encode(), self._admin_token.encode()):
            return Caller("admin", None, False)
        info = await self._lookup(token)
        if info is None:
            raise self.refuse(401, f"unknown or revoked token from {client}", "unknown or revoked token")
        return Caller(info.name, info.namespace, info.read_only)

    async def _lookup(self, token: str) -> TokenInfo | None:
        now = time.monotonic()
        digest = hash_token(token)  # not even memory keeps tokens in clear
        cached = self._checked.get(digest)
        if cached is not None and now - cached[0] < TOKEN_CACHE_S:
            info = cached[1]
        else:
            generation = self._generation
            info = await self.tokens.find(token)
            if len(self._checked) > 10_000:  # a flood of bad tokens must not grow this forever
                self._checked.clear()
            if generation == self._generation:
                self._checked[digest] = (now, info)
        if info is not None and now - self._touched.get(info.digest, -TOUCH_EVERY_S) >= TOUCH_EVERY_S:
            self._touched[info.digest] = now
            await self.tokens.touch(info)
        return info

    @staticmethod
    def refuse(status: int, logged: str, message: str) -> Refusal:
        log.warning("refused: %s", logged)
        return Refusal(status, message)
