"""Changing a join code (or reactivating) during a busy class must not fail with CONFLICT.

Found by the attack pass (reading the code; the memory engine never interleaves, so it
cannot show it by itself): ``update_session`` of ``active``/``join_code`` read the
session, then wrote on condition that its *version* had not changed. Every student post
bumps the version, so with 30 students typing the 20 attempts all lost and the
instructor got CONFLICT "kept changing". The condition only needs the two fields read.
Here a student post is injected between the read and the write of every attempt.
"""

from __future__ import annotations

from typing import Any

from docstore import Session, Student, open_store


class PostBetweenReadAndWrite:
    """A sessions collection where every read of the join-code fields is followed by a student post."""

    def __init__(self, inner: Any, post: Any) -> None:
        self._inner = inner
        self._post = post

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def find_one(self, filter: Any, projection: Any = None, **kwargs: Any) -> Any:
        found = await self._inner.find_one(filter, projection, **kwargs)
        if projection and "join_code" in projection:
            await self._post()
        return found


async def test_join_code_change_succeeds_while_students_post() -> None:
    async with open_store("memory://") as store:
        session_id = await store.sessions.create_session(Session(join_code="old", students={"s": Student(id="s")}))
        backend: Any = store._shared.backend
        original = backend.collection
        posts = 0

        async def post() -> None:
            nonlocal posts
            posts += 1
            await store.sessions.record_code(session_id, "s", f"print({posts})")

        backend.collection = lambda name: (
            PostBetweenReadAndWrite(original(name), post) if name == "sessions" else original(name)
        )
        changed = await store.sessions.update_session(session_id, {"join_code": "new"})
        ended = await store.sessions.update_session(session_id, {"active": False})
        backend.collection = original
        assert changed.join_code == "NEW" and not ended.active
        assert (await store.sessions.get_session(session_id)).students["s"].code == f"print({posts})"  # type: ignore[union-attr]
        assert await store.sessions.get_session_by_join_code("new") is None
