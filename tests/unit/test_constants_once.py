"""A limit or a set of codes that two modules decide alike is defined once (issue 19: each
rule written once); these fail if a module grows its own copy again.

- the live feed's retention in time (README's "at most 1 hour" for memory:// and local://);
- which error codes waiting can fix (lazy connect's retries, the remote feed's reconnects),
  a subset of what ``PersistenceError.retryable`` says may succeed later.
"""

from __future__ import annotations

import inspect

from docstore import ErrorCode, PersistenceError, _changes, _connect, _errors, _memory_feed
from docstore._remote import _feed as remote_feed
from docstore._sqlite import _feed as sqlite_feed


def test_the_feeds_keep_positions_for_one_shared_time() -> None:
    assert _changes.RETENTION_S == 3600.0
    memory_default = inspect.signature(_memory_feed.MemoryChangeLog).parameters["retention_s"].default
    assert memory_default is _changes.RETENTION_S
    assert sqlite_feed.RETENTION_S is _changes.RETENTION_S


def test_what_waiting_can_fix_is_one_set_of_codes() -> None:
    assert {ErrorCode.UNAVAILABLE, ErrorCode.TIMEOUT} == _errors.TRANSIENT_CODES
    assert not hasattr(_connect, "_TRANSIENT") and not hasattr(remote_feed, "_TRANSIENT")
    for code in ErrorCode:
        transient = code in _errors.TRANSIENT_CODES
        assert not transient or PersistenceError(code, "x").retryable
