"""The feed's retention trim: what it drops, and that it walks only what it drops.

A trim runs on every open and every ``TRIM_EVERY_S`` in the writer. It once found its
cutoff with ``max(seq) ... WHERE seq <= ? OR at < ?``, which SQLite answers by scanning the
whole log; the count of SQLite's virtual machine steps (not a time) shows the walk now
stops at the first change young enough.
"""

from __future__ import annotations

import sqlite3
import time

from hypothesis import given, settings
from hypothesis import strategies as st

from docstore._sqlite._feed import CHANGES_SCHEMA, trim_changes


def _log(ages: list[float]) -> sqlite3.Connection:
    """A log holding one change per age (seconds before now), in sequence order."""
    connection = sqlite3.connect(":memory:", isolation_level=None)
    for table in ("sessions", "session_students", "revisions"):  # what the triggers name
        connection.execute(f"CREATE TABLE {table} (id, namespace_id, session_id, student_id, doc, checksum)")
    connection.executescript(CHANGES_SCHEMA)
    connection.execute("CREATE TABLE IF NOT EXISTS feed_meta (key TEXT PRIMARY KEY, value) WITHOUT ROWID")
    now = time.time()
    connection.executemany(
        "INSERT INTO changes (session_id, kind, at) VALUES ('s', 'revision', ?)", [(now - age,) for age in ages]
    )
    return connection


def _kept(connection: sqlite3.Connection) -> list[int]:
    return [seq for (seq,) in connection.execute("SELECT seq FROM changes ORDER BY seq")]


@settings(max_examples=60, deadline=None)
@given(
    ages=st.lists(st.floats(min_value=0, max_value=7200), max_size=40).map(lambda xs: sorted(xs, reverse=True)),
    max_changes=st.integers(min_value=0, max_value=45),
)
def test_a_trim_keeps_the_newest_and_the_young_and_nothing_else(ages: list[float], max_changes: int) -> None:
    connection = _log(ages)
    before = _kept(connection)
    trim_changes(connection, max_changes=max_changes, retention_s=3600)
    # Ages well away from the boundary decide; one within a second of it may go either way.
    newest = len(before) - max_changes
    expected = [seq for seq, age in zip(before, ages, strict=True) if seq > newest and age < 3599]
    kept = _kept(connection)
    assert set(expected) <= set(kept)
    assert all(seq > newest and age < 3601 for seq, age in zip(before, ages, strict=True) if seq in kept)
    assert kept == before[len(before) - len(kept) :]  # what is dropped is a prefix of the log


def test_a_trim_of_a_young_log_walks_one_change_not_all() -> None:
    connection = _log([10.0] * 50_000)
    steps = 0

    def count() -> int:
        nonlocal steps
        steps += 1
        return 0

    connection.set_progress_handler(count, 100)
    trim_changes(connection)
    connection.set_progress_handler(None, 100)
    assert len(_kept(connection)) == 50_000
    # The full scan took ~50,000 rows x several VM steps each (> 2,000 ticks of 100).
    assert steps < 50, steps


def test_a_trim_drops_the_old_up_to_the_first_young_change() -> None:
    connection = _log([7000.0] * 30 + [5.0] * 20)
    assert trim_changes(connection, retention_s=3600) == 30
    assert _kept(connection) == list(range(31, 51))
