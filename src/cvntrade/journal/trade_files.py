"""Trade files (CSV or Parquet) read as a stream of Arrow record batches, never whole.

CSV is parsed by pyarrow's streaming reader with every column as text (values are interpreted
by the validation, exactly as typed in the file); Parquet is read batch by batch with its own
column types. Either way the memory used does not grow with the file.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from cvntrade.errors import UserInputError

REQUIRED_COLUMNS = (
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
)
OPTIONAL_COLUMNS = ("side", "probability")
CSV_BLOCK_BYTES = 1 << 20
"""Bytes of CSV text parsed at a time (1 MiB, ≈ 7 000 rows of a typical journal export)."""
SUFFIXES = (".csv", ".parquet", ".pq")


def check_columns(columns: Sequence[object], source_name: str) -> None:
    """Refuse a file whose header lacks a required column, repeats one or has an unknown one."""
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise UserInputError(f"{source_name}: missing column(s) {', '.join(missing)}")
    unknown = [c for c in columns if c not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
    if unknown:
        raise UserInputError(f"{source_name}: unknown column(s) {', '.join(map(str, unknown))}")
    repeated = sorted({str(c) for c in columns if list(columns).count(c) > 1})
    if repeated:
        raise UserInputError(f"{source_name}: repeated column(s) {', '.join(repeated)}")


def check_trade_file(path: Path) -> None:
    """Fail early (before anything is written) on a missing, unsupported or headerless file."""
    for _ in iter_trade_chunks(path, 1, header_only=True):
        pass


def iter_trade_chunks(
    path: Path, chunk_rows: int, *, header_only: bool = False
) -> Iterator[pa.RecordBatch]:
    """Read a CSV or Parquet trade file in batches of at most `chunk_rows` rows.

    The columns are checked before the first batch. CSV values arrive as text, exactly as in
    the file (no trimming, no NA guessing); Parquet values keep the file's types.
    """
    if not path.is_file():
        raise UserInputError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise UserInputError(f"{path}: unsupported file type {suffix!r} (use .csv or .parquet)")
    try:
        batches = _csv_batches(path) if suffix == ".csv" else _parquet_batches(path, chunk_rows)
        names = next(batches).schema.names
        check_columns(names, str(path))
        if header_only:
            return
        for batch in batches:
            for start in range(0, batch.num_rows, chunk_rows):
                yield batch.slice(start, chunk_rows)
    except (ValueError, OSError, pa.ArrowException) as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UserInputError(f"{path}: cannot read file: {message}") from None


def _csv_batches(path: Path) -> Iterator[pa.RecordBatch]:
    """An empty batch carrying the header first, then the file's batches (all columns text)."""
    text_columns = {name: pa.string() for name in REQUIRED_COLUMNS + OPTIONAL_COLUMNS}
    reader = pacsv.open_csv(
        path,
        read_options=pacsv.ReadOptions(block_size=CSV_BLOCK_BYTES, use_threads=False),
        parse_options=pacsv.ParseOptions(newlines_in_values=True),
        convert_options=pacsv.ConvertOptions(column_types=text_columns, strings_can_be_null=False),
    )
    with reader:
        yield _empty(reader.schema)
        yield from reader


def _parquet_batches(path: Path, chunk_rows: int) -> Iterator[pa.RecordBatch]:
    parquet = pq.ParquetFile(path)
    with parquet:
        yield _empty(parquet.schema_arrow)
        yield from parquet.iter_batches(batch_size=chunk_rows)


def _empty(schema: pa.Schema) -> pa.RecordBatch:
    return pa.RecordBatch.from_pylist([], schema=schema)


def sha256_of(path: Path) -> str:
    """The file's SHA-256 (hex), read in 1 MiB blocks; recorded in the import's audit row."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
