"""Column-at-a-time validation of a batch of trade rows: the fast path of `journal import`.

A row is accepted here only when each of its values has a plain form that the reference,
`row_checks.parse_row`, accepts with the same result: printable ASCII text without surrounding
blanks, decimal numbers, ISO-8601 times with seconds (or a bare date), known names. Every other
row goes to `parse_row`, which accepts it or names its problem, so each rule and message has one
definition and this module only makes the common case fast (a million rows in about a second).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from cvntrade.clock import EARLIEST, LATEST
from cvntrade.errors import UserInputError
from cvntrade.journal.records import EXIT_REASONS, LOSS_FUNCTIONS, SIDES
from cvntrade.journal.row_checks import (
    FEES_LIMIT_PCT,
    PNL_LIMIT_PCT,
    PRICE_LIMIT,
    TEXT_MAX_LEN,
    VERSION_LIMIT,
)
from cvntrade.strategy import parse_strategy_label, parse_symbol, strategy_label

TRADE_SCHEMA = pa.schema(
    [
        ("trade_id", pa.string()),
        ("crypto_symbol", pa.string()),
        ("strategy", pa.string()),
        ("model_name", pa.string()),
        ("model_version", pa.int64()),
        ("model_loss_function", pa.string()),
        ("entry_time", pa.timestamp("us")),
        ("exit_time", pa.timestamp("us")),
        ("entry_price", pa.float64()),
        ("exit_price", pa.float64()),
        ("exit_reason", pa.string()),
        ("fees_pct", pa.float64()),
        ("realized_pnl_pct", pa.float64()),
        ("probability", pa.float64()),
        ("side", pa.string()),
    ]
)
"""A validated trade as typed columns, in `Trade`'s field order (without `source`)."""

_PLAIN_TEXT = r"^[!-~]([ -~]*[!-~])?$"
_DECIMAL = r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]{1,3})?$"
_ISO_TIME = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?(Z|[+-][0-9]{2}:[0-9]{2})?)?$"  # noqa: E501
_EARLIEST = np.datetime64(EARLIEST, "us")
_LATEST = np.datetime64(LATEST, "us")


class _UnsupportedTypeError(Exception):
    """A column type this path does not handle (bytes, lists, dates, ...): use the reference."""


@dataclass(frozen=True)
class FastChunk:
    """Every row of a batch as typed columns, and which rows are accepted (the others hold
    placeholders and must be judged by `row_checks.parse_row`)."""

    table: pa.Table
    ok: np.ndarray


def fast_check(batch: pa.RecordBatch) -> FastChunk | None:
    """Validate `batch` column by column; None when a column's type needs the reference path."""
    try:
        return _check(batch)
    except (_UnsupportedTypeError, pa.ArrowException):
        return None


def _check(batch: pa.RecordBatch) -> FastChunk:
    n = batch.num_rows
    ok = np.ones(n, dtype=bool)
    out: dict[str, pa.Array] = {}
    for name in ("trade_id", "model_name"):
        out[name], good = _text(batch.column(name), TEXT_MAX_LEN[name])
        ok &= good
    out["crypto_symbol"], good = _mapped(batch.column("crypto_symbol"), "crypto_symbol", _symbol)
    ok &= good
    out["strategy"], good = _mapped(batch.column("strategy"), "strategy", _strategy)
    ok &= good
    for name, allowed in (("model_loss_function", LOSS_FUNCTIONS), ("exit_reason", EXIT_REASONS)):
        out[name], good = _choice(batch.column(name), allowed)
        ok &= good
    version, good = _numbers(batch.column("model_version"))
    ok &= good & (version == np.floor(version)) & (version >= 1) & (version <= VERSION_LIMIT)
    out["model_version"] = pa.array(np.where(ok, version, 0).astype(np.int64))
    entry, good = _times(batch.column("entry_time"))
    ok &= good
    exit_, good = _times(batch.column("exit_time"))
    ok &= good & (exit_ >= entry)
    out["entry_time"], out["exit_time"] = pa.array(entry), pa.array(exit_)
    bounds = {
        "entry_price": (0.0, PRICE_LIMIT),
        "exit_price": (0.0, PRICE_LIMIT),
        "fees_pct": (0.0, FEES_LIMIT_PCT),
        "realized_pnl_pct": (-PNL_LIMIT_PCT, PNL_LIMIT_PCT),
    }
    for name, (low, high) in bounds.items():
        values, good = _numbers(batch.column(name))
        above_low = values > low if name.endswith("price") else values >= low
        ok &= good & above_low & (values <= high)
        out[name] = pa.array(values)
    names = batch.schema.names
    out["probability"], good = _probability(
        batch.column("probability") if "probability" in names else None, n
    )
    ok &= good
    out["side"], good = _side(batch.column("side") if "side" in names else None, n)
    ok &= good
    table = pa.Table.from_arrays([out[f.name] for f in TRADE_SCHEMA], schema=TRADE_SCHEMA)
    return FastChunk(table, ok)


