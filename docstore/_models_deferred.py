"""Whether docstore's pydantic models build their validators on first use (``defer_build``).

A new process that opens a ``local://`` store and reads a revision validates none of
the domain models (stored rows pass ``_plain``'s checks) nor its ``StorageConfig`` (a
plain URL is checked by hand, ``_config.py``): building them all at import, and the first
build loading pydantic's plugin machinery (``importlib.metadata``), cost such a process
~25 ms of ~235 (``scripts/bench_import_time.py``). A model is then built the first time
it validates or serializes anything, with the same schema, so the same answers and errors.

Only where pydantic makes that first build thread-safe (a lock in ``model_rebuild``,
pydantic 2.14): before it, two threads validating one deferred model for the first time
at once (an SQLite reader thread and the event loop) could race, so older versions
build at import as before.
"""

from __future__ import annotations

from pydantic.version import VERSION

__all__ = ["DEFER_BUILD"]

DEFER_BUILD = tuple(int(part) for part in VERSION.split(".")[:2]) >= (2, 14)
