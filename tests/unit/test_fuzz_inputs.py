"""Fuzz (issue 16.9, bounded): hostile values for the journal parser and the CLI's parsers.

Whatever the input, the outcome is a result or a one-line `UserInputError` — never another
exception type (which would reach the user as a traceback).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cvntrade.clock import parse_utc
from cvntrade.drill.journal_drill import generate_drill_trades
from cvntrade.errors import UserInputError
from cvntrade.journal.expectancy import parse_window
from cvntrade.journal.importer import parse_trades
from cvntrade.text import check_text

FUZZ = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None
)
COLUMNS = (
    "trade_id",
    "crypto_symbol",
    "strategy",
    "model_name",
    "model_version",
    "model_loss_function",
    "entry_time",
    "exit_time",
    "entry_price",
    "exit_price",
    "exit_reason",
    "fees_pct",
    "realized_pnl_pct",
    "probability",
    "side",
)
hostile = st.one_of(
    st.text(max_size=40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.binary(max_size=10),
    st.none(),
    st.booleans(),
    st.lists(st.integers(), max_size=2),
    st.sampled_from(["now", "1e308", "-1e308", "0001-01-01", "10:00", "30/11/2026", "[/]", "\x1b"]),
)


def _valid_row() -> dict[str, Any]:
    trade = generate_drill_trades("healthy", now=dt.datetime(2026, 11, 24), seed=1)[0]
    row = trade.as_row()
    del row["source"]
    return row


VALID = _valid_row()


def _one_line_user_error(call: Any) -> None:
    try:
        call()
    except UserInputError as exc:
        assert "\n" not in str(exc)


@FUZZ
@given(st.dictionaries(st.sampled_from(COLUMNS), hostile, min_size=1, max_size=4))
def test_journal_rows_parse_or_fail_with_one_line(overrides: dict[str, Any]) -> None:
    frame = pd.DataFrame(
        [VALID, {**VALID, **overrides, "trade_id": overrides.get("trade_id", "x")}]
    )
    _one_line_user_error(lambda: parse_trades(frame, "fuzz.csv"))


@FUZZ
@given(st.text(max_size=30))
def test_cli_time_window_and_reason_parsers_never_crash(text: str) -> None:
    _one_line_user_error(lambda: parse_utc(text, field="--now"))
    _one_line_user_error(lambda: parse_window(text))
    _one_line_user_error(lambda: check_text(text, "--reason", max_len=20))


@pytest.mark.parametrize("text", ["2026-11-24T12:00:00Z", "2026-11-24"])
def test_valid_times_still_parse(text: str) -> None:
    assert parse_utc(text).year == 2026
