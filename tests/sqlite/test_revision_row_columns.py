"""A revision row's derived columns, written by the save's own path, are what ``_columns`` derives.

Every save writes its row without the generic column dict (``_tables._write``); the indexed
columns must still agree with the document, whatever a tool put in it (``Store.documents``).
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from docstore._sqlite._schema import create_schema
from docstore._sqlite._tables import _columns, insert_document, put_document

values = st.one_of(
    st.none(),
    st.text(max_size=8),
    st.integers(min_value=-(2**62), max_value=2**62),
    st.booleans(),
    st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2100, 1, 1)),
    st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)),
)
documents = st.fixed_dictionaries(
    {"_id": st.text(min_size=1, max_size=8)},
    optional={"namespace_id": values, "session_id": values, "student_id": values, "timestamp": values},
)


@settings(max_examples=150, deadline=None)
@given(document=documents, replace=st.booleans())
def test_a_revision_row_holds_the_columns_its_document_derives(document: dict[str, Any], replace: bool) -> None:
    connection = sqlite3.connect(":memory:", isolation_level=None)
    create_schema(connection)
    (put_document if replace else insert_document)(connection, "revisions", document)
    row = connection.execute(
        "SELECT namespace_id, session_id, student_id, timestamp FROM revisions WHERE id = ?", (document["_id"],)
    ).fetchone()
    assert row == tuple(_columns("revisions", document).values())
