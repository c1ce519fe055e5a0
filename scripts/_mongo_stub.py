"""A stub MongoDB wire server: answers each command from canned documents, as fast as it can.

    python scripts/_mongo_stub.py [--port 0]      # prints the port it listens on, then serves

Why: no MongoDB server runs on the machines this project is built on, and
``scripts/bench_mongo.py --stub`` needs a server to put docstore's ``mongodb://`` dialect
and raw PyMongo side by side. The stub does no query work (no matching beyond ``_id``,
no sorting, no storage of writes; a top-level projection is applied once per document and
kept), so a call through it costs the client almost all of its time: a ratio measured
against it is an upper bound of what a real server shows (a real server's own time is
added to both sides).

What it speaks: OP_MSG only (PyMongo >= 4.x sends nothing else; no compression, no
checksum), on 127.0.0.1. ``hello`` claims the primary of a one-member replica set with
``logicalSessionTimeoutMinutes``, so the driver allows sessions, retryable writes and
transactions. Reads answer from what ``stubLoad`` canned, per collection:

- ``find``: the document whose ``_id`` is the filter's ``_id`` (a plain value), else the
  collection's canned documents in canned order, cut at ``limit``; ``batchSize`` makes a
  cursor that ``getMore`` continues; a ``projection`` of top-level fields (all 1 or all 0,
  ``_id`` either way) is applied as MongoDB would (so a client that asks for less decodes
  less), any other projection ignored;
- ``aggregate``: the collection's canned aggregate result (``stubLoad ... aggregate=[...]``);
- ``findAndModify``: the canned document of the query's ``_id`` (else the first one), its
  ``fields`` projected as ``find``'s;
- ``insert``/``update``/``delete``: ``ok`` with ``n`` = the number of statements;
- ``listIndexes``: ``_id_`` only; ``listCollections``: the canned collection names;
  ``createIndexes``, ``commitTransaction``, ``abortTransaction``, ``endSessions``, ``ping``,
  ``buildInfo``, ``killCursors``, ``dropIndexes``, ``drop``, ``dropDatabase``: ``ok``.

Anything else is answered ``ok`` and named once on stderr. Its own commands (on any
database): ``stubLoad`` (collection, ``documents``, optional ``aggregate``), ``stubStats``
(commands answered by name, this process's CPU seconds), ``stubReset`` (counters to
zero), ``stubRecord`` (``on``: keep each find/aggregate/findAndModify/update/delete for
``stubLog``, which returns them).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import struct
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from typing import Any, cast

import bson
from bson.int64 import Int64
from bson.objectid import ObjectId
from bson.raw_bson import RawBSONDocument

__all__ = ["StubServer", "serve"]

_OP_MSG = 2013
_HEADER = struct.Struct("<iiii")
_INT = struct.Struct("<i")
_MORE_TO_COME = 1 << 1
_CHECKSUM = 1
# Wire version 21 is MongoDB 7.0: what the driver then believes the server can do.
_MAX_WIRE_VERSION = 21
_ELECTION_ID = ObjectId("7fffffff0000000000000001")
_OK_ONLY = frozenset(
    {
        "ping",
        "endSessions",
        "createIndexes",
        "dropIndexes",
        "commitTransaction",
        "abortTransaction",
        "killCursors",
        "drop",
        "dropDatabase",
        "create",
    }
)
_RECORDED = frozenset({"find", "aggregate", "findAndModify", "update", "delete", "count", "distinct"})


class StubServer:
    """The canned state and the answer to each command (one per process, shared by its connections)."""

    def __init__(self) -> None:
        self.port = 0
        self.documents: dict[str, list[RawBSONDocument]] = {}
        self.by_id: dict[str, dict[Any, RawBSONDocument]] = {}
        self.aggregates: dict[str, list[RawBSONDocument]] = {}
        self.counts: Counter[str] = Counter()
        self.recording = False
        self.log: list[dict[str, Any]] = []
        self._cursors: dict[int, tuple[str, list[RawBSONDocument]]] = {}
        self._next_cursor = 1
        self._connections = 0
        self._unknown: set[str] = set()
        # Projected documents, made once: (id of the canned document, the projection) -> it.
        self._projected: dict[_Shape, dict[int, RawBSONDocument]] = {}

    # -- the wire ------------------------------------------------------------------------
    def answer(self, message: bytes) -> bytes | None:
        """The reply to one whole message (None when the client asked for none)."""
        _, request_id, _, opcode = _HEADER.unpack_from(message)
        if opcode != _OP_MSG:
            raise ValueError(f"the stub speaks OP_MSG only, not opcode {opcode}")
        flags = _INT.unpack_from(message, 16)[0]
        end = len(message) - (4 if flags & _CHECKSUM else 0)
        body: dict[str, Any] = {}
        sequences: dict[str, list[bytes]] = {}
        position = 20
        while position < end:
            kind = message[position]
            position += 1
            size = _INT.unpack_from(message, position)[0]
            if kind == 0:
                body = bson.decode(message[position : position + size])
            else:
                name_end = message.index(b"\0", position + 4)
                name = message[position + 4 : name_end].decode()
                sequences[name] = _split_documents(message, name_end + 1, position + size)
            position += size
        try:
            reply = self.command(body, sequences)
        except Exception as exc:  # a command the stub cannot take: the client gets an error, not a hang
            reply = {"ok": 0.0, "errmsg": f"stub: {type(exc).__name__}: {exc}", "code": 1}
        if flags & _MORE_TO_COME:
            return None
        payload = bson.encode(reply)
        return _HEADER.pack(16 + 5 + len(payload), 0, request_id, _OP_MSG) + b"\0\0\0\0\0" + payload

    # -- the commands --------------------------------------------------------------------
    def command(self, body: dict[str, Any], sequences: dict[str, list[bytes]]) -> dict[str, Any]:
        name = next(iter(body))
        self.counts[name] += 1
        if self.recording and name in _RECORDED:
            self.log.append(body)
        handler = getattr(self, f"_{name}", None)
        if handler is not None:
            result: dict[str, Any] = handler(body, sequences)
            return result
        if name in _OK_ONLY:
            return {"ok": 1.0}
        if name not in self._unknown:
            self._unknown.add(name)
            print(f"stub: unknown command {name!r} answered ok: {body}", file=sys.stderr, flush=True)
        return {"ok": 1.0}

    def _hello(self, body: dict[str, Any], sequences: dict[str, list[bytes]]) -> dict[str, Any]:
        me = f"127.0.0.1:{self.port}"
        return {
            "helloOk": True,
            "isWritablePrimary": True,
            "ismaster": True,
            "secondary": False,
            "setName": "stub",
            "setVersion": 1,
            "electionId": _ELECTION_ID,
            "hosts": [me],
            "primary": me,
            "me": me,
            "maxBsonObjectSize": 16 * 1024 * 1024,
            "maxMessageSizeBytes": 48_000_000,
            "maxWriteBatchSize": 100_000,
            "localTime": datetime.now(UTC),
            "logicalSessionTimeoutMinutes": 30,
            "connectionId": self._connections,
            "minWireVersion": 0,
            "maxWireVersion": _MAX_WIRE_VERSION,
            "readOnly": False,
            "ok": 1.0,
        }

    _isMaster = _ismaster = _hello

    def _buildInfo(self, body: dict[str, Any], sequences: dict[str, list[bytes]]) -> dict[str, Any]:
        return {"version": "7.0.0-stub", "versionArray": [7, 0, 0, 0], "ok": 1.0}

    _buildinfo = _buildInfo

    def _find(self, body: dict[str, Any], sequences: dict[str, list[bytes]]) -> dict[str, Any]:
        collection = body["find"]
        filter = body.get("filter") or {}
        if "_id" in filter and _is_value(filter["_id"]):
            found = self.by_id.get(collection, {}).get(filter["_id"])
            documents = [] if found is None else [found]
        else:
            documents = self.documents.get(collection, [])
        limit = abs(body.get("limit") or 0)
        if limit:
            documents = documents[:limit]
        shape = _shape(body.get("projection"))
        if shape is not None:
            made = self._projected.setdefault(shape, {})
            # ``is None``, not ``or``: the truth of a RawBSONDocument decodes it.
            documents = [
                self._project(document, shape) if (kept := made.get(id(document))) is None else kept
                for document in documents
            ]
        return self._cursor(body, collection, documents, body.get("batchSize"), "firstBatch")

    def _project(self, document: RawBSONDocument, shape: _Shape) -> RawBSONDocument:
        """``document`` with a top-level projection (``_shape``) applied: made once, then kept."""
        made = self._projected.setdefault(shape, {}).get(id(document))
        if made is None:
            wanted = dict(shape)
            keep_id = wanted.pop("_id", True)
            including = any(wanted.values())
            fields = bson.decode(document.raw)
            kept = {
                key: value
                for key, value in fields.items()
                if (key == "_id" and keep_id) or (key != "_id" and wanted.get(key, not including))
            }
            made = self._projected[shape][id(document)] = RawBSONDocument(bson.encode(kept))
        return made

    def _aggregate(self, body: dict[str, Any], sequences: dict[str, list[bytes]]) -> dict[str, Any]:
        collection = body["aggregate"]
        rows = self.aggregates.get(collection, [])
        return self._cursor(body, collection, rows, (body.get("cursor") or {}).get("batchSize"), "firstBatch")

    def _getMore(self, body: dict[str, Any], sequences: dict[str, list[bytes]]) -> dict[str, Any]:
        cursor_id = int(body["getMore"])
        collection, rest = self._cursors.pop(cursor_id, (body["collection"], []))
        return self._cursor(body, collection, rest, body.get("batchSize"), "nextBatch")

    def _cursor(
        self, body: dict[str, Any], collection: str, documents: list[RawBSONDocument], batch: int | None, key: str
    ) -> dict[str, Any]:
        cursor_id = 0
        if batch and len(documents) > batch:
            cursor_id = self._next_cursor
            self._next_cursor += 1
            self._cursors[cursor_id] = (collection, documents[batch:])
            documents = documents[:batch]
        namespace = f"{body.get('$db', 'test')}.{collection}"
        return {"cursor": {key: documents, "id": Int64(cursor_id), "ns": namespace}, "ok": 1.0}

    def _findAndModify(self, body: dict[str, Any], sequences: dict[str, list[bytes]]) -> dict[str, Any]:
        collection = body["findAndModify"]
        query = body.get("query") or {}
        by_id = "_id" in query and _is_value(query["_id"])
        value: Any = self.by_id.get(collection, {}).get(query["_id"]) if by_id else None
        if value is None and not by_id and self.documents.get(collection):
            value = self.documents[collection][0]
        if value is not None:
            shape = _shape(body.get("fields"))
            value = value if shape is None else self._project(value, shape)
            return {"lastErrorObject": {"n": 1, "updatedExisting": True}, "value": value, "ok": 1.0}
        if body.get("upsert"):
            made = {key: item for key, item in query.items() if not isinstance(item, dict)}
            made["_metadata"] = {"version": 1}
            upserted = {"n": 1, "updatedExisting": False, "upserted": query.get("_id")}
            return {"lastErrorObject": upserted, "value": made, "ok": 1.0}
        return {"lastErrorObject": {"n": 0, "updatedExisting": False}, "value": None, "ok": 1.0}

    def _insert(self, body: dict[str, Any], sequences: dict[str, list[bytes]]) -> dict[str, Any]:
        return {"n": len(sequences.get("documents", body.get("documents", []))), "ok": 1.0}

    def _update(self, body: dict[str, Any], sequences: dict[str, list[bytes]]) -> dict[str, Any]:
        n = len(sequences.get("updates", body.get("updates", [])))
        return {"n": n, "nModified": n, "ok": 1.0}

    def _delete(self, body: dict[str, Any], sequences: dict[str, list[bytes]]) -> dict[str, Any]:
        return {"n": len(sequences.get("deletes", body.get("deletes", []))), "ok": 1.0}

    def _listIndexes(self, body: dict[str, Any], sequences: dict[str, list[bytes]]) -> dict[str, Any]:
        index = RawBSONDocument(bson.encode({"v": 2, "key": {"_id": 1}, "name": "_id_"}))
        return self._cursor(body, body["listIndexes"], [index], None, "firstBatch")

    def _listCollections(self, body: dict[str, Any], sequences: dict[str, list[bytes]]) -> dict[str, Any]:
        names = [RawBSONDocument(bson.encode({"name": name, "type": "collection"})) for name in sorted(self.documents)]
        return self._cursor(body, "$cmd.listCollections", names, None, "firstBatch")

    # -- the stub's own commands ---------------------------------------------------------
    def _stubLoad(self, body: dict[str, Any], sequences: dict[str, list[bytes]]) -> dict[str, Any]:
        collection = body["stubLoad"]
        documents = [RawBSONDocument(bson.encode(document)) for document in body.get("documents", [])]
        self.documents[collection] = documents
        self._projected.clear()
        self.by_id[collection] = {document["_id"]: document for document in documents}
        if "aggregate" in body:
            self.aggregates[collection] = [RawBSONDocument(bson.encode(row)) for row in body["aggregate"]]
        return {"n": len(documents), "ok": 1.0}

    def _stubStats(self, body: dict[str, Any], sequences: dict[str, list[bytes]]) -> dict[str, Any]:
        return {"commands": dict(self.counts), "cpu_s": time.process_time(), "ok": 1.0}

    def _stubReset(self, body: dict[str, Any], sequences: dict[str, list[bytes]]) -> dict[str, Any]:
        self.counts.clear()
        self.log.clear()
        return {"ok": 1.0}

    def _stubRecord(self, body: dict[str, Any], sequences: dict[str, list[bytes]]) -> dict[str, Any]:
        self.recording = bool(body.get("on", True))
        return {"ok": 1.0}

    def _stubLog(self, body: dict[str, Any], sequences: dict[str, list[bytes]]) -> dict[str, Any]:
        return {"commands": list(self.log), "ok": 1.0}

    def connected(self) -> None:
        self._connections += 1


_Shape = tuple[tuple[str, bool], ...]


def _shape(projection: Any) -> _Shape | None:
    """A top-level projection as a key (each field: kept or not); None for none, or one the stub ignores."""
    if not projection or not isinstance(projection, dict):
        return None
    if any(isinstance(value, dict) or "." in key for key, value in projection.items()):
        return None  # $meta, paths: not the stub's business
    return tuple(sorted((key, bool(value)) for key, value in projection.items()))


def _is_value(condition: Any) -> bool:
    """Whether an ``_id`` condition is one value the stub can look up (not an operator, a list)."""
    return not isinstance(condition, dict | list)


def _split_documents(message: bytes, start: int, end: int) -> list[bytes]:
    """The BSON documents of a document sequence (kept encoded: only their number is used)."""
    documents = []
    while start < end:
        size = _INT.unpack_from(message, start)[0]
        documents.append(message[start : start + size])
        start += size
    return documents


class _Connection(asyncio.Protocol):
    """One client connection: whole messages out of the byte stream, each answered at once."""

    def __init__(self, server: StubServer) -> None:
        self._server = server
        self._buffer = bytearray()
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self._server.connected()

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer
        buffer += data
        while len(buffer) >= 4:
            length = _INT.unpack_from(buffer)[0]
            if len(buffer) < length:
                return
            message = bytes(buffer[:length])
            del buffer[:length]
            reply = self._server.answer(message)
            if reply is not None and self._transport is not None:
                self._transport.write(reply)


async def serve(port: int = 0) -> tuple[StubServer, asyncio.Server]:
    """Start a stub on 127.0.0.1 (``port`` 0: any free one) in the running loop; the caller closes it."""
    stub = StubServer()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: _Connection(stub), "127.0.0.1", port)
    stub.port = server.sockets[0].getsockname()[1]
    return stub, server


async def _main(port: int) -> None:
    stub, server = await serve(port)
    print(stub.port, flush=True)
    loop = asyncio.get_running_loop()
    stopped = loop.create_future()

    def stop() -> None:
        if not stopped.done():
            stopped.set_result(None)

    # Serves until its parent closes our stdin (or the process is terminated).
    loop.add_reader(sys.stdin.fileno(), stop)
    with contextlib.suppress(asyncio.CancelledError):
        await stopped
    server.close()
    await server.wait_closed()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    try:  # uvloop (docstore[server] brings it): a third less of the stub's CPU per command
        import uvloop
    except ImportError:
        asyncio.run(_main(args.port))
    else:
        uvloop.run(_main(args.port))


if __name__ == "__main__":
    main()
