"""Finding: update_session(id, {"active": False}) is 'session_ended' on local:// but
'session_changed' on memory:// (the same write, two kinds); a dashboard keyed on
'session_ended' misses the end on memory:// (and on a server over memory)."""

from __future__ import annotations

from pathlib import Path

from docstore import Session, open_store

from ._feed_helpers import drain


async def _kinds(url: str) -> list[str]:
    async with open_store(url) as store:
        ns = store.for_namespace("A")
        session_id = await ns.sessions.create_session(Session(join_code="de11"))
        async with ns.sessions.watch(session_id) as feed:
            await ns.sessions.update_session(session_id, {"active": False})
            return [c.kind for c in await drain(feed)]


async def test_deactivation_is_the_same_kind_on_every_backend(tmp_path: Path) -> None:
    memory = await _kinds("memory://")
    local = await _kinds(f"local://{tmp_path}/store")
    assert memory == local, (memory, local)
    assert local == ["session_ended"]