def _mask(array: pa.Array | pa.ChunkedArray) -> np.ndarray:
    return np.asarray(array.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)


def _strings(column: pa.Array) -> pa.Array:
    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        return column.cast(pa.string())
    raise _UnsupportedTypeError(str(column.type))


def _text(column: pa.Array, limit: int) -> tuple[pa.Array, np.ndarray]:
    strings = _strings(column)
    plain = _mask(pc.match_substring_regex(strings, _PLAIN_TEXT))
    return strings, plain & _mask(pc.less_equal(pc.utf8_length(strings), limit))


def _symbol(text: str) -> str:
    return parse_symbol(text)


def _strategy(text: str) -> str:
    label = strategy_label(*parse_strategy_label(text))
    if len(label) > TEXT_MAX_LEN["strategy"]:
        raise UserInputError(label)
    return label


def _mapped(
    column: pa.Array, name: str, parse: Callable[[str], str]
) -> tuple[pa.Array, np.ndarray]:
    """Plain text whose distinct values all pass `parse`, replaced by what `parse` returns."""
    strings, plain = _text(column, TEXT_MAX_LEN[name])
    mapping: dict[str, str] = {}
    for value in pc.unique(strings).to_pylist():
        try:
            mapping[value] = parse(value)
        except UserInputError:
            continue
    index = pc.index_in(strings, value_set=pa.array(list(mapping), pa.string()))
    mapped = pa.array(list(mapping.values()), pa.string()).take(index)
    return mapped, plain & _mask(pc.is_valid(index))


def _choice(column: pa.Array, allowed: tuple[str, ...]) -> tuple[pa.Array, np.ndarray]:
    strings = _strings(column)
    return strings, _mask(pc.is_in(strings, value_set=pa.array(allowed, pa.string())))


def _numbers(column: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Float values and which are finite numbers (decimal text or a numeric column)."""
    if pa.types.is_integer(column.type) or pa.types.is_floating(column.type):
        valid = _mask(pc.is_valid(column))
        values = column.cast(pa.float64(), safe=False).fill_null(0.0).to_numpy()
    else:
        strings = _strings(column)
        valid = _mask(pc.match_substring_regex(strings, _DECIMAL))
        plain = pc.if_else(pa.array(valid), strings, "0")
        values = plain.cast(pa.float64()).to_numpy(zero_copy_only=False)
    values = np.asarray(values, dtype=np.float64)
    return values, valid & np.isfinite(values)


def _times(column: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Naive-UTC microsecond times and which are valid times in [2000, 2100)."""
    if pa.types.is_timestamp(column.type):
        raw = np.asarray(column.to_numpy(zero_copy_only=False))
        valid = ~np.isnat(raw)
        if column.type.unit == "ns":  # the reference would drop nanoseconds with a warning
            valid &= raw.astype(np.int64) % 1000 == 0
        values = raw.astype("datetime64[us]")
    else:
        strings = _strings(column)
        valid = _mask(pc.match_substring_regex(strings, _ISO_TIME))
        text = pc.if_else(pa.array(valid), strings, "2000-01-01").to_numpy(zero_copy_only=False)
        parsed = pd.to_datetime(text, format="ISO8601", utc=True, errors="coerce")
        values = parsed.tz_localize(None).as_unit("us").to_numpy()
        valid &= ~np.isnat(values)
    valid &= (values >= _EARLIEST) & (values < _LATEST)
    return np.where(valid, values, _EARLIEST), valid


def _probability(column: pa.Array | None, n: int) -> tuple[pa.Array, np.ndarray]:
    if column is None:
        return pa.nulls(n, pa.float64()), np.ones(n, dtype=bool)
    if pa.types.is_integer(column.type) or pa.types.is_floating(column.type):
        values, finite = _numbers(column)
        absent = ~finite & ~np.isinf(values)  # null or NaN: no probability
    else:
        strings = _strings(column)
        values, finite = _numbers(strings)
        absent = _mask(pc.equal(strings, ""))
    good = finite & (values >= 0.0) & (values <= 1.0)
    return pa.array(values, mask=~good), good | absent


def _side(column: pa.Array | None, n: int) -> tuple[pa.Array, np.ndarray]:
    if column is None:
        return pa.array(["long"] * n, pa.string()), np.ones(n, dtype=bool)
    strings = _strings(column)
    sides = pc.if_else(pc.equal(strings, ""), "long", strings)
    return sides, _mask(pc.is_in(sides, value_set=pa.array(SIDES, pa.string())))
