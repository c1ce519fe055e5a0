"""``_time.to_utc_ms``: its arithmetic roads give exactly what ``replace``/``astimezone`` gave.

Every datetime field of the domain models is validated through ``to_utc_ms``, so a
changed value here would change every read on every engine. ``reference`` is the rule as
it was written before the arithmetic (naive means UTC; other zones converted; truncated
to milliseconds); the property holds the function to it, value, type, zone and fold.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

import bson.tz_util
import pytest
from hypothesis import given
from hypothesis import strategies as st

import docstore._mapping  # noqa: F401  # registers bson's utc, as every engine's import does
from docstore._time import to_utc_ms, treat_as_utc


def reference(value: datetime) -> datetime:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    elif value.tzinfo is not UTC:
        try:
            value = value.astimezone(UTC)
        except OverflowError:
            raise ValueError("datetime is outside years 1-9999 once converted to UTC") from None
    micro = value.microsecond - value.microsecond % 1000
    return value if micro == value.microsecond else value.replace(microsecond=micro)


class Moment(datetime):
    """A datetime subclass: takes the general road."""


class Zero(tzinfo):
    """A zero-offset zone nobody registered."""

    def utcoffset(self, dt: datetime | None) -> timedelta:
        return timedelta(0)

    def dst(self, dt: datetime | None) -> timedelta:
        return timedelta(0)

    def tzname(self, dt: datetime | None) -> str:
        return "zero"


ZONES: list[tzinfo | None] = [
    None,
    UTC,
    bson.tz_util.utc,
    bson.tz_util.FixedOffset(0, "other"),
    bson.tz_util.FixedOffset(90, "+0130"),
    timezone(timedelta(hours=-5)),
    timezone(timedelta(0), "Z"),
    ZoneInfo("Europe/London"),
    Zero(),
]


def outcome(function: object, value: datetime) -> object:
    try:
        result = function(value)  # type: ignore[operator]
    except ValueError as exc:
        return ("ValueError", str(exc))
    return (result, type(result), result.tzinfo, result.fold, result.isoformat())


@given(
    moment=st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59, 999999)),
    zone=st.sampled_from(ZONES),
    fold=st.sampled_from([0, 1]),
    subclass=st.booleans(),
)
def test_to_utc_ms_gives_what_replace_and_astimezone_gave(
    moment: datetime, zone: tzinfo | None, fold: int, subclass: bool
) -> None:
    value = moment.replace(tzinfo=zone, fold=fold)
    if subclass:
        value = Moment(*value.timetuple()[:6], value.microsecond, tzinfo=zone, fold=fold)
    assert outcome(to_utc_ms, value) == outcome(reference, value)


def test_a_driver_datetime_becomes_utc_tagged() -> None:
    value = datetime(2026, 12, 4, 21, 0, 0, 123456, tzinfo=bson.tz_util.utc)
    converted = to_utc_ms(value)
    assert converted.tzinfo is UTC
    assert converted == datetime(2026, 12, 4, 21, 0, 0, 123000, tzinfo=UTC)


def test_treat_as_utc_refuses_a_zone_that_is_not_fixed_at_zero() -> None:
    with pytest.raises(ValueError, match="not a zone fixed at offset zero"):
        treat_as_utc(timezone(timedelta(hours=1)))
    with pytest.raises(ValueError, match="not a zone fixed at offset zero"):
        treat_as_utc(ZoneInfo("Europe/London"))


@given(
    moment=st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59, 999999)),
    zone=st.sampled_from(ZONES),
    fold=st.sampled_from([0, 1]),
)
def test_a_plain_revisions_datetime_is_what_the_rule_gives_or_left_to_pydantic(
    moment: datetime, zone: tzinfo | None, fold: int
) -> None:
    """``_plain._utc`` (hand-checked revisions) takes bson's utc by arithmetic too: same value or None."""
    from docstore._plain import _utc

    value = moment.replace(tzinfo=zone, fold=fold)
    converted = _utc(value)
    if converted is not None:
        assert outcome(lambda _: converted, value) == outcome(reference, value)


def test_utc_epoch_knows_only_the_zones_treated_as_utc() -> None:
    from docstore._time import utc_epoch

    assert utc_epoch(bson.tz_util.utc) == datetime(1970, 1, 1, tzinfo=UTC)
    assert utc_epoch(bson.tz_util.utc).tzinfo is bson.tz_util.utc  # type: ignore[union-attr]
    assert utc_epoch(bson.tz_util.FixedOffset(0, "other")) is None
    assert utc_epoch(UTC) is None
