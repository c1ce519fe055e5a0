"""Finding: watch(session_id, after=<not a string>) on an http(s):// store raises a raw
AttributeError ('int' object has no attribute 'isascii'), where memory:// and local://
answer PersistenceError(INVALID_DATA) ("a feed position is a string made by an earlier
change"). RemoteFeed._connect calls str methods on `after` before checking its type."""

from __future__ import annotations

import pytest

from docstore import ErrorCode, PersistenceError, Session, open_store
from docstore._remote import asgi_transport
from docstore.server import create_app

IN_PROCESS_URL = "http://docstore.invalid"  # never resolved: the transport reaches the app


@pytest.mark.parametrize("after", [123, b"abc", ["x"]])
async def test_non_text_position_is_invalid_data(after: object) -> None:
    async with open_store("memory://") as backing:
        session_id = await backing.sessions.create_session(Session(join_code="rw11"))
        transport = asgi_transport(create_app(backing, admin_token="admin"))
        async with open_store(IN_PROCESS_URL, token="admin", transport=transport) as store:
            with pytest.raises(PersistenceError) as raised:
                async with store.sessions.watch(session_id, after=after):  # type: ignore[arg-type]
                    pass
            assert raised.value.code is ErrorCode.INVALID_DATA
