"""Checks for free text typed by users (reasons, titles, actors, notes) before it is stored.

Text is stored and printed literally (never as markup), but control characters have no business
in an audit trail: an ESC sequence rewrites the operator's terminal, a NUL is refused by
PostgreSQL but kept by SQLite, a bidi override hides what a line really says. They are refused
with a `UserInputError` naming the field, before anything is written, so both backends agree.
"""

from __future__ import annotations

import unicodedata

from cvntrade.errors import UserInputError

_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_MULTILINE_ALLOWED = frozenset("\n\t")


def check_text(
    value: str, field: str, *, max_len: int | None = None, multiline: bool = False
) -> str:
    """`value` unchanged when acceptable; `UserInputError` naming `field` otherwise.

    Refused: control characters (category Cc; newline and tab only when `multiline`), bidi
    overrides, lone surrogates, and more than `max_len` characters.
    """
    for position, char in enumerate(value):
        if multiline and char in _MULTILINE_ALLOWED:
            continue
        category = unicodedata.category(char)
        if category in ("Cc", "Cs") or char in _BIDI_CONTROLS:
            raise UserInputError(
                f"{field} contains a control character (U+{ord(char):04X} at position "
                f"{position + 1}); use plain text"
            )
    if max_len is not None and len(value) > max_len:
        raise UserInputError(f"{field} is too long: {len(value)} characters, at most {max_len}")
    return value
