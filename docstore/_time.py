"""Datetimes as every engine stores them: timezone-aware UTC, millisecond precision.

MongoDB keeps milliseconds and (without ``tz_aware``) hands back naive values;
truncating and tagging on the way in makes every engine return the same value
that the caller passed.
"""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["parse_after", "to_utc_ms", "utc_now"]


def to_utc_ms(value: datetime) -> datetime:
    """Return ``value`` as aware UTC truncated to milliseconds (naive means UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    elif value.tzinfo is not UTC:
        try:
            value = value.astimezone(UTC)
        except OverflowError:
            # A ValueError, so that pydantic reports it as a validation error of the field.
            raise ValueError("datetime is outside years 1-9999 once converted to UTC") from None
    micro = value.microsecond - value.microsecond % 1000
    return value if micro == value.microsecond else value.replace(microsecond=micro)


def utc_now() -> datetime:
    return to_utc_ms(datetime.now(UTC))


def parse_after(value: object) -> datetime:
    """A point in time given as a datetime or an ISO 8601 string (naive means UTC)."""
    from ._errors import ErrorCode, PersistenceError

    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00") if value.endswith("Z") else value)
        except ValueError:
            raise PersistenceError(ErrorCode.INVALID_DATA, f"after: {value!r} is not an ISO 8601 datetime") from None
    if not isinstance(value, datetime):
        raise PersistenceError(ErrorCode.INVALID_DATA, "after must be a datetime or an ISO 8601 string")
    try:
        return to_utc_ms(value)
    except ValueError as exc:
        raise PersistenceError(ErrorCode.INVALID_DATA, f"after: {exc}") from None
