"""The garbage collector while an import runs: its youngest generation collected less often.

Why: CPython collects its youngest generation after 700 more container objects were made
than freed. An import keeps ~10 of them per record alive until the record's batch is written
(the document, the raw record and its parts, where it came from), so every batch crossed
that line a dozen times, and each crossing moved the batch a generation older, until the
oldest generation's full collections, which walk every object of the process (on
``memory://`` every stored document too), ran every few batches: 12-36% of an import's CPU
time at 100,000 revisions (``scripts/bench_import.py`` prints the share), against 5-44% for
a raw ``upsert_documents`` of the same documents.

Memory stays bounded: objects are still freed the moment their last reference goes, and
reference cycles (which only the collector frees) are still collected, after
``threshold`` more allocations than frees instead of 700. The threshold is the process's
(the collector has no other), so it is raised only for as long as an import runs, and only
if the process has not turned automatic collection off; the last import to end puts back
what it found, unless someone else changed it meanwhile.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator

__all__ = ["YOUNGEST_THRESHOLD", "fewer_collections"]

# Two batches of the default size (the one written, the one built) at ~10 containers a
# record stay far below this; a larger batch raises it in proportion (``_PER_RECORD``).
YOUNGEST_THRESHOLD = 50_000
_PER_RECORD = 25

_lock = threading.Lock()
_running = 0
_found: tuple[int, int, int] | None = None  # the thresholds the first running import found
_set: tuple[int, int, int] | None = None  # the thresholds it set


@contextlib.contextmanager
def fewer_collections(batch_size: int) -> Iterator[None]:
    """Raise the youngest generation's threshold while the block runs (see the module's docstring)."""
    global _running, _found, _set
    with _lock:
        if _running == 0:
            found = gc.get_threshold()
            if gc.isenabled() and found[0] > 0:
                wanted = (max(found[0], YOUNGEST_THRESHOLD, _PER_RECORD * batch_size), found[1], found[2])
                gc.set_threshold(*wanted)
                _found, _set = found, wanted
        _running += 1
    try:
        yield
    finally:
        with _lock:
            _running -= 1
            if _running == 0 and _found is not None:
                if gc.get_threshold() == _set:
                    gc.set_threshold(*_found)
                _found = _set = None
