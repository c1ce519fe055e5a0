"""The instructor overview on ``memory://``: each group's newest document, kept up to date by inserts.

The overview's aggregation (``$match`` of string equalities, ``$sort`` ending in the group
field then newest first, ``$group`` taking each group's ``$first``) is answered by one pass
over the session's stored documents (``_mongomock_fast_paths``). A pass over 6,000
revisions is ~1 us a document; an instructor asks again every few seconds while students
post. So each answer is kept: the winner of each group, as (sort key, id). An insert only
ever adds candidates, so the ids inserted since an answer are all it needs to look at to
be current again (a failed insert leaves an id whose stored document is absent, or is the
one already there: looked at again, it changes nothing). Any other write may move a
document out of its group or back in time: every answer is dropped, and the next read makes
a full pass.

A document the pass cannot order exactly as MongoDB does (a group key that is not text, a
sort value that is not a datetime or text, a list or sub-document where an equality is
asked) sends the whole aggregation back to mongomock, as before.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from itertools import chain
from operator import itemgetter
from typing import Any

__all__ = ["LatestPerGroup"]

_ANSWERS_KEPT = 64  # overview shapes (a session, a namespace) remembered at once
_INSERTS_KEPT = 100_000  # ids inserted and not yet taken in by every answer: beyond, start afresh


class _Unordered(Exception):
    """A document the pass cannot order as MongoDB does: mongomock answers."""


@dataclass
class _Answer:
    best: dict[Any, tuple[Any, Any]]  # group -> (sort key, id) of its newest document
    taken: int  # how many of the inserted ids ``best`` holds already


class LatestPerGroup:
    """Each overview shape's answer, brought up to date by the ids inserted since."""

    def __init__(self) -> None:
        self._answers: dict[tuple[Any, ...], _Answer] = {}
        self._inserted: list[Any] = []

    def inserting(self, documents: Iterable[dict[str, Any]]) -> None:
        """Call before an insert: its ids are what the answers take in next."""
        if not self._answers:
            return
        for document in documents:
            if "_id" not in document:  # mongomock will make one: which, nobody here knows
                self.forget()
                return
            self._inserted.append(document["_id"])
        if len(self._inserted) > _INSERTS_KEPT:
            self.forget()

    def forget(self) -> None:
        """Call before any write but an insert: the next read makes a full pass."""
        self._answers.clear()
        self._inserted.clear()

    def first_ids(
        self,
        documents: dict[Any, dict[str, Any]],
        candidates: Iterable[Any],
        match: dict[str, str],
        descending: list[str],
        field: str,
    ) -> list[Any] | None:
        """The id of each group's first document, groups in order; None: mongomock's to answer.

        ``candidates``: the ids of every stored document that may match (an equality
        index's), read only when this shape has no answer yet.
        """
        shape = (tuple(match.items()), tuple(descending), field)
        answer = self._answers.get(shape)
        try:
            if answer is None:
                answer = _Answer({}, len(self._inserted))
                _take(answer.best, documents, candidates, match, descending, field)
                if len(self._answers) >= _ANSWERS_KEPT:
                    del self._answers[next(iter(self._answers))]  # the oldest
                self._answers[shape] = answer
            elif answer.taken < len(self._inserted):
                _take(answer.best, documents, self._inserted[answer.taken :], match, descending, field)
                answer.taken = len(self._inserted)
        except _Unordered:
            self._answers.pop(shape, None)
            return None
        if all(kept.taken == len(self._inserted) for kept in self._answers.values()):
            self._inserted.clear()  # every answer holds them: the log starts again
            for kept in self._answers.values():
                kept.taken = 0
        return [answer.best[group][1] for group in sorted(answer.best)]


def _take(
    best: dict[Any, tuple[Any, Any]],
    documents: dict[Any, dict[str, Any]],
    ids: Iterable[Any],
    match: dict[str, str],
    descending: list[str],
    field: str,
) -> None:
    """Each stored document of ``ids`` that matches, made its group's winner if it is newer.

    One tight loop (6,000 documents in a few ms): no Python call per document; the kinds of
    the group and sort keys met are checked once, after.
    """
    pinned = list(match.items())
    groups: list[Any] = []
    keys: list[Any] = []
    get, best_of, add_group, add_key = documents.get, best.get, groups.append, keys.append
    key_of = itemgetter(*descending) if len(descending) > 1 else lambda document: (document[descending[0]],)
    try:
        for document_id in ids:
            document = get(document_id)  # read only, in place: mongomock never yields mid-call
            if document is None:
                continue
            for name, value in pinned:
                held = document.get(name)
                if held != value:
                    if isinstance(held, list | dict):
                        raise _Unordered(name)  # MongoDB equality may match inside it
                    break
            else:
                group = document.get(field)
                key = key_of(document)
                add_group(group)
                add_key(key)
                known = best_of(group)
                if known is None or key > known[0]:
                    best[group] = (key, document_id)
    except (KeyError, TypeError) as error:
        raise _Unordered from error  # a missing sort field (null), an unhashable group, a datetime beside a text
    # Only datetimes (all aware, or the comparison above raised) and texts compare in Python
    # as MongoDB compares them; any other kind orders by BSON type rules.
    if not set(map(type, groups)).union(map(type, chain.from_iterable(keys))) <= {datetime, str}:
        raise _Unordered(field)
