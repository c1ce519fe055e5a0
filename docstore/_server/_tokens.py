"""API tokens, kept in the store itself (collection ``docstore_tokens``), hashed, never in clear.

A token is ``dst_`` + 32 random bytes (URL-safe base64). Its stored document is keyed by
the token's SHA-256, so that checking a token is one read by ``_id`` and the store never
holds what would let anyone use it::

    {"_id": sha256(token), "name": ..., "namespace": ..., "read_only": ...,
     "created_at": ..., "last_used": None}

When a token was last used is kept apart, in ``docstore_token_usage`` (``{"_id":
sha256(token), "last_used": ...}``), and the server only ever writes there: bookkeeping
that raced a revocation may leave a stray usage document, never bring a token back.

Everything goes through a ``DocumentStore``: the CLI reaches the store directly, or a
server over its admin endpoints (``store.documents`` of an ``http(s)://`` store).
No FastAPI here: the CLI imports this module.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from .._errors import ErrorCode, PersistenceError
from .._interfaces import DocumentStore
from .._mapping import invalid, require_id
from .._time import utc_now

__all__ = ["TOKENS", "USAGE", "TokenInfo", "TokenStore", "hash_token", "new_token"]

TOKENS = "docstore_tokens"
USAGE = "docstore_token_usage"
_PREFIX = "dst_"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,99}")


def new_token() -> str:
    return _PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class TokenInfo:
    """What is known of a token: everything but the token."""

    name: str
    namespace: str
    read_only: bool
    created_at: datetime
    last_used: datetime | None
    digest: str  # sha256 of the token: the stored document's _id

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> TokenInfo:
        try:
            return cls(
                str(document["name"]),
                str(document["namespace"]),
                bool(document["read_only"]),
                document["created_at"],
                document.get("last_used"),
                str(document["_id"]),
            )
        except KeyError as exc:
            raise PersistenceError(ErrorCode.STORAGE_ERROR, f"a stored token lacks {exc}") from None

    def to_document(self) -> dict[str, Any]:
        return {
            "_id": self.digest,
            "name": self.name,
            "namespace": self.namespace,
            "read_only": self.read_only,
            "created_at": self.created_at,
            "last_used": self.last_used,
        }


class TokenStore:
    """Create, list, revoke and check tokens in one store's ``docstore_tokens``."""

    def __init__(self, documents: DocumentStore) -> None:
        self._documents = documents

    async def create(
        self, namespace: str, *, read_only: bool = False, name: str | None = None
    ) -> tuple[str, TokenInfo]:
        """A new token for ``namespace`` (returned once, never stored) and what is kept of it."""
        require_id(namespace, "namespace")
        name = name or f"{namespace}-{secrets.token_hex(4)}"
        if not _NAME.fullmatch(name):
            raise invalid(f"token name {name!r}: letters, digits and _.@- only, at most 100")
        if any(info.name == name for info in await self.list()):
            raise PersistenceError(ErrorCode.ALREADY_EXISTS, f"a token named {name!r} exists; revoke it first")
        token = new_token()
        info = TokenInfo(name, namespace, read_only, utc_now(), None, hash_token(token))
        await self._write(info)
        return token, info

    async def list(self) -> list[TokenInfo]:
        """Every token, oldest first, with when it was last used."""
        used: dict[str, datetime] = {}
        async for document in self._documents.iter_documents(USAGE):
            if isinstance(document.get("last_used"), datetime):
                used[str(document["_id"])] = document["last_used"]
        found = [_last_used(TokenInfo.from_document(d), used) async for d in self._documents.iter_documents(TOKENS)]
        return sorted(found, key=lambda info: (info.created_at, info.name))

    async def revoke(self, name: str) -> TokenInfo:
        """Delete the token named ``name`` (then its usage); NOT_FOUND if there is none."""
        for info in await self.list():
            if info.name == name:
                await self._documents.delete_document(TOKENS, info.digest)
                await self._documents.delete_document(USAGE, info.digest)
                return info
        raise PersistenceError(ErrorCode.NOT_FOUND, f"no token named {name!r}")

    async def find(self, token: str) -> TokenInfo | None:
        """What is kept of ``token``, or None when it is unknown (or revoked)."""
        found = await self._documents.get_document(TOKENS, hash_token(token))
        return None if found is None else TokenInfo.from_document(found)

    async def touch(self, info: TokenInfo) -> None:
        """Record that the token was used now: in its usage document, never in the token's own.

        A blind write of the usage document: no read-modify-write of the token that a
        revocation could lose to. A revocation that landed meanwhile leaves the usage
        document behind; it is dropped again here (and ``list`` ignores it anyway).
        """
        await self._documents.upsert_documents(USAGE, [{"_id": info.digest, "last_used": utc_now()}])
        if await self._documents.get_document(TOKENS, info.digest) is None:
            await self._documents.delete_document(USAGE, info.digest)

    async def any(self) -> bool:
        """Whether at least one token exists."""
        found = self._documents.iter_documents(TOKENS, batch_size=1)
        try:
            async for _ in found:
                return True
            return False
        finally:
            close = getattr(found, "aclose", None)  # stop a stream (remote) or a cursor early
            if close is not None:
                await close()

    async def _write(self, info: TokenInfo) -> None:
        result = await self._documents.upsert_documents(TOKENS, [info.to_document()])
        if result.failed:
            raise PersistenceError(ErrorCode.STORAGE_ERROR, f"the token could not be stored: {result.failed[0][1]}")


def _last_used(info: TokenInfo, used: dict[str, datetime]) -> TokenInfo:
    """``info`` with the later of its own ``last_used`` (tokens of older versions) and its usage."""
    seen = [moment for moment in (info.last_used, used.get(info.digest)) if moment is not None]
    return replace(info, last_used=max(seen)) if seen else info
