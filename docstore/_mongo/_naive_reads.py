"""Item reads that let PyMongo skip the tzinfo of every datetime, where that changes nothing.

PyMongo decodes a tz-aware datetime at ~0.7 us more than a naive one (30 revisions: 105
against 38 us), and every datetime field of the domain types is a ``UtcDateTime``:
validation makes a naive value aware UTC (``_time.to_utc_ms``), so an item validated from
a naively decoded document is the very item it is from an aware one. Only free-form values
(``extra``, typed ``Any``) keep a datetime as decoded.

So the reads that return items (a session and its class, a page, the overview) go through
the collection with the client's codec options but naive datetimes, and a document whose
free-form fields are not all empty (``_naive_times.naive_times_suffice``) is made again as the
client decodes it: encoded (a naive datetime encodes as the UTC instant it stands for, so
the document's values are those it was decoded from) and decoded aware. What the caller
gets is unchanged, down to a datetime inside ``extra``; ``aware_value`` gives a listing's
cursor the value the driver would have decoded.

Only on PyMongo with docstore's own codec options (tz-aware, bson's ``utc``, dicts);
``memory://`` (mongomock) and any other setup read as before.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bson import decode, encode
from bson.codec_options import CodecOptions
from bson.tz_util import utc
from pymongo.asynchronous.collection import AsyncCollection

__all__ = ["NaiveCheck", "NaiveReader", "aware_value", "naive_reader"]

# Whether a naively decoded document validates to the same item as the aware one.
NaiveCheck = Callable[[Mapping[str, Any]], bool]


@dataclass(frozen=True)
class NaiveReader:
    """One PyMongo collection decoding datetimes naive, and the client's own options."""

    collection: Any
    aware: CodecOptions[dict[str, Any]]

    async def find(
        self,
        filter: Mapping[str, Any],
        projection: Mapping[str, Any] | None,
        suffices: NaiveCheck,
        *,
        sort: list[tuple[str, int]] | None = None,
        skip: int = 0,
        limit: int = 0,
        session: Any = None,
    ) -> list[dict[str, Any]]:
        """``find``'s documents (what ``to_list`` gives), naive where ``suffices`` allows."""
        found = self.collection.find(filter, projection, sort=sort, skip=skip, limit=limit, session=session)
        return self.settled(await found.to_list(None), suffices)

    async def find_one(
        self, filter: Mapping[str, Any], projection: Mapping[str, Any] | None, suffices: NaiveCheck, **options: Any
    ) -> dict[str, Any] | None:
        """``find_one``'s document, naive where ``suffices`` allows."""
        found: dict[str, Any] | None = await self.collection.find_one(filter, projection, **options)
        return None if found is None else self.settled([found], suffices)[0]

    async def aggregate(self, pipeline: list[dict[str, Any]], suffices: NaiveCheck) -> list[dict[str, Any]]:
        """``aggregate``'s rows, naive where ``suffices`` allows."""
        return self.settled(await (await self.collection.aggregate(pipeline)).to_list(None), suffices)

    def settled(self, documents: list[dict[str, Any]], suffices: NaiveCheck) -> list[dict[str, Any]]:
        """``documents``, each one ``suffices`` refuses made again as the client decodes it."""
        for index, document in enumerate(documents):
            if not suffices(document):
                documents[index] = decode(encode(document), self.aware)
        return documents


def naive_reader(collection: Any) -> NaiveReader | None:
    """The reader of ``collection`` if it is PyMongo's with docstore's codec options; else None."""
    if type(collection) is not AsyncCollection:
        return None
    options = collection.codec_options
    # tzinfo None: the decoder tags bson's ``utc`` (another zone would be a conversion naive reads skip).
    if not options.tz_aware or options.tzinfo not in (None, utc) or options.document_class is not dict:
        return None
    naive = collection.with_options(codec_options=options.with_options(tz_aware=False, tzinfo=None))
    return NaiveReader(naive, options)


def aware_value(value: Any) -> Any:
    """A listing's sort value as the client would have decoded it: a naive datetime tagged with bson's ``utc``.

    A page's cursor holds the last item's stored sort value; every sort key is a scalar field
    of a validated item (a datetime, text, a number or None), so only a datetime differs.
    """
    if type(value) is datetime and value.tzinfo is None:
        return value.replace(tzinfo=utc)
    return value
