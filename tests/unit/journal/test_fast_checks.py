"""The column-wise fast path accepts a row only as the row-by-row reference would, same values."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cvntrade.drill import generate_drill_trades
from cvntrade.errors import UserInputError
from cvntrade.journal.fast_checks import TRADE_SCHEMA, fast_check
from cvntrade.journal.importer import parse_trades
from cvntrade.journal.row_checks import parse_row
from cvntrade.journal.validation import Validation, validate_chunk

VARIANTS: dict[str, list[str]] = {
    "trade_id": ["t-1", "t-2", " t-3", "t-4 ", "", "x" * 128, "x" * 129, "é-5", "a\x1bb", "7"],
    "crypto_symbol": ["BTCUSDC", "ETHUSDT", "btcusdc", "BTC", " BTCUSDC", "BTCUSDC ", "X" * 30],
    "strategy": [
        "SL0.5_TP1_H4",
        "SL0.50_TP1.0_H4",
        "SL2_TP4_D5_1d",
        "SL0.5_TP1_H4_15m",
        "SL_TP",
        "SL0_TP1_H4",
        "SL123456789_TP1_H4",
    ],
    "model_name": ["m", "M" * 120, "M" * 121, "a b", " a", "a\tb"],
    "model_version": [
        *("1", "42", "042", "4.0", "4.5", "0", "-1", "2147483647", "2147483648", "1e3"),
        *(" 7", "7_0", "nan", "inf", ""),
    ],
    "model_loss_function": ["binary", "focal", "Focal", " focal", "focal_loss"],
    "entry_time": [
        "2026-11-24T10:00:00Z",
        "2026-11-24 10:00:00",
        "2026-11-24T10:00:00.5+01:00",
        "2026-11-24T10:00:00.123456-05:30",
        "2026-11-24",
        "2026-11-24T10:00",
        "2026-11-24T10:00:00.1234567Z",
        "2026-02-30T00:00:00",
        "1999-12-31T23:59:59Z",
        "2099-12-31T23:59:59.999999Z",
        "2100-01-01T00:00:00",
        "2026-11-24T10:00:00+0100",
        "now",
        "",
    ],
    "entry_price": ["100", "0", "-1", "1e12", "1e13", "1.5", ".5", "5.", "abc", "", "1_0", " 1"],
    "exit_reason": ["take_profit", "stop_loss", "horizon", "data_gap", "timeout", "Horizon"],
    "fees_pct": ["0", "0.1", "100", "100.0001", "-0", "-0.1"],
    "realized_pnl_pct": ["0.9", "-1000", "1000", "1000.1", "1e308", "-0.0", "NaN"],
    "probability": ["", " ", "0", "1", "0.5", "1.5", "nan", "-0"],
    "side": ["", "long", "short", "Long", " short"],
}
VARIANTS["exit_time"] = VARIANTS["entry_time"]
VARIANTS["exit_price"] = VARIANTS["entry_price"]
COLUMNS = list(VARIANTS)
FUZZ = settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None
)
GOOD = {c: VARIANTS[c][0] for c in COLUMNS} | {"exit_time": "2026-11-24T12:00:00Z"}
changes = st.dictionaries(
    st.sampled_from(COLUMNS),
    st.one_of(st.sampled_from([v for vs in VARIANTS.values() for v in vs]), st.text(max_size=8)),
    max_size=3,
)


def _text_batch(rows: list[dict[str, str]]) -> pa.RecordBatch:
    schema = pa.schema([(c, pa.string()) for c in COLUMNS])
    return pa.RecordBatch.from_pylist(rows, schema=schema)


def _as_fields(trade: Any) -> dict[str, Any]:
    return {name: getattr(trade, name) for name in TRADE_SCHEMA.names}


def _agrees(batch: pa.RecordBatch, records: list[dict[str, Any]]) -> int:
    """Every row the fast path accepts parses to the same values row by row; returns how many."""
    fast = fast_check(batch)
    assert fast is not None
    accepted = np.flatnonzero(fast.ok)
    for index in accepted:
        expected = _as_fields(parse_row(records[index]))  # raises if the reference refuses it
        assert fast.table.slice(int(index), 1).to_pylist()[0] == expected
    return len(accepted)


@FUZZ
@given(st.lists(changes, min_size=1, max_size=25))
def test_text_rows_accepted_fast_are_accepted_by_the_reference_with_equal_values(
    rows: list[dict[str, str]],
) -> None:
    records = [GOOD | {"trade_id": f"t-{i}"} | change for i, change in enumerate(rows)]
    _agrees(_text_batch(records), records)


def test_each_variant_alone_agrees_and_plain_forms_stay_fast() -> None:
    records = [
        GOOD | {"trade_id": f"t-{i}", column: value}
        for i, (column, value) in enumerate(
            (column, value) for column in COLUMNS for value in VARIANTS[column]
        )
    ]
    fast = fast_check(_text_batch(records))
    assert fast is not None
    _agrees(_text_batch(records), records)
    accepted = {
        (r["strategy"], r["entry_time"]) for r, ok in zip(records, fast.ok, strict=True) if ok
    }
    assert ("SL0.50_TP1.0_H4", GOOD["entry_time"]) in accepted  # normalised to SL0.5_TP1_H4
    assert (GOOD["strategy"], "2026-11-24T10:00:00.5+01:00") in accepted  # converted to UTC
    assert int(fast.ok.sum()) >= 40


def _export(n: int) -> pd.DataFrame:
    trades = generate_drill_trades("healthy", now=dt.datetime(2026, 11, 24), seed=4)[:n]
    frame = pd.DataFrame([dataclasses.asdict(t) for t in trades]).drop(columns=["source"])
    return frame


def test_a_typical_export_is_accepted_entirely_by_the_fast_path(tmp_path: Any) -> None:
    frame = _export(200)
    frame.to_csv(tmp_path / "t.csv", index=False)
    text = pd.read_csv(tmp_path / "t.csv", dtype=str, keep_default_na=False)
    records = text.to_dict("records")
    assert _agrees(pa.RecordBatch.from_pandas(text, preserve_index=False), records) == len(frame)


def test_typed_parquet_columns_take_the_fast_path_with_the_reference_values() -> None:
    frame = _export(50)
    frame["entry_time"] = pd.to_datetime(frame["entry_time"]).dt.tz_localize("Europe/Paris")
    frame["exit_time"] = pd.to_datetime(frame["exit_time"]).astype("datetime64[ns]")
    frame.loc[3, "probability"] = np.nan
    frame.loc[4, "exit_time"] = frame.loc[4, "exit_time"] + pd.Timedelta(1, "ns")  # reference
    batch = pa.RecordBatch.from_pandas(frame, preserve_index=False)
    records = batch.to_pandas().to_dict("records")
    accepted = _agrees(batch, records)
    assert accepted == len(frame) - 1  # the nanosecond row is left to the reference


def test_columns_of_other_types_go_to_the_reference_whole() -> None:
    frame = _export(3)
    frame["trade_id"] = [s.encode() for s in frame["trade_id"]]
    assert fast_check(pa.RecordBatch.from_pandas(frame, preserve_index=False)) is None


def _streamed_error(frame: pd.DataFrame, chunk: int) -> str:
    text = frame.astype(str)
    batch = pa.RecordBatch.from_pandas(text, preserve_index=False)
    state = Validation(["f.csv"])
    for start in range(0, batch.num_rows, chunk):
        validate_chunk(batch.slice(start, chunk), start + 1, 0, state)
    with pytest.raises(UserInputError) as info:
        state.raise_if_any("f.csv")
    return str(info.value)


@pytest.mark.parametrize("chunk", [1, 4, 100])
def test_chunked_validation_names_the_same_problems_as_the_reference(chunk: int) -> None:
    frame = _export(30).astype(str)
    frame.loc[2, "fees_pct"] = "-1"
    frame.loc[5, "trade_id"] = frame.loc[1, "trade_id"]  # repeats row 2
    frame.loc[9, "entry_time"] = "now"
    frame.loc[11, "trade_id"] = frame.loc[5, "trade_id"]  # repeats row 2 again
    frame.loc[12, "trade_id"] = frame.loc[2, "trade_id"]  # row 3 was invalid: not a repeat
    frame.loc[20, "side"] = "sideways"
    frame.loc[25, "realized_pnl_pct"] = "nan"
    with pytest.raises(UserInputError) as reference:
        parse_trades(frame, "f.csv")
    assert _streamed_error(frame, chunk) == str(reference.value)
    assert "row 6: trade_id" in str(reference.value)
    assert "and 1 more invalid row(s)" in str(reference.value)
