"""Trade files are read as a stream: CSV text in blocks of `CSV_BLOCK_BYTES`, Parquet in batches.

However large the file, no batch read from it holds more than about one block of text (CSV) or
`chunk_rows` rows (Parquet), so an import's memory does not grow with the file.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from cvntrade.journal.trade_files import CSV_BLOCK_BYTES, REQUIRED_COLUMNS, iter_trade_chunks

ROW = (
    "t{i:08d},BTCUSDC,SL2_TP4_H24,crypto_xgb_btcusdc,3,focal,2026-01-01T00:00:00Z,"
    "2026-01-01T01:00:00Z,100.5,101.25,take_profit,0.1,0.65\n"
)


def _csv(path: Path, rows: int) -> Path:
    with path.open("w") as handle:
        handle.write(",".join(REQUIRED_COLUMNS) + "\n")
        for i in range(rows):
            handle.write(ROW.format(i=i))
    return path


def test_csv_blocks_are_at_most_one_mebibyte() -> None:
    assert CSV_BLOCK_BYTES <= 1 << 20


def test_a_csv_of_several_blocks_is_read_block_by_block(tmp_path: Path) -> None:
    rows = 5 * CSV_BLOCK_BYTES // len(ROW.format(i=0))
    path = _csv(tmp_path / "big.csv", rows)
    assert path.stat().st_size > 4 * CSV_BLOCK_BYTES
    batches = list(iter_trade_chunks(path, 10**9))  # no slicing by rows: the reader's batches
    assert len(batches) >= 4
    assert max(b.num_rows for b in batches) * len(ROW.format(i=0)) <= 1.1 * CSV_BLOCK_BYTES
    assert sum(b.num_rows for b in batches) == rows
    ids = pa.concat_arrays([b.column("trade_id") for b in batches]).to_pylist()
    assert ids == [f"t{i:08d}" for i in range(rows)]


def test_parquet_is_read_in_batches_of_chunk_rows(tmp_path: Path) -> None:
    source = _csv(tmp_path / "t.csv", 2_500)
    table = pa.Table.from_batches(list(iter_trade_chunks(source, 10**9)))
    path = tmp_path / "t.parquet"
    pq.write_table(table, path, row_group_size=2_500)  # one row group
    batches = list(iter_trade_chunks(path, 1_000))
    assert [b.num_rows for b in batches] == [1_000, 1_000, 500]
