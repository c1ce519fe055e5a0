"""A ``find()`` cursor's results without copying the documents past its page.

mongomock filters a collection, sorts what matched, then copies *every* match (a deep copy,
each datetime made timezone-aware) and only then applies skip and limit. A page of 20
problems among 250 matches copied 250: ~4 of the ~7 ms the memory engine spent on
``list_problems`` in ``scripts/bench_remote.py``, in the direct call and in ``docstore serve``
alike. Here the very same sorted stream (mongomock's ``_get_dataset``, through the cursor's
``_factory``) is read no further than ``skip + limit`` documents, each copied and made aware
by the same mongomock functions: the same documents in the same order
(``tests/mongo/test_cursor_page.py`` holds it to ``_compute_results`` over generated
collections, filters, sorts, skips and limits).
"""

from __future__ import annotations

import sys
from itertools import islice
from typing import Any

from mongomock import helpers

__all__ = ["cursor_results"]

# mongomock's own conversion (untyped there), as ``_compute_results`` applies it.
_made_aware: Any = helpers.make_datetime_timezone_aware_in_document


def cursor_results(cursor: Any) -> list[Any]:
    """What ``cursor._compute_results(with_limit_and_skip=True)`` returns, for a mongomock cursor."""
    limit, skip = cursor._limit, cursor._skip
    if not limit or type(limit) is not int or type(skip) is not int or not 0 <= skip + abs(limit) <= sys.maxsize:
        # No limit (every match is returned anyway), or what mongomock slices its own way (a
        # skip past what ``islice`` takes: an offset near 2**63 is a valid argument).
        return list(cursor._compute_results(with_limit_and_skip=True))
    # A negative limit is a limit of its size (one batch, then the cursor closes), as in mongomock.
    page = list(islice(cursor._factory(), skip, skip + abs(limit)))
    if cursor.collection.codec_options.tz_aware:
        return [_made_aware(document) for document in page]
    return page
