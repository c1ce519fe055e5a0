"""Datetimes as every engine stores them: timezone-aware UTC, millisecond precision.

MongoDB keeps milliseconds and (without ``tz_aware``) hands back naive values;
truncating and tagging on the way in makes every engine return the same value
that the caller passed.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo

__all__ = ["parse_after", "to_utc_ms", "treat_as_utc", "utc_epoch", "utc_now"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NAIVE_EPOCH = datetime(1970, 1, 1)
_ZERO = timedelta(0)
# Zones known to be fixed at offset zero (a driver's own ``utc``), by id (a tzinfo need not be
# hashable), each with the epoch in that zone: ``treat_as_utc``.
_UTC_ZONES: dict[int, tuple[tzinfo, datetime]] = {}


def treat_as_utc(zone: tzinfo) -> None:
    """Let ``to_utc_ms`` convert datetimes in ``zone`` by arithmetic: ``zone`` must be fixed at offset zero.

    Only a zone whose offset is zero at every instant may be given (bson's ``utc``, which
    PyMongo and mongomock decode into): the arithmetic below does not ask it again.
    """
    if zone.utcoffset(None) != _ZERO or zone.dst(None) not in (None, _ZERO):
        raise ValueError(f"{zone!r} is not a zone fixed at offset zero")
    _UTC_ZONES[id(zone)] = (zone, datetime(1970, 1, 1, tzinfo=zone))


def utc_epoch(zone: tzinfo) -> datetime | None:
    """The epoch in ``zone`` if ``treat_as_utc`` was given it (a zone fixed at offset zero); else None."""
    known = _UTC_ZONES.get(id(zone))
    return known[1] if known is not None and known[0] is zone else None


def to_utc_ms(value: datetime) -> datetime:
    """Return ``value`` as aware UTC truncated to milliseconds (naive means UTC)."""
    zone = value.tzinfo
    if zone is not UTC:
        # The usual inputs (naive, or a driver's zero-offset zone) become the same wall time
        # in ``UTC`` by arithmetic: a third of ``replace``/``astimezone``'s cost, which every
        # datetime of every stored item read pays. Subclasses and folds take the general road.
        known = _UTC_ZONES.get(id(zone)) if zone is not None else None
        if type(value) is not datetime or value.fold:
            value = _general(value)
        elif zone is None:
            value = _EPOCH + (value - _NAIVE_EPOCH)
        elif known is not None and known[0] is zone:
            # Both operands in one zone subtract as wall times; at offset zero that is the UTC difference.
            value = _EPOCH + (value - known[1])
        else:
            value = _general(value)
    micro = value.microsecond % 1000
    return value.replace(microsecond=value.microsecond - micro) if micro else value


def _general(value: datetime) -> datetime:
    """``value`` in ``UTC`` (naive means UTC), with ``replace``/``astimezone``: any datetime."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        # A ValueError, so that pydantic reports it as a validation error of the field.
        raise ValueError("datetime is outside years 1-9999 once converted to UTC") from None


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
