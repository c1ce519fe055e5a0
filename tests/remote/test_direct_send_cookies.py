"""A call's direct road (``Transport._send``) sends back the cookies a server set, as ``AsyncClient.request`` does.

Finding 11 of the attack pass on the fast paths: the direct road skips ``AsyncClient.send``'s
cookie handling, so a cookie a server or the proxy in front of it sets (a load balancer's
affinity cookie, a WAF's session cookie) was sent back by the slow road (``params=`` calls:
the admin document routes) and never by the fast road (every repository call): two requests
on the wire for one call, where ``tests/remote/test_direct_send.py`` holds them to be the same.
"""

from __future__ import annotations

import httpx

from docstore import StorageConfig
from docstore._remote._transport import Transport


class _CookieSetter(httpx.AsyncBaseTransport):
    """A server whose every answer sets an affinity cookie; keeps the cookie header of each request."""

    def __init__(self) -> None:
        self.cookies_seen: list[str | None] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.cookies_seen.append(request.headers.get("cookie"))
        headers = {"content-type": "application/json", "set-cookie": "AFFINITY=worker-2; Path=/"}
        return httpx.Response(200, content=b"1", headers=headers)


async def _cookies_sent(params: dict[str, str] | None) -> list[str | None]:
    server = _CookieSetter()
    transport = Transport(StorageConfig(url="http://server.invalid:8123/", token="a-token"), injected=server)
    transport.open()
    try:
        for _ in range(3):
            await transport.request("POST", "/v1/sessions/count_sessions", body=b"{}", params=params, read=True)
    finally:
        await transport.close()
    return server.cookies_seen


async def test_the_slow_road_sends_back_a_cookie_the_server_set() -> None:
    assert await _cookies_sent({}) == [None, "AFFINITY=worker-2", "AFFINITY=worker-2"]


async def test_the_direct_road_sends_back_a_cookie_the_server_set() -> None:
    assert await _cookies_sent(None) == await _cookies_sent({})
