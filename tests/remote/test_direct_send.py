"""A call handed to the client's transport directly (``_remote/_transport.Transport._send``)
is the request ``httpx.AsyncClient.request`` sends, with the same outcome.

Each case runs twice through one ``Transport``: the fast road (``params=None``, what every
repository call takes) and the slow one (``AsyncClient.request``, forced by passing
``params={}``, which adds nothing to the URL). A recording transport sees both requests.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from docstore import ErrorCode, PersistenceError, StorageConfig
from docstore._remote._transport import Transport


class Recorder(httpx.AsyncBaseTransport):
    """Answers from ``answer``; keeps what each request carried."""

    def __init__(self, answer: Any) -> None:
        self.answer = answer
        self.seen: list[tuple[Any, ...]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        self.seen.append(
            (request.method, str(request.url), request.headers.multi_items(), body, request.extensions.get("timeout"))
        )
        if isinstance(self.answer, Exception):
            raise self.answer
        status, content = self.answer
        return httpx.Response(status, content=content, headers={"content-type": "application/json"})


async def _both(answer: Any, **call: Any) -> tuple[list[tuple[Any, ...]], list[Any]]:
    """(outcome, request seen) of the fast road and of the slow road."""
    recorder = Recorder(answer)
    config = StorageConfig(url="http://server.invalid:8123/base/", token="a-token", socket_timeout_ms=4321)
    transport = Transport(config, injected=recorder)
    transport.open()
    outcomes: list[tuple[Any, ...]] = []
    roads: tuple[dict[str, Any] | None, ...] = (None, {})
    try:
        for params in roads:
            try:
                outcomes.append(("answer", await transport.request(params=params, **call)))
            except PersistenceError as exc:
                outcomes.append(("error", exc.code, exc.message))
    finally:
        await transport.close()
    half = len(recorder.seen) // 2
    return outcomes, [recorder.seen[:half], recorder.seen[half:]]


_texts = st.text(st.characters(exclude_categories=["Cs"]), max_size=6)
_statuses = st.sampled_from([200, 201, 204, 301, 400, 401, 403, 404, 409, 413, 422, 500, 503])
_answers = st.tuples(_statuses, st.binary(max_size=40))
_answers |= st.sampled_from(
    [
        (200, b'{"code": "NOT_FOUND", "message": "m"}'),
        (404, b'{"code": "NOT_FOUND", "message": "gone"}'),
        (409, b'{"code": "CONFLICT", "message": "stale"}'),
    ]
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    answer=_answers,
    method=st.sampled_from(["POST", "GET"]),
    body=st.none() | st.binary(max_size=30),
    namespace=st.none() | _texts,
    actor=st.none() | _texts,
    read=st.booleans(),
)
def test_fast_road_sends_and_answers_as_the_client_does(
    answer: Any, method: str, body: bytes | None, namespace: str | None, actor: str | None, read: bool
) -> None:
    call = {"method": method, "path": "/v1/sessions/get_session", "body": body, "read": read}
    outcomes, seen = asyncio.run(_both(answer, namespace=namespace, actor=actor, **call))
    assert outcomes[0] == outcomes[1]
    assert seen[0] == seen[1]
    assert len(seen[0]) == 1


@pytest.mark.parametrize(
    "failure",
    [
        httpx.ConnectError("refused"),
        httpx.ReadTimeout("slow"),
        httpx.PoolTimeout("busy"),
        httpx.ReadError("reset"),
        httpx.RemoteProtocolError("closed"),
        httpx.WriteError("broken"),
        httpx.UnsupportedProtocol("ftp"),
    ],
    ids=lambda e: type(e).__name__,
)
@pytest.mark.parametrize("read", [True, False])
async def test_failures_map_alike_with_the_same_retries(failure: Exception, read: bool) -> None:
    outcomes, seen = await _both(failure, method="POST", path="/v1/x/y", body=b"{}", read=read)
    assert outcomes[0] == outcomes[1]
    assert outcomes[0][0] == "error"
    assert outcomes[0][1] in (ErrorCode.UNAVAILABLE, ErrorCode.TIMEOUT)
    assert seen[0] == seen[1]  # a dropped read asked again on both roads, a write never


async def test_a_shut_down_transport_refuses_both_roads() -> None:
    transport = Transport(StorageConfig(url="http://server.invalid", token="t"), injected=Recorder((200, b"1")))
    transport.open()
    await transport.close()
    roads: tuple[dict[str, Any] | None, ...] = (None, {})
    for params in roads:
        with pytest.raises(PersistenceError) as refused:
            await transport.request("POST", "/v1/x/y", body=b"{}", params=params, read=True)
        assert refused.value.code is ErrorCode.STORAGE_ERROR
