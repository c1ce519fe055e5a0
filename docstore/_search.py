"""``search_problems``'s rule, written once for every engine: what a query's words are,
which stored problems are hits, how hits rank, and what a damaged problem does to a search.

An engine only finds *candidates* with its own text index (``$text`` on MongoDB, a word
regex on ``memory://``, FTS5 on ``local://``), in two queries: the title hits first, then
(if they do not fill the page) any problem mentioning a word. Everything after that is
decided here, on the candidates' stored documents:

- A **hit** is a candidate whose title or description holds a query word, words being
  ``\\w+`` runs compared in lower case. A field that is not text has no words. The
  indexes disagree with this at the edges (``$text`` and FTS5 fold diacritics, so "cafe"
  finds "café"; a case-insensitive regex finds "sum" spelt with a long s, U+017F), so a candidate is not a
  hit until this rule says it is: the same data gives the same results on every engine.
- Hits rank by how many query words the title holds, then the description, then by
  title and id.
- **Only hits are validated.** A hit is a problem the search serves (or ranks against
  one it serves), so a damaged hit is STORAGE_ERROR naming it, as every read of it is.
  A damaged candidate that is no hit is passed over, not reported: which non-hits an
  engine's index returns is that index's accident (diacritics, case folding, the
  candidate cap), and a search must not fail on one engine and succeed on another over
  the same data. (Before this rule was shared, ``memory://`` and ``mongodb://``
  validated every candidate and ``local://`` only the hits.)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from ._arguments import check_limit
from ._mapping import from_document, invalid
from ._models import ProblemSpec
from ._page import Page

__all__ = [
    "MAX_QUERY_WORDS",
    "MAX_SEARCH_CANDIDATES",
    "more_candidates",
    "query_words",
    "ranked_hits",
    "with_more_candidates",
]

R = TypeVar("R")  # a candidate as the engine fetched it (a document, a row)

_WORD = re.compile(r"\w+")
# Words beyond this many are dropped (the first ones in sorted order are kept): a query
# is a few words typed by a person, and each word costs every engine one more clause.
MAX_QUERY_WORDS = 16
# The index finds candidates; ranking happens here, on at most this many per query.
MAX_SEARCH_CANDIDATES = 2000


def _words(text: object) -> set[str]:
    """The words of a stored field; a field that is not text (damaged) has none."""
    if not isinstance(text, str):
        return set()
    return {word.lower() for word in _WORD.findall(text)}


def query_words(query: object, limit: object) -> list[str]:
    """The words to search for (sorted, at most ``MAX_QUERY_WORDS``), the arguments checked.

    The query is only ever split into words: never used as a pattern or an operator.
    An empty list means the search finds nothing (the engine need not ask its index).
    """
    if not isinstance(query, str):
        raise invalid("query must be a string")
    check_limit(limit)
    return sorted(_words(query))[:MAX_QUERY_WORDS]


def more_candidates(title_hits: int, limit: int) -> int:
    """How many problems the second query (any field) fetches; 0: the title hits fill the page.

    Title hits come first, in a query of their own, so that a title hit is never cut off
    by description hits that happen to come first in storage order. The second query
    skips the title hits already fetched, so it fetches that many more: the cap counts
    new candidates on every engine.
    """
    if title_hits >= limit:
        return 0
    return MAX_SEARCH_CANDIDATES + title_hits


def with_more_candidates(title_hits: list[R], anywhere: Iterable[R], id_of: Callable[[R], object]) -> list[R]:
    """The title hits, then the second query's candidates that are not among them."""
    seen = {id_of(row) for row in title_hits}
    return title_hits + [row for row in anywhere if id_of(row) not in seen]


def ranked_hits(candidates: Iterable[Mapping[str, Any]], words: list[str], limit: int) -> Page[ProblemSpec]:
    """The first ``limit`` hits among the candidates' stored documents, best first.

    Every hit is validated (STORAGE_ERROR naming a damaged one); a candidate that is no
    hit is not (see the module's docstring for why).
    """
    wanted = set(words)
    ranked: list[tuple[int, int, str, str, ProblemSpec]] = []
    for raw in candidates:
        in_title = len(wanted & _words(raw.get("title")))
        in_description = len(wanted & _words(raw.get("description")))
        if in_title or in_description:
            problem = from_document(ProblemSpec, raw)
            ranked.append((-in_title, -in_description, problem.title, problem.id, problem))
    ranked.sort(key=lambda entry: entry[:4])
    return Page([entry[4] for entry in ranked[:limit]])
