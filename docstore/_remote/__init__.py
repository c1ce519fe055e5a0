"""The remote backend (``http://`` and ``https://``): the repositories of a docstore server, over httpx."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ._asgi import StreamingASGITransport
from ._backend import RemoteBackend
from ._transport import IN_PROCESS

__all__ = ["RemoteBackend", "in_process"]

_numbers = itertools.count(1)


@contextmanager
def in_process(app: Any) -> Iterator[str]:
    """A URL that reaches the ASGI ``app`` in this process, without a socket (tests, embedding).

    with in_process(create_app(server_store)) as url:
        async with open_store(url, token=...) as store: ...
    """
    url = f"http://in-process-{next(_numbers)}.invalid"
    IN_PROCESS[url] = StreamingASGITransport(app)
    try:
        yield url
    finally:
        del IN_PROCESS[url]
