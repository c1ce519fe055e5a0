"""A call over a socket looks nothing up on ``sys.path``: no failed import on every request.

httpcore asks ``sniffio`` which event loop runs (several times a request); without it
installed each ask was a failed import, a walk of ``sys.path`` (~50 us each on this
project's machine). ``sniffio`` is a dependency of the ``remote`` and ``server`` extras.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from types import ModuleType
from typing import Any

from docstore import Session, open_store

from .servers import ADMIN_TOKEN, uvicorn_server


class _Recorder:
    """A meta path finder that finds nothing and remembers what was asked."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def find_spec(self, name: str, path: Sequence[str] | None, target: ModuleType | None = None) -> Any:
        self.asked.append(name)
        return None


async def test_remote_calls_import_nothing() -> None:
    async with uvicorn_server() as url, open_store(url, token=ADMIN_TOKEN) as store:
        session_id = await store.sessions.create_session(Session(join_code="IMP1"))
        await store.sessions.get_session(session_id)  # warm: what is imported once is fine
        recorder = _Recorder()
        sys.meta_path.insert(0, recorder)
        try:
            for _ in range(5):
                assert await store.sessions.get_session(session_id) is not None
        finally:
            sys.meta_path.remove(recorder)
        assert recorder.asked == []
