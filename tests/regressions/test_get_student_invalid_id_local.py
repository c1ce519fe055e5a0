"""Finding: get_student with an id no student can have (NUL, 257 characters) is INVALID_DATA
on memory:// and through a server, but answers None on local:// (the backends disagree;
the contract's rule 'any text of 1 to 256 characters, no NUL' is not checked there)."""

from __future__ import annotations

from pathlib import Path

import pytest

from docstore import ErrorCode, PersistenceError, Session, open_store


@pytest.mark.parametrize("engine", ["memory", "local"])
@pytest.mark.parametrize("student_id", ["x\x00y", "e" * 257])
async def test_invalid_student_id_is_invalid_data(engine: str, student_id: str, tmp_path: Path) -> None:
    url = "memory://" if engine == "memory" else f"local://{tmp_path}/store"
    async with open_store(url) as store:
        session_id = await store.sessions.create_session(Session(join_code="gi11"))
        with pytest.raises(PersistenceError) as raised:
            await store.sessions.get_student(session_id, student_id)
        assert raised.value.code is ErrorCode.INVALID_DATA
