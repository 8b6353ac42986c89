"""Trade file validation: every bad row is named, nothing half-parsed gets through."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import pytest

from cvntrade.errors import UserInputError
from cvntrade.journal.importer import parse_trades

GOOD: dict[str, Any] = {
    "trade_id": "t-1",
    "crypto_symbol": "BTCUSDC",
    "strategy": "SL0.5_TP1_H4",
    "model_name": "CVNTrade_XGBoost_BTCUSDC_SL0.5_TP1_H4",
    "model_version": "42",
    "model_loss_function": "focal",
    "entry_time": "2026-11-24T10:00:00Z",
    "exit_time": "2026-11-24T12:00:00Z",
    "entry_price": "91000",
    "exit_price": "91910",
    "exit_reason": "take_profit",
    "fees_pct": "0.1",
    "realized_pnl_pct": "0.9",
}


def _frame(*overrides: dict[str, Any]) -> pd.DataFrame:
    rows = [{**GOOD, "trade_id": f"t-{i}", **o} for i, o in enumerate(overrides, start=1)]
    return pd.DataFrame(rows)


def test_valid_rows_become_trades_in_utc() -> None:
    [trade] = parse_trades(_frame({"entry_time": "2026-11-24T11:00:00+01:00"}), "f.csv")
    assert trade.entry_time == dt.datetime(2026, 11, 24, 10, 0)
    assert trade.model_version == 42
    assert trade.realized_pnl_pct == 0.9
    assert trade.side == "long"
    assert trade.probability is None


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"crypto_symbol": "btc-usdc"}, "invalid symbol 'btc-usdc'"),
        ({"crypto_symbol": "BTCXYZ"}, "invalid symbol 'BTCXYZ'"),
        ({"realized_pnl_pct": "nan"}, "realized_pnl_pct must be finite"),
        ({"realized_pnl_pct": "inf"}, "realized_pnl_pct must be finite"),
        ({"realized_pnl_pct": "abc"}, "realized_pnl_pct is not a number"),
        (
            {"exit_time": "2026-11-24T09:00:00Z"},
            "exit_time 2026-11-24 09:00:00 is before entry_time",
        ),
        ({"model_loss_function": "focal_loss"}, "model_loss_function must be one of binary, focal"),
        ({"exit_reason": "timeout"}, "exit_reason must be one of"),
        ({"strategy": "SL_TP"}, "invalid strategy 'SL_TP'"),
        ({"entry_price": "0"}, "entry_price must be > 0"),
        ({"model_version": "4.5"}, "model_version must be a positive integer"),
        ({"entry_time": "yesterday"}, "entry_time is not a timestamp"),
        ({"entry_time": ""}, "entry_time is empty"),
        ({"trade_id": ""}, "trade_id is empty"),
        ({"probability": "1.5"}, "probability must be in [0, 1]"),
        ({"side": "sideways"}, "side must be one of long, short"),
    ],
)
def test_bad_row_is_named_with_its_problem(override: dict[str, Any], message: str) -> None:
    frame = _frame({}, {}, override)  # the bad row is the third data row
    with pytest.raises(UserInputError) as info:
        parse_trades(frame, "trades.csv")
    text = str(info.value)
    assert text.startswith("trades.csv: row 3: ")
    assert message in text
    assert "nothing was imported" in text
    assert "\n" not in text


def test_duplicate_trade_ids_in_one_file_are_rejected() -> None:
    frame = _frame({}, {"trade_id": "t-1"})
    with pytest.raises(UserInputError, match="row 2: trade_id 't-1' repeats row 1"):
        parse_trades(frame, "f.csv")


def test_many_bad_rows_are_summarised_on_one_line() -> None:
    frame = _frame(*({"realized_pnl_pct": "nan"} for _ in range(9)))
    with pytest.raises(UserInputError) as info:
        parse_trades(frame, "f.csv")
    assert "row 1:" in str(info.value)
    assert "row 5:" in str(info.value)
    assert "row 6:" not in str(info.value)
    assert "and 4 more invalid row(s)" in str(info.value)


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (
            pd.DataFrame([{k: v for k, v in GOOD.items() if k != "fees_pct"}]),
            "missing column(s) fees_pct",
        ),
        (pd.DataFrame([{**GOOD, "pnl": 1}]), "unknown column(s) pnl"),
        (pd.DataFrame(columns=list(GOOD)), "no rows to import"),
    ],
)
def test_file_level_problems_are_reported(frame: pd.DataFrame, message: str) -> None:
    with pytest.raises(UserInputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_trades(frame, "f.csv")
