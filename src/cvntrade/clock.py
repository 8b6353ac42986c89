"""Time in one place: naive UTC datetimes and an injectable clock (replay, drills, tests)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from cvntrade.errors import UserInputError

Clock = Callable[[], dt.datetime]
EARLIEST = dt.datetime(2000, 1, 1)
LATEST = dt.datetime(2100, 1, 1)
"""User-given times outside [2000, 2100) are typos (and overflow window arithmetic)."""


def utc_now() -> dt.datetime:
    """Now, as a naive datetime in UTC (how every timestamp column stores time)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def to_naive_utc(value: dt.datetime) -> dt.datetime:
    """Convert an aware datetime to naive UTC; a naive one is taken to be UTC already."""
    if value.tzinfo is None:
        return value
    return value.astimezone(dt.UTC).replace(tzinfo=None)


def parse_utc(text: str, *, field: str = "time") -> dt.datetime:
    """Parse an ISO-8601 timestamp given by a user into naive UTC (no offset = UTC)."""
    try:
        value = to_naive_utc(dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00")))
    except (ValueError, OverflowError):
        raise UserInputError(
            f"invalid {field} {text!r}: expected ISO-8601, e.g. 2026-11-24T12:00:00Z"
        ) from None
    if not EARLIEST <= value < LATEST:
        raise UserInputError(
            f"invalid {field} {text!r}: must be between {EARLIEST:%Y} and {LATEST:%Y}"
        )
    return value


def fixed_clock(at: dt.datetime) -> Clock:
    """A clock frozen at `at` (naive UTC)."""
    frozen = to_naive_utc(at)
    return lambda: frozen
