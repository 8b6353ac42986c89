"""`cvntrade.text.check_text`: user text with control characters is refused, naming the field."""

from __future__ import annotations

import pytest

from cvntrade.errors import UserInputError
from cvntrade.text import check_text


@pytest.mark.parametrize(
    "value",
    ["fix [/bold] rollout", "BTC [/] down :rocket:", "ünïcødé — ok", "tabs"],
)
def test_plain_text_is_accepted_unchanged(value: str) -> None:
    assert check_text(value, "--reason") == value


@pytest.mark.parametrize(
    "value", ["a\x1b[31mb", "a\rb", "a\x00b", "a\nb", "a\tb", "a\x7fb", "a\u202eb", "a\ud800b"]
)
def test_control_characters_are_refused_with_the_field_name(value: str) -> None:
    with pytest.raises(UserInputError, match=r"--reason contains a control character"):
        check_text(value, "--reason")


def test_multiline_allows_newline_and_tab_only() -> None:
    assert check_text("one\n\ttwo", "note", multiline=True) == "one\n\ttwo"
    with pytest.raises(UserInputError, match="note contains"):
        check_text("one\x1b", "note", multiline=True)


def test_length_is_checked() -> None:
    assert check_text("x" * 120, "--actor", max_len=120)
    with pytest.raises(UserInputError, match="--actor is too long: 121 characters, at most 120"):
        check_text("x" * 121, "--actor", max_len=120)
