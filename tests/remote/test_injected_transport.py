"""``open_store(url, transport=...)``: the client's requests go through the transport it is given.

No registry keyed by URL: two stores with one URL and two transports reach two apps, and
a store never closes what it was given (its owner may share it among stores).
"""

from __future__ import annotations

import httpx
import pytest

from docstore import ErrorCode, PersistenceError, Session, open_store
from docstore._remote import asgi_transport
from docstore.server import create_app

from .servers import ADMIN_TOKEN

URL = "http://docstore.invalid"  # never resolved: the transport is the way in


class CountingTransport(httpx.AsyncBaseTransport):
    """An app in this process, counting the requests and the closes it sees."""

    def __init__(self, app: object) -> None:
        self.inner = asgi_transport(app)
        self.requests = 0
        self.closed = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        self.closed += 1


async def test_one_url_two_transports_reach_two_servers() -> None:
    async with open_store("memory://") as first_server, open_store("memory://") as second_server:
        made = await first_server.sessions.create_session(Session(join_code="ONE001"))
        first = asgi_transport(create_app(first_server, admin_token=ADMIN_TOKEN))
        second = asgi_transport(create_app(second_server, admin_token=ADMIN_TOKEN))
        async with (
            open_store(URL, token=ADMIN_TOKEN, transport=first) as to_first,
            open_store(URL, token=ADMIN_TOKEN, transport=second) as to_second,
        ):
            assert (await to_first.sessions.get_session(made)) is not None
            assert (await to_second.sessions.get_session(made)) is None


async def test_calls_and_feeds_go_through_the_transport_which_the_store_never_closes() -> None:
    async with open_store("memory://") as served:
        transport = CountingTransport(create_app(served, admin_token=ADMIN_TOKEN))
        for _ in range(2):  # a second store over the same transport, after the first shut down
            async with open_store(URL, token=ADMIN_TOKEN, transport=transport) as store:
                made = await store.sessions.create_session(Session(join_code="FEED01"))
                async with store.sessions.watch(made):
                    pass
                await store.sessions.delete_session(made)
        assert transport.requests >= 2 * 4  # info, create, watch, delete: twice
        assert transport.closed == 0


async def test_any_httpx_transport_answers_with_its_error_codes() -> None:
    down = httpx.MockTransport(lambda request: httpx.Response(503, json={"code": "UNAVAILABLE", "message": "down"}))
    with pytest.raises(PersistenceError) as raised:
        async with open_store(URL, token=ADMIN_TOKEN, transport=down):
            pass
    assert raised.value.code is ErrorCode.UNAVAILABLE and raised.value.message == "down"


@pytest.mark.parametrize("url", ["memory://", "local:///tmp/never-opened"])
def test_a_transport_for_another_engine_is_invalid_data(url: str) -> None:
    with pytest.raises(PersistenceError) as raised:
        open_store(url, transport=httpx.MockTransport(lambda request: httpx.Response(200)))
    assert raised.value.code is ErrorCode.INVALID_DATA and "transport" in raised.value.message
