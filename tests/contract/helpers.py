from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

import pytest

from docstore import ErrorCode, PersistenceError


async def expect_error(code: ErrorCode, awaitable: Awaitable[Any]) -> PersistenceError:
    """Await ``awaitable`` and check that it fails with ``code``."""
    with pytest.raises(PersistenceError) as caught:
        await awaitable
    assert caught.value.code is code, caught.value
    return caught.value
