"""What JSON would change on the way is refused by the client, not stored changed."""

from __future__ import annotations

import pytest

from docstore import ErrorCode, ProblemSpec, Session

from ..contract.helpers import expect_error
from .conftest import Served


@pytest.mark.parametrize("value", [float("nan"), float("inf")], ids=["nan", "inf"])
async def test_a_not_finite_float_inside_a_model_inside_updates_is_invalid_data(served: Served, value: float) -> None:
    # pydantic's JSON mode writes NaN as null: without the client's walk through models
    # held in an updates dict, the problem would be stored with extra["f"] = None.
    async with served.client() as remote:
        session_id = await remote.sessions.create_session(Session(join_code="NAN001"))
        problem = ProblemSpec(title="t", extra={"f": [1.0, value]})
        await expect_error(ErrorCode.INVALID_DATA, remote.sessions.update_session(session_id, {"problem": problem}))
        stored = await served.store.sessions.get_session(session_id)
        assert stored is not None and stored.problem is None


@pytest.mark.parametrize("session_id", ["a\ud800b", "x" * 100_000], ids=["lone-surrogate", "100k-chars"])
async def test_watching_a_session_id_no_url_can_carry_is_invalid_data_not_a_raw_error(
    served: Served, session_id: str
) -> None:
    """Found by the remote attack: the feed's session id travels in the URL, where httpx raised
    UnicodeEncodeError (a lone surrogate) or InvalidURL (a query over 64 KiB) out of watch()."""
    async with served.client() as remote:

        async def enter() -> None:  # refused when called (``require_id``, as a local feed) or on entering
            async with remote.sessions.watch(session_id):
                pass

        error = await expect_error(ErrorCode.INVALID_DATA, enter())
        assert "session id" in error.message
