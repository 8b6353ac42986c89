"""The Parquet store on disk: partitions by year, append with de-duplication, atomic files."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from cvntrade.errors import NotFoundError
from cvntrade.market import ParquetStore, generate_market


@pytest.fixture(scope="module")
def bars() -> pd.DataFrame:
    market = generate_market(
        ["BTCUSDC"], pd.Timestamp("2024-12-30"), pd.Timestamp("2025-01-03"), seed=1
    )
    return market.frames["BTCUSDC"]


def test_round_trip_is_exact_and_partitioned_by_year(bars: pd.DataFrame, tmp_path: Path) -> None:
    store = ParquetStore(tmp_path)
    result = store.write("BTCUSDC", "1h", bars, source="synthetic", meta={"seed": 1})
    assert (result.added, result.replaced, result.unchanged) == (len(bars), 0, 0)
    assert store.read("BTCUSDC", "1h").equals(bars)
    parts = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.parquet"))
    assert parts == [
        "symbol=BTCUSDC/interval=1h/year=2024/part-0.parquet",
        "symbol=BTCUSDC/interval=1h/year=2025/part-0.parquet",
    ]
    assert store.metadata("BTCUSDC", "1h") == {"seed": 1, "source": "synthetic"}
    assert not list(tmp_path.rglob("*.tmp"))


def test_pyarrow_reads_the_store_as_a_hive_dataset(bars: pd.DataFrame, tmp_path: Path) -> None:
    import pyarrow.dataset as ds

    ParquetStore(tmp_path).write("BTCUSDC", "1h", bars, source="synthetic")
    table = ds.dataset(tmp_path, format="parquet", partitioning="hive").to_table()
    assert table.num_rows == len(bars)
    assert str(table.schema.field("timestamp").type) == "timestamp[ms, tz=UTC]"


def test_append_deduplicates_and_replaces_corrected_bars(
    bars: pd.DataFrame, tmp_path: Path
) -> None:
    store = ParquetStore(tmp_path)
    store.write("BTCUSDC", "1h", bars.iloc[:60], source="binance-csv")
    corrected = bars.iloc[50:].copy()
    corrected.loc[55, "volume"] += 1.0
    result = store.write("BTCUSDC", "1h", corrected, source="binance-csv")
    assert (result.added, result.replaced, result.unchanged) == (len(bars) - 60, 1, 9)
    stored = store.read("BTCUSDC", "1h")
    assert len(stored) == len(bars) and stored["timestamp"].is_monotonic_increasing
    assert stored.loc[55, "volume"] == bars.loc[55, "volume"] + 1.0


def test_read_filters_by_time_and_lists_series(bars: pd.DataFrame, tmp_path: Path) -> None:
    store = ParquetStore(tmp_path)
    store.write("BTCUSDC", "1h", bars, source="synthetic")
    window = store.read(
        "BTCUSDC", "1h", pd.Timestamp("2024-12-31T22:00"), pd.Timestamp("2025-01-01T02:00")
    )
    assert window["timestamp"].dt.hour.tolist() == [22, 23, 0, 1]
    [info] = store.datasets()
    assert (info.symbol, info.interval, info.rows, info.years) == (
        "BTCUSDC",
        "1h",
        len(bars),
        (2024, 2025),
    )
    assert info.first == bars["timestamp"].iloc[0] and info.source == "synthetic"
    assert store.delete("BTCUSDC", "1h") and store.datasets() == []
    with pytest.raises(NotFoundError, match="no 1h bars stored for BTCUSDC"):
        store.read("BTCUSDC", "1h")
