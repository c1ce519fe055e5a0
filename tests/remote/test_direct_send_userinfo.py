"""A store URL's ``user:password@`` reaches the server on a call's direct road as on the slow one.

Finding 12 of the attack pass on the fast paths: ``Transport`` says a ``user:password@`` in the
URL "is sent as basic auth"; ``AsyncClient.request`` (the slow road: ``params=`` calls, the
admin document routes) does so, but the direct road (``Transport._send``, every repository
call) skips ``AsyncClient.send``'s auth step and sent no credentials at all: behind a proxy
that asks for basic auth, every repository call would be refused while the admin calls pass.
"""

from __future__ import annotations

import httpx

from docstore import StorageConfig
from docstore._remote._transport import Transport


class _Recorder(httpx.AsyncBaseTransport):
    def __init__(self) -> None:
        self.authorization: list[str | None] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.authorization.append(request.headers.get("authorization"))
        return httpx.Response(200, content=b"1", headers={"content-type": "application/json"})


async def _authorization_sent(url: str, params: dict[str, str] | None) -> str | None:
    server = _Recorder()
    transport = Transport(StorageConfig(url=url), injected=server)
    transport.open()
    try:
        await transport.request("POST", "/v1/sessions/count_sessions", body=b"{}", params=params, read=True)
    finally:
        await transport.close()
    return server.authorization[0]


async def test_the_slow_road_sends_the_urls_userinfo_as_basic_auth() -> None:
    assert await _authorization_sent("http://alice:s3cret@server.invalid:8123/", {}) == "Basic YWxpY2U6czNjcmV0"


async def test_the_direct_road_sends_the_urls_userinfo_as_basic_auth() -> None:
    url = "http://alice:s3cret@server.invalid:8123/"
    assert await _authorization_sent(url, None) == await _authorization_sent(url, {})
