"""Binance kline files: header or not, ms or µs, names from the file name, all-or-nothing import."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cvntrade.errors import UserInputError
from cvntrade.market import ParquetStore, import_kline_files, read_kline_file

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "binance"
BTC = SAMPLES / "BTCUSDC-1h-2024-01.csv"
ETH = SAMPLES / "ETHUSDC-1h-2025-01.csv"


def test_headerless_millisecond_file_names_symbol_and_interval() -> None:
    kline = read_kline_file(BTC)
    assert (kline.symbol, kline.interval) == ("BTCUSDC", "1h")
    frame = kline.bars.frame
    assert len(frame) == 48
    assert frame["timestamp"].iloc[0] == np.datetime64("2024-01-01T00:00")
    assert frame["timestamp"].iloc[-1] == np.datetime64("2024-01-02T23:00")
    assert frame["open"].iloc[0] == 42000.0 and frame["volume"].iloc[0] == 366.51


def test_header_and_microsecond_timestamps_are_understood() -> None:
    kline = read_kline_file(ETH)
    assert (kline.symbol, len(kline.bars.frame)) == ("ETHUSDC", 48)
    assert kline.bars.frame["timestamp"].iloc[0] == np.datetime64("2025-01-01T00:00")
    assert kline.bars.frame["timestamp"].iloc[1] == np.datetime64("2025-01-01T01:00")


def test_zip_as_published_and_explicit_names(tmp_path: Path) -> None:
    archive = tmp_path / "BTCUSDC-1h-2024-01.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(BTC, BTC.name)
    assert len(read_kline_file(archive).bars.frame) == 48
    renamed = tmp_path / "btc.csv"
    shutil.copy(BTC, renamed)
    with pytest.raises(UserInputError, match="pass --symbol and --interval"):
        read_kline_file(renamed)
    assert read_kline_file(renamed, symbol="BTCUSDT", interval="1h").symbol == "BTCUSDT"


def test_interval_contradicting_close_time_is_rejected(tmp_path: Path) -> None:
    wrong = tmp_path / "BTCUSDC-4h-2024-01.csv"
    shutil.copy(BTC, wrong)
    with pytest.raises(UserInputError, match=r"row 1: close_time is 3600s after open_time"):
        read_kline_file(wrong)


def _corrupt(tmp_path: Path, line: int, field: int, value: str) -> Path:
    lines = BTC.read_text().splitlines()
    cells = lines[line - 1].split(",")
    cells[field] = value
    lines[line - 1] = ",".join(cells)
    path = tmp_path / BTC.name
    path.write_text("\n".join(lines) + "\n")
    return path


def test_bad_row_names_file_and_row_and_nothing_is_stored(tmp_path: Path) -> None:
    bad = _corrupt(tmp_path, 7, 2, "1.0")  # high below open and close on row 7
    store = ParquetStore(tmp_path / "data")
    with pytest.raises(UserInputError, match=rf"^{bad}: row 7: high 1.0 < max\(open, close\)"):
        import_kline_files(store, [ETH, bad])
    assert store.datasets() == []


def test_unparseable_values_are_reported_by_row(tmp_path: Path) -> None:
    bad = _corrupt(tmp_path, 3, 4, "abc")
    with pytest.raises(UserInputError, match="row 3: close is not a finite number"):
        read_kline_file(bad)
    bad = _corrupt(tmp_path, 5, 0, "yesterday")
    with pytest.raises(UserInputError, match="row 5: timestamp is missing or not a date"):
        read_kline_file(bad)


def test_wrong_column_count_and_missing_file(tmp_path: Path) -> None:
    short = tmp_path / "BTCUSDC-1h-2024-02.csv"
    short.write_text("1706745600000,1,1,1,1,1\n")
    with pytest.raises(UserInputError, match="expected 12 kline columns"):
        read_kline_file(short)
    with pytest.raises(UserInputError, match="no such file"):
        read_kline_file(tmp_path / "BTCUSDC-1h-2024-03.csv")


def test_import_stores_and_reimport_is_a_no_op(tmp_path: Path) -> None:
    store = ParquetStore(tmp_path)
    seen: list[str] = []
    first = import_kline_files(store, [BTC, ETH], on_file=lambda p: seen.append(p.name))
    assert [r.write.added for r in first] == [48, 48]
    assert len(seen) == 4
    again = import_kline_files(store, [BTC])
    assert (again[0].write.added, again[0].write.unchanged) == (0, 48)
    assert [i.symbol for i in store.datasets()] == ["BTCUSDC", "ETHUSDC"]


def write_klines(path: Path, frame: pd.DataFrame, step_ms: int) -> Path:
    """Write bars as a headerless Binance kline CSV (as data.binance.vision publishes them)."""
    opens = frame["timestamp"].to_numpy().astype("datetime64[ms]").astype(np.int64)
    table = pd.DataFrame(
        {
            "open_time": opens,
            "open": frame["open"],
            "high": frame["high"],
            "low": frame["low"],
            "close": frame["close"],
            "volume": frame["volume"],
            "close_time": opens + step_ms - 1,
            "quote_volume": frame["volume"] * frame["close"],
            "count": 100,
            "taker_buy_volume": frame["volume"] / 2,
            "taker_buy_quote_volume": frame["volume"] * frame["close"] / 2,
            "ignore": 0,
        }
    )
    table.to_csv(path, header=False, index=False)
    return path


DAY = 86_400_000


def _monthly_files(tmp_path: Path, months: list[str]) -> list[Path]:
    from cvntrade.market import generate_market

    bars = generate_market(
        ["BTCUSDC"], pd.Timestamp("2024-01-01"), pd.Timestamp("2024-05-01"), interval="1d"
    ).frames["BTCUSDC"]
    paths = []
    for month in months:
        part = bars[bars["timestamp"].dt.strftime("%Y-%m") == month[:7]]
        if len(month) > 7:  # "2024-02-27": the file stops before that day
            part = part[part["timestamp"] < pd.Timestamp(month)]
        paths.append(write_klines(tmp_path / f"BTCUSDC-1d-{month[:7]}.csv", part, DAY))
    return paths


def test_monthly_files_with_a_missing_month_fail_the_merged_gap_check(tmp_path: Path) -> None:
    jan, mar = _monthly_files(tmp_path, ["2024-01", "2024-03"])
    assert read_kline_file(jan, max_gap_bars=3).bars.gaps == ()  # each file alone is fine
    store = ParquetStore(tmp_path / "data")
    with pytest.raises(
        UserInputError,
        match=rf"^{mar}: gap of 29 missing bar\(s\) after {jan} \(last bar 2024-01-31.*"
        r"next 2024-03-01.*exceeds the tolerance of 3",
    ):
        import_kline_files(store, [mar, jan], max_gap_bars=3)  # order of the files is irrelevant
    assert store.datasets() == []
    done = import_kline_files(store, [jan, mar], max_gap_bars=30)
    assert [r.gaps for r in done] == [1, 0]  # the gap after January is January's


def test_fill_gaps_fills_the_boundaries_between_files(tmp_path: Path) -> None:
    jan, feb, mar = _monthly_files(tmp_path, ["2024-01", "2024-02-27", "2024-03"])
    store = ParquetStore(tmp_path / "data")
    done = import_kline_files(store, [jan, feb, mar], max_gap_bars=3, fill_gaps=True)
    assert [r.filled_bars for r in done] == [0, 3, 0]  # Feb 27, 28, 29 filled
    bars = store.read("BTCUSDC", "1d")
    steps = np.diff(bars["timestamp"].to_numpy().astype("datetime64[ms]").astype(np.int64))
    assert (steps == DAY).all() and len(bars) == 31 + 29 + 31
    assert bars["filled"].sum() == 3


def _monthly_bars(months: list[str]) -> pd.DataFrame:
    opens = pd.to_datetime([f"{m}-01" for m in months])
    price = np.linspace(40_000.0, 60_000.0, len(months))
    return pd.DataFrame(
        {
            "timestamp": opens,
            "open": price,
            "high": price * 1.2,
            "low": price * 0.8,
            "close": price * 1.05,
            "volume": 1000.0,
        }
    )


def _write_monthly(path: Path, frame: pd.DataFrame) -> Path:
    """1M klines: close_time is the last millisecond of the month, as Binance writes it."""
    write_klines(path, frame, DAY)
    table = pd.read_csv(path, header=None)
    ends = (frame["timestamp"] + pd.DateOffset(months=1)).to_numpy().astype("datetime64[ms]")
    table[6] = ends.astype(np.int64) - 1
    table.to_csv(path, header=False, index=False)
    return path


def test_monthly_klines_import_as_1m_interval_with_gaps_counted_in_months(tmp_path: Path) -> None:
    from cvntrade.features import build_dataset

    first = _write_monthly(
        tmp_path / "BTCUSDC-1M-2023.csv", _monthly_bars(["2023-10", "2023-11", "2023-12"])
    )
    later = _write_monthly(tmp_path / "BTCUSDC-1M-2024.csv", _monthly_bars(["2024-03", "2024-04"]))
    kline = read_kline_file(first, symbol="BTCUSDC", interval="1M")
    assert len(kline.bars.frame) == 3 and kline.bars.gaps == ()
    store = ParquetStore(tmp_path / "data")
    with pytest.raises(UserInputError, match=r"gap of 2 missing bar\(s\) after"):
        import_kline_files(store, [first, later], symbol="BTCUSDC", interval="1M", max_gap_bars=1)
    done = import_kline_files(
        store, [first, later], symbol="BTCUSDC", interval="1M", max_gap_bars=3, fill_gaps=True
    )
    assert [r.filled_bars for r in done] == [2, 0]
    stored = store.read("BTCUSDC", "1M")
    assert stored["timestamp"].dt.strftime("%Y-%m").tolist() == [
        "2023-10", "2023-11", "2023-12", "2024-01", "2024-02", "2024-03", "2024-04",
    ]  # fmt: skip
    off = _monthly_bars(["2024-05"]).assign(timestamp=pd.to_datetime(["2024-05-02"]))
    bad = _write_monthly(tmp_path / "BTCUSDC-1M-2024-05.csv", off)
    with pytest.raises(UserInputError, match=r"row 1: timestamp .* is not the start of a month"):
        read_kline_file(bad)
    with pytest.raises(UserInputError, match=r"1M \(monthly\) bars have no fixed length"):
        build_dataset(
            "BTCUSDC",
            "SL2_TP4_D5",
            pd.Timestamp("2024-01-01"),
            pd.Timestamp("2025-01-01"),
            data_dir=tmp_path / "data",
            interval="1M",
        )
