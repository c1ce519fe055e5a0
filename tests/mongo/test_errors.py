"""Driver errors map to codes; passwords never leak."""

from __future__ import annotations

import pickle
import time

import pytest
from pymongo import errors

from docstore import ErrorCode, PersistenceError, open_store
from docstore._mongo._driver_errors import translate_error


@pytest.mark.parametrize(
    ("exception", "code"),
    [
        (errors.DuplicateKeyError("E11000", 11000), ErrorCode.ALREADY_EXISTS),
        (errors.ServerSelectionTimeoutError("no servers"), ErrorCode.UNAVAILABLE),
        (errors.AutoReconnect("connection reset"), ErrorCode.UNAVAILABLE),
        (errors.NetworkTimeout("timed out"), ErrorCode.TIMEOUT),
        (errors.ExecutionTimeout("maxTimeMS", 50), ErrorCode.TIMEOUT),
        (errors.WTimeoutError("w timeout", 64), ErrorCode.TIMEOUT),
        (errors.OperationFailure("Authentication failed.", 18), ErrorCode.PERMISSION_DENIED),
        (errors.OperationFailure("not authorized on db", 13), ErrorCode.PERMISSION_DENIED),
        (errors.DocumentTooLarge("too big"), ErrorCode.INVALID_DATA),
        (errors.OperationFailure("something else", 2), ErrorCode.STORAGE_ERROR),
        (errors.BulkWriteError({"writeErrors": [{"code": 11000}]}), ErrorCode.ALREADY_EXISTS),
    ],
)
def test_driver_errors_map_to_codes(exception: Exception, code: ErrorCode) -> None:
    assert translate_error(exception).code is code


def test_messages_mask_passwords() -> None:
    error = translate_error(errors.ServerSelectionTimeoutError("mongodb://admin:hunter2@db:27017 unreachable"))
    assert "hunter2" not in str(error) and "admin:***@" in str(error)


def test_errors_pickle_with_their_code() -> None:
    error = pickle.loads(pickle.dumps(PersistenceError(ErrorCode.CONFLICT, "v2 is not v1")))
    assert error.code is ErrorCode.CONFLICT and error.retryable


async def test_unreachable_mongodb_is_unavailable_within_the_timeout() -> None:
    # Port 9 on loopback: nothing listens, the connection is refused at once.
    store = open_store("mongodb://admin:hunter2@127.0.0.1:9/?directConnection=true", server_selection_timeout_ms=300)
    started = time.monotonic()
    with pytest.raises(PersistenceError) as caught:
        await store.initialize()
    assert caught.value.code is ErrorCode.UNAVAILABLE
    assert time.monotonic() - started < 5
    assert "hunter2" not in str(caught.value)
    assert not (await store.health()).ok
