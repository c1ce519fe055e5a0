"""A call with a body goes to the lean transport without an ``httpx.Request`` or ``httpx.Response``
(``_remote/_raw_calls.py``), and sends the bytes, and gets the outcome, of httpx's road.

Each case runs the same calls over one ``Transport`` on its default road (lean, raw calls) and
on httpx over httpcore (``raw_servers.road("httpx")``, as before the lean transport), each
against a fresh raw server: the requests it recorded and the outcomes must be the same.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .raw_servers import RawServer, answer, keep_answering, outcome, raw_server, road

Reader = asyncio.StreamReader
Writer = asyncio.StreamWriter
_texts = st.text(st.characters(exclude_categories=["Cs"]), max_size=6)
_calls = st.lists(
    st.tuples(
        st.sampled_from(["/v1/sessions/get_session", "/v1/problems/list_problems", "/v1/a%20b"]),
        st.binary(max_size=300),
        st.none() | st.sampled_from(["ns", "n s", "é"]) | _texts,
        st.none() | st.sampled_from(["tutor"]) | _texts,
        st.booleans(),
    ),
    min_size=1,
    max_size=6,
)


async def _over(name: str, script: Any, calls: list[tuple[Any, ...]]) -> tuple[list[tuple[object, ...]], RawServer]:
    async with raw_server(script) as (url, record), road(name, url) as transport:
        outcomes = [
            await outcome(transport, path=path, body=body, namespace=namespace, actor=actor, read=read)
            for path, body, namespace, actor, read in calls
        ]
    return outcomes, record


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(calls=_calls, status=st.sampled_from([200, 201, 404, 409, 500]), content=st.binary(max_size=60))
def test_calls_one_after_another_send_the_bytes_and_get_the_outcomes_of_httpx(
    calls: list[tuple[Any, ...]], status: int, content: bytes
) -> None:
    """Bodies of every length on one transport (each head worked out once, then reused with
    another Content-Length), scopes repeated and new: byte for byte httpx's requests."""

    async def script(record: RawServer, reader: Reader, writer: Writer) -> None:
        while await record.next_request(reader):
            writer.write(answer(content, status=status))
            await writer.drain()

    async def run() -> None:
        lean, lean_server = await _over("lean", script, calls)
        plain, plain_server = await _over("httpx", script, calls)
        assert lean == plain
        assert lean_server.requests == plain_server.requests and len(lean_server.requests) == len(calls)

    asyncio.run(run())


async def test_a_call_after_the_first_of_its_kind_builds_no_httpx_request_or_response(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The point of the raw road: per (method, path, scope) one ``httpx.Request`` (the head's
    model), then none, and never an ``httpx.Response`` for a plain answer."""
    built: list[str] = []
    request_init, response_init = httpx.Request.__init__, httpx.Response.__init__

    def counted_request(self: httpx.Request, *args: Any, **kwargs: Any) -> None:
        built.append("request")
        request_init(self, *args, **kwargs)

    def counted_response(self: httpx.Response, *args: Any, **kwargs: Any) -> None:
        built.append("response")
        response_init(self, *args, **kwargs)

    async with raw_server(keep_answering(b'{"n": 1}')) as (url, record), road("lean", url) as transport:
        monkeypatch.setattr(httpx.Request, "__init__", counted_request)
        monkeypatch.setattr(httpx.Response, "__init__", counted_response)
        for body in (b"{}", b'{"a": 1}', b'{"a": 12345}', b"{}"):
            assert await outcome(transport, body=body) == ("answer", b'{"n": 1}')
        assert built == ["request"]
        await outcome(transport, body=b"{}", namespace="other")
        assert built == ["request", "request"]
    assert len(record.requests) == 5


async def test_a_cookie_set_on_the_raw_road_goes_back_as_on_httpxs() -> None:
    """An answer setting a cookie (an affinity cookie of a balancer) is handled by httpx's
    cookie jar, and the next calls, carrying it, take httpx's road: the same requests."""

    async def script(record: RawServer, reader: Reader, writer: Writer) -> None:
        while await record.next_request(reader):
            writer.write(answer(b"1", extra=b"Set-Cookie: AFFINITY=w2; Path=/\r\n"))
            await writer.drain()

    calls = [("/v1/sessions/count_sessions", b"{}", None, None, True)] * 3
    lean, lean_server = await _over("lean", script, calls)
    plain, plain_server = await _over("httpx", script, calls)
    assert lean == plain == [("answer", b"1")] * 3
    assert lean_server.requests == plain_server.requests
    assert [b"AFFINITY=w2" in request for request in lean_server.requests] == [False, True, True]


async def test_an_encoded_answer_on_the_raw_road_is_refused_as_on_httpxs() -> None:
    async def script(record: RawServer, reader: Reader, writer: Writer) -> None:
        while await record.next_request(reader):
            writer.write(answer(b"\x1f\x8b", extra=b"Content-Encoding: gzip\r\n"))
            await writer.drain()

    calls = [("/v1/sessions/get_session", b"{}", None, None, True)]
    lean, _ = await _over("lean", script, calls)
    plain, _ = await _over("httpx", script, calls)
    assert lean == plain and lean[0][0] == "error"
