"""Driver exceptions -> ``PersistenceError`` codes, with passwords masked.

``translate_error`` maps one exception (PyMongo's, BSON's, a pydantic validation of a
stored document); ``translated`` wraps a repository method so that driver, BSON,
validation and OS errors leave it as ``PersistenceError``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine
from typing import Any, ParamSpec, TypeVar

import bson.errors
from pydantic import ValidationError
from pymongo import errors

from .._config import mask_secrets
from .._errors import ErrorCode, PersistenceError

__all__ = ["translate_error", "translated"]

P = ParamSpec("P")
R = TypeVar("R")

_MAX_MESSAGE = 500
_AUTH_CODES = frozenset({13, 18, 8000})  # Unauthorized, AuthenticationFailed, Atlas auth
_WRITE_CONCERN_TIMEOUT = 64  # WriteConcernFailed: wtimeout expired
_TOO_LARGE_CODES = frozenset({10334, 17419, 17420})  # an update would grow a document past 16 MB


def _code_for(exc: BaseException) -> ErrorCode:
    # Order matters: the specific classes subclass the generic ones.
    if isinstance(exc, errors.DuplicateKeyError):
        return ErrorCode.ALREADY_EXISTS
    if isinstance(exc, errors.BulkWriteError):
        write_errors = exc.details.get("writeErrors", [])
        concern_errors = exc.details.get("writeConcernErrors", [])
        if concern_errors:
            # The writes happened but are not known to be durable (no majority in time):
            # never "already exists", which would tell the caller nothing was written.
            timed_out = any(
                e.get("code") == _WRITE_CONCERN_TIMEOUT or e.get("errInfo", {}).get("wtimeout") for e in concern_errors
            )
            return ErrorCode.TIMEOUT if timed_out else ErrorCode.STORAGE_ERROR
        if write_errors and all(e.get("code") == 11000 for e in write_errors):
            return ErrorCode.ALREADY_EXISTS
        return ErrorCode.STORAGE_ERROR
    if isinstance(exc, errors.ServerSelectionTimeoutError):
        # No server answered within serverSelectionTimeoutMS: it is not there.
        return ErrorCode.UNAVAILABLE
    if isinstance(exc, errors.NetworkTimeout | errors.ExecutionTimeout | errors.WTimeoutError):
        return ErrorCode.TIMEOUT
    if isinstance(exc, errors.ConnectionFailure):
        return ErrorCode.UNAVAILABLE
    if isinstance(exc, errors.OperationFailure) and exc.code in _AUTH_CODES:
        return ErrorCode.PERMISSION_DENIED
    if isinstance(exc, errors.OperationFailure) and exc.code in _TOO_LARGE_CODES:
        return ErrorCode.INVALID_DATA
    if isinstance(exc, errors.DocumentTooLarge | bson.errors.InvalidDocument | bson.errors.InvalidStringData):
        return ErrorCode.INVALID_DATA
    if isinstance(exc, UnicodeError | ValidationError | OverflowError | RecursionError):
        return ErrorCode.INVALID_DATA
    if isinstance(exc, TimeoutError):
        return ErrorCode.TIMEOUT
    return ErrorCode.STORAGE_ERROR


def translate_error(exc: BaseException) -> PersistenceError:
    if isinstance(exc, PersistenceError):
        return exc
    code = _code_for(exc)
    text = str(exc)
    if isinstance(exc, errors.ServerSelectionTimeoutError):
        # The driver appends its whole topology description; the first part says it all.
        text = "no MongoDB server answered: " + text.split(", Timeout:")[0].split(" (configured timeouts")[0]
    return PersistenceError(code, mask_secrets(f"{type(exc).__name__}: {text}")[:_MAX_MESSAGE])


# OSError: a socket or file error below the driver.
_TRANSLATED = (
    errors.PyMongoError,
    bson.errors.BSONError,
    UnicodeError,
    ValidationError,
    TimeoutError,
    OSError,
    OverflowError,
    RecursionError,
)


def translated(method: Callable[P, Coroutine[Any, Any, R]]) -> Callable[P, Coroutine[Any, Any, R]]:
    """Decorate a repository method so that only ``PersistenceError`` escapes it."""

    @functools.wraps(method)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await method(*args, **kwargs)
        except _TRANSLATED as exc:
            # `from None`: the driver's traceback may quote the URL with its password.
            raise translate_error(exc) from None

    return wrapper
