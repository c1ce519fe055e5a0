"""The edge over a real socket (uvicorn on 127.0.0.1): what clients that are not httpx see."""

from __future__ import annotations

import asyncio
import http.client
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from .servers import ADMIN_TOKEN, uvicorn_server

LIMIT = 1024 * 1024
AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}", "Content-Type": "application/json"}


def _urllib_post(url: str, body: bytes) -> int | str:
    """What urllib makes of it: it sends the whole body before it reads any answer."""
    request = urllib.request.Request(url + "/v1/sessions/count_sessions", data=body, method="POST", headers=AUTH)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code
    except OSError as error:
        return repr(error)


def _expecting_continue(url: str, size: int) -> tuple[int, str | None]:
    """curl's way: headers with ``Expect: 100-continue``, then wait for the answer before the body."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=60)
    try:
        connection.putrequest("POST", "/v1/sessions/count_sessions")
        for name, value in {**AUTH, "Content-Length": str(size), "Expect": "100-continue"}.items():
            connection.putheader(name, value)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, response.getheader("connection")
    finally:
        connection.close()


async def test_a_client_that_sends_a_whole_oversized_body_first_gets_the_413() -> None:
    async with uvicorn_server("memory://", max_body_bytes=LIMIT) as url:
        for size in (2 * LIMIT, 20 * LIMIT):
            assert await asyncio.to_thread(_urllib_post, url, b"x" * size) == 413
        assert await asyncio.to_thread(_urllib_post, url, b"{}") == 200  # and the server serves on
        # A client waiting for "100 Continue" has sent nothing: the 413 goes out at once.
        assert await asyncio.to_thread(_expecting_continue, url, 1024 * LIMIT) == (413, "close")
