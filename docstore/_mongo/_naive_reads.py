"""Item reads that let PyMongo skip the tzinfo of every datetime, where that changes nothing.

PyMongo decodes a tz-aware datetime at ~0.7 us more than a naive one (30 revisions: 105
against 38 us), and every datetime field of the domain types is a ``UtcDateTime``:
validation makes a naive value aware UTC (``_time.to_utc_ms``), so an item validated from
a naively decoded document is the very item it is from an aware one. Only free-form values
(``extra``, typed ``Any``) keep a datetime as decoded.

So the reads that return items (a session and its class, a page, the overview) ask the
driver for the documents undecoded (``RawBSONDocument``: their bytes), decode them in one
call naive, and decode again, aware and as the client would have, any document whose
free-form fields are not all empty (``_mapping.naive_times_suffice``): what the caller gets
is unchanged, down to a datetime inside ``extra``. A row kept for a listing's cursor is the
raw document itself, which decodes (lazily, aware) as the driver would have.

Only on PyMongo with docstore's own codec options (tz-aware, bson's ``utc``, dicts);
``memory://`` (mongomock) and any other setup read as before.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bson import decode, decode_all
from bson.codec_options import CodecOptions
from bson.raw_bson import RawBSONDocument
from bson.tz_util import utc
from pymongo.asynchronous.collection import AsyncCollection

__all__ = ["NaiveReader", "decoded", "naive_reader"]

NaiveCheck = Callable[[Mapping[str, Any]], bool]


@dataclass(frozen=True)
class NaiveReader:
    """A collection that answers undecoded documents, and the options to decode them with."""

    collection: Any
    naive: CodecOptions[dict[str, Any]]
    aware: CodecOptions[dict[str, Any]]


def naive_reader(collection: Any) -> NaiveReader | None:
    """The reader of ``collection`` if it is PyMongo's with docstore's codec options; else None."""
    if type(collection) is not AsyncCollection:
        return None
    options = collection.codec_options
    # tzinfo None: the decoder tags bson's ``utc`` (another zone would be a conversion naive reads skip).
    if not options.tz_aware or options.tzinfo not in (None, utc) or options.document_class is not dict:
        return None
    raw = collection.with_options(codec_options=options.with_options(document_class=RawBSONDocument))
    return NaiveReader(raw, options.with_options(tz_aware=False, tzinfo=None), options)


def decoded(reader: NaiveReader | None, rows: Sequence[Any], suffices: NaiveCheck) -> list[Any]:
    """``rows`` as the driver would have decoded them (dicts), read naive where ``suffices`` says it may.

    ``suffices(document)`` says whether the naively decoded ``document`` validates to the
    same item as the aware one; a document it refuses is decoded again, aware.
    """
    if reader is None or not rows or type(rows[0]) is not RawBSONDocument:
        return list(rows)
    documents: list[Any] = decode_all(b"".join([row.raw for row in rows]), reader.naive)
    for index, document in enumerate(documents):
        if not suffices(document):
            documents[index] = decode(rows[index].raw, reader.aware)
    return documents
