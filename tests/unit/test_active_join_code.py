"""The join code a stored session holds (the unique index's field on the MongoDB dialect, its
column on SQLite) is one rule, ``docstore._backend_common.active_join_code``: normalized,
and only while the session is active. It was written twice (``_mongo/_sessions.py``,
``_sqlite/_tables.py``); both engines' stored forms must follow the one rule.
"""

from __future__ import annotations

from typing import Any

import pytest

from docstore._backend_common import active_join_code
from docstore._mongo._indexes import ACTIVE_JOIN_CODE
from docstore._mongo._sessions import with_active_join_code

CASES: list[tuple[dict[str, Any], str | None]] = [
    ({"active": True, "join_code": " ab12 "}, "AB12"),
    ({"active": 1, "join_code": "x"}, "X"),  # written by a tool: truthy counts
    ({"active": False, "join_code": "AB12"}, None),
    ({"join_code": "AB12"}, None),
    ({"active": True, "join_code": 5}, None),
    ({"active": True, "join_code": "   "}, None),
    ({"active": True}, None),
]


@pytest.mark.parametrize(("document", "held"), CASES)
def test_a_session_holds_its_normalized_code_only_while_active(document: dict[str, Any], held: str | None) -> None:
    assert active_join_code(document) == held
    assert with_active_join_code(document).get(ACTIVE_JOIN_CODE) == held
