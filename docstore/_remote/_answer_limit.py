"""The bound on what a server's answer may make the client hold (``max_answer_mb``).

A hostile or broken server (or whatever answers at its address) could announce a 1 GB body,
stream without end, or send one line of a stream that never ends: without a bound, the client
holds all of it until the read timeout, which a dribbling server never trips. Every road
stops at the bound instead: the lean transport before it buffers a byte past it (a declared
``Content-Length`` over it is refused at the head), httpcore's road and an injected transport
as the body is read, and streamed answers (the live feed, ``iter_documents``) per line.

The bound is generous by default (256 MiB: a docstore answer is JSON of documents of at most
16 MB each; the one unpaged answer that grows without limit is
``get_all_session_revisions``, which a big session can push past it: read such a session with
``get_revisions`` pages, or raise ``max_answer_mb``). Past it the call is STORAGE_ERROR saying
so, never retried (asking again would read as much again).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx

__all__ = ["AnswerTooLarge", "bounded_body", "bounded_lines", "declared_length"]


class AnswerTooLarge(Exception):
    """An answer (or one line of a streamed answer) past ``max_answer_mb``: read no further."""

    def __init__(self, limit: int, what: str = "an answer") -> None:
        self.limit = limit
        super().__init__(
            f"{what} over max_answer_mb={limit // (1024 * 1024)} was refused, read no further "
            "(read large histories in pages with get_revisions, or raise max_answer_mb)"
        )


def declared_length(value: bytes | str | None) -> int | None:
    """A ``Content-Length`` value as a number (None when absent or not one: the parser judges it)."""
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        return None


async def bounded_body(response: httpx.Response, limit: int) -> bytes:
    """The whole body of ``response`` (not read yet, or read already), refused past ``limit``.

    Only for answers without a content coding (docstore asks for identity and refuses any
    other unread), so the bytes counted are the bytes on the wire.
    """
    try:
        content = response.content  # read already (a mock's answer, an in-process app's)
    except httpx.ResponseNotRead:
        pass
    else:
        await response.aclose()
        if len(content) > limit:
            raise AnswerTooLarge(limit)
        return content
    declared = declared_length(response.headers.get("content-length"))
    if declared is not None and declared > limit:
        await response.aclose()
        raise AnswerTooLarge(limit)
    chunks: list[bytes] = []
    total = 0
    try:
        async for chunk in response.aiter_raw():
            total += len(chunk)
            if total > limit:
                raise AnswerTooLarge(limit)
            chunks.append(chunk)
    finally:
        await response.aclose()
    return b"".join(chunks)


async def bounded_lines(chunks: AsyncIterator[bytes], limit: int) -> AsyncIterator[bytes]:
    """The lines of a byte stream split at LF (the LF dropped, a CR before it kept), each
    refused past ``limit`` bytes before more of it is held; a last line without LF included.

    Each chunk is searched once (a long line in many small chunks is not scanned again at
    every chunk, as splitting what is pending would)."""
    parts: list[bytes] = []
    size = 0
    async for chunk in chunks:
        start = 0
        while (end := chunk.find(b"\n", start)) >= 0:
            piece = chunk[start:end]
            if size + len(piece) > limit:
                raise AnswerTooLarge(limit, "a line of a streamed answer")
            yield b"".join((*parts, piece)) if parts else piece
            parts, size, start = [], 0, end + 1
        rest = chunk[start:]
        if rest:
            size += len(rest)
            if size > limit:
                raise AnswerTooLarge(limit, "a line of a streamed answer")
            parts.append(rest)
    if parts:
        yield b"".join(parts)
