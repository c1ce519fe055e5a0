"""Datetimes as every engine stores them: timezone-aware UTC, millisecond precision.

MongoDB keeps milliseconds and (without ``tz_aware``) hands back naive values;
truncating and tagging on the way in makes every engine return the same value
that the caller passed.
"""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["to_utc_ms", "utc_now"]


def to_utc_ms(value: datetime) -> datetime:
    """Return ``value`` as aware UTC truncated to milliseconds (naive means UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    elif value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    micro = value.microsecond - value.microsecond % 1000
    return value if micro == value.microsecond else value.replace(microsecond=micro)


def utc_now() -> datetime:
    return to_utc_ms(datetime.now(UTC))
