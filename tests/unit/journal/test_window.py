"""Window parsing for `cvntrade expectancy --window`."""

from __future__ import annotations

import datetime as dt

import pytest

from cvntrade.errors import UserInputError
from cvntrade.journal import parse_window


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("48h", dt.timedelta(hours=48)),
        ("7d", dt.timedelta(days=7)),
        ("90m", dt.timedelta(minutes=90)),
        ("2w", dt.timedelta(days=14)),
        (" 14d ", dt.timedelta(days=14)),
    ],
)
def test_windows_parse(text: str, expected: dt.timedelta) -> None:
    assert parse_window(text) == expected


@pytest.mark.parametrize("text", ["", "48", "h", "0h", "-1h", "48 hours", "1.5h", "3y"])
def test_bad_windows_are_rejected(text: str) -> None:
    with pytest.raises(UserInputError, match="invalid window"):
        parse_window(text)
