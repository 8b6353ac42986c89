"""Partitioned Parquet store of OHLCV bars: one dataset per (symbol, interval), one file per year.

Layout under the root (normally `CVN_HOME/data`), Hive-style so `pyarrow.dataset` can read it too:

    symbol=BTCUSDC/interval=1h/year=2024/part-0.parquet
    symbol=BTCUSDC/interval=1h/_meta.json     # source, seed, regime shift, last write

Writes append with de-duplication by timestamp: an identical bar is left alone, a bar with the
same timestamp but different values replaces the stored one (exchanges do correct bars), and
every partition is written to a temporary file and renamed, so a crash never leaves half a file.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cvntrade.errors import NotFoundError, UserInputError
from cvntrade.market.schema import OHLCV_COLUMNS, canonical_ohlcv, check_interval, empty_ohlcv

META_FILE = "_meta.json"
PART_FILE = "part-0.parquet"


@dataclass(frozen=True, slots=True)
class WriteResult:
    """What one write did: bars offered, newly added, replaced with new values, unchanged."""

    symbol: str
    interval: str
    rows: int
    added: int
    replaced: int
    unchanged: int


@dataclass(frozen=True, slots=True)
class DatasetInfo:
    """A stored (symbol, interval) series: bar count, first and last bar open time, source."""

    symbol: str
    interval: str
    rows: int
    first: pd.Timestamp | None
    last: pd.Timestamp | None
    source: str
    years: tuple[int, ...]


class ParquetStore:
    """The OHLCV bars under `root`; see the module docstring for layout and write semantics."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._undo: dict[Path, Path | None] | None = None
        self._new_dirs: list[Path] = []

    @contextmanager
    def all_or_nothing(self) -> Iterator[None]:
        """Writes inside the block are undone if it fails: several series stored together or none.

        Every replaced file is first hard-linked to a backup (writes rename a new file over the
        old name, so the link keeps the old content); on failure backups are put back, new files
        and newly created series directories are removed. A write that fails with `OSError`
        becomes a `UserInputError` naming the directory ("nothing was stored").
        """
        self._undo, self._new_dirs = {}, []
        try:
            yield
        except BaseException as exc:
            self._rollback()
            if isinstance(exc, OSError):
                raise UserInputError(
                    f"cannot write market data under {self.root}: "
                    f"{exc.strerror or exc} ({exc.filename}); nothing was stored"
                ) from None
            raise
        else:
            for backup in self._undo.values():
                if backup is not None:
                    backup.unlink(missing_ok=True)
        finally:
            self._undo, self._new_dirs = None, []

    def _rollback(self) -> None:
        assert self._undo is not None
        for path, backup in self._undo.items():
            if backup is None:
                path.unlink(missing_ok=True)
            else:
                backup.replace(path)
        for directory in reversed(self._new_dirs):
            shutil.rmtree(directory, ignore_errors=True)

    def _install(self, tmp: Path, path: Path) -> None:
        """Rename `tmp` over `path`, remembering how to undo it inside `all_or_nothing`."""
        if self._undo is not None and path not in self._undo:
            if path.exists():
                backup = path.with_name(f".{path.name}.{os.getpid()}.bak")
                backup.unlink(missing_ok=True)
                os.link(path, backup)
                self._undo[path] = backup
            else:
                self._undo[path] = None
        tmp.replace(path)

    def dataset_dir(self, symbol: str, interval: str) -> Path:
        """The directory holding one (symbol, interval) series."""
        check_interval(interval)
        return self.root / f"symbol={symbol}" / f"interval={interval}"

    def write(
        self,
        symbol: str,
        interval: str,
        frame: pd.DataFrame,
        *,
        source: str,
        meta: Mapping[str, Any] | None = None,
    ) -> WriteResult:
        """Merge validated bars into the store, de-duplicated by timestamp, one year at a time."""
        new = canonical_ohlcv(frame)
        directory = self.dataset_dir(symbol, interval)
        if self._undo is not None and not directory.exists():
            for level in (directory.parent, directory):
                if not level.exists() and level not in self._new_dirs:
                    self._new_dirs.append(level)
        years = new["timestamp"].dt.year.to_numpy()
        added = replaced = unchanged = 0
        for year in np.unique(years):
            chunk = new[years == year]
            path = directory / f"year={int(year)}" / PART_FILE
            old = _read_part(path) if path.exists() else empty_ohlcv()
            merged, counts = _merge(old, chunk)
            added, replaced, unchanged = (
                added + counts[0],
                replaced + counts[1],
                unchanged + counts[2],
            )
            if counts[0] or counts[1]:
                if self._undo is not None and not path.parent.exists():
                    self._new_dirs.append(path.parent)
                self._install(_write_part(path, merged), path)
        stored_meta = self.metadata(symbol, interval) if (directory / META_FILE).exists() else {}
        stored_meta.update(meta or {})
        stored_meta["source"] = source
        directory.mkdir(parents=True, exist_ok=True)
        meta_path = directory / META_FILE
        text = json.dumps(stored_meta, indent=2, sort_keys=True)
        self._install(_temporary_text(meta_path, text), meta_path)
        return WriteResult(symbol, interval, len(new), added, replaced, unchanged)

    def delete(self, symbol: str, interval: str) -> bool:
        """Remove a stored series entirely; True if there was one."""
        import shutil

        directory = self.dataset_dir(symbol, interval)
        if not directory.exists():
            return False
        shutil.rmtree(directory)
        return True

    def read(
        self,
        symbol: str,
        interval: str,
        start: pd.Timestamp | None = None,
        end: pd.Timestamp | None = None,
    ) -> pd.DataFrame:
        """The stored bars with `start <= timestamp < end` (both optional), in time order."""
        directory = self.dataset_dir(symbol, interval)
        years = _years(directory)
        if not years:
            raise NotFoundError(
                f"no {interval} bars stored for {symbol} under {self.root} "
                "(see `cvntrade data list`; load some with synth, import-binance or fetch)"
            )
        wanted = [
            y
            for y in years
            if (start is None or y >= start.year) and (end is None or y <= end.year)
        ]
        parts = [_read_part(directory / f"year={y}" / PART_FILE) for y in wanted]
        frame = pd.concat(parts, ignore_index=True) if parts else empty_ohlcv()
        mask = np.ones(len(frame), dtype=bool)
        if start is not None:
            mask &= (frame["timestamp"] >= start).to_numpy()
        if end is not None:
            mask &= (frame["timestamp"] < end).to_numpy()
        return frame[mask].reset_index(drop=True)

    def metadata(self, symbol: str, interval: str) -> dict[str, Any]:
        """The sidecar metadata of a series (source, generator parameters, regime shift)."""
        path = self.dataset_dir(symbol, interval) / META_FILE
        if not path.exists():
            return {}
        loaded: dict[str, Any] = json.loads(path.read_text())
        return loaded

    def datasets(self) -> list[DatasetInfo]:
        """Every stored series, sorted by symbol then interval."""
        infos: list[DatasetInfo] = []
        if not self.root.is_dir():
            return infos
        for symbol_dir in sorted(self.root.glob("symbol=*")):
            for interval_dir in sorted(symbol_dir.glob("interval=*")):
                symbol = symbol_dir.name.split("=", 1)[1]
                interval = interval_dir.name.split("=", 1)[1]
                years = _years(interval_dir)
                if not years:
                    continue
                frame = self.read(symbol, interval)
                stamps = frame["timestamp"]
                infos.append(
                    DatasetInfo(
                        symbol=symbol,
                        interval=interval,
                        rows=len(frame),
                        first=stamps.iloc[0] if len(frame) else None,
                        last=stamps.iloc[-1] if len(frame) else None,
                        source=str(self.metadata(symbol, interval).get("source", "unknown")),
                        years=tuple(years),
                    )
                )
        return infos


def read_bars(
    store: ParquetStore, symbol: str, interval: str, end: pd.Timestamp | None = None
) -> pd.DataFrame:
    """Every stored bar of the series before `end`; a `UserInputError` naming what is stored.

    When the symbol has bars of other intervals only, the message names them and the option
    to pass ("BTCUSDC has 1d bars; pass --interval 1d").
    """
    try:
        return store.read(symbol, interval, None, end)
    except NotFoundError:
        raise UserInputError(missing_bars_message(store, symbol, interval)) from None


def missing_bars_message(store: ParquetStore, symbol: str, interval: str) -> str:
    """Why there is nothing to read, naming the intervals stored for the symbol, if any."""
    stored = sorted({i.interval for i in store.datasets() if i.symbol == symbol})
    if stored:
        listed = ", ".join(stored)
        return (
            f"no {interval} market data for {symbol}: {symbol} has {listed} bars; pass "
            f"--interval {stored[0]}"
        )
    return (
        f"no {interval} market data for {symbol} under {store.root}: load bars first with "
        f"`cvntrade data synth --symbols {symbol} --interval {interval}` or "
        "`cvntrade data import-binance <files>`"
    )


def _years(directory: Path) -> list[int]:
    if not directory.is_dir():
        return []
    return sorted(
        int(p.name.split("=", 1)[1]) for p in directory.glob("year=*") if (p / PART_FILE).exists()
    )


def _merge(old: pd.DataFrame, new: pd.DataFrame) -> tuple[pd.DataFrame, tuple[int, int, int]]:
    """Union of `old` and `new` by timestamp (new wins) and counts (added, replaced, unchanged)."""
    old_index = old.set_index("timestamp")
    new_index = new.set_index("timestamp")
    common = new_index.index.intersection(old_index.index)
    same = (old_index.loc[common] == new_index.loc[common]).all(axis=1)
    unchanged = int(same.sum())
    replaced = len(common) - unchanged
    added = len(new_index) - len(common)
    merged = pd.concat([old_index.drop(index=common), new_index]).sort_index().reset_index()
    return canonical_ohlcv(merged), (added, replaced, unchanged)


def _read_part(path: Path) -> pd.DataFrame:
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    frame = table.to_pandas()
    frame["timestamp"] = frame["timestamp"].dt.tz_convert("UTC").dt.tz_localize(None)
    return canonical_ohlcv(frame[list(OHLCV_COLUMNS)])


def _write_part(path: Path, frame: pd.DataFrame) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema(
        [
            pa.field("timestamp", pa.timestamp("ms", tz="UTC"), nullable=False),
            *(
                pa.field(c, pa.float64(), nullable=False)
                for c in ("open", "high", "low", "close", "volume")
            ),
            pa.field("filled", pa.bool_(), nullable=False),
        ]
    )
    stamps = frame["timestamp"].to_numpy().astype("datetime64[ms]").astype(np.int64)
    arrays = [pa.array(stamps, pa.int64()).cast(pa.timestamp("ms", tz="UTC"))]
    arrays += [
        pa.array(frame[c].to_numpy(np.float64)) for c in ("open", "high", "low", "close", "volume")
    ]
    arrays.append(pa.array(frame["filled"].to_numpy(bool)))
    table = pa.Table.from_arrays(arrays, schema=schema)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    pq.write_table(table, tmp, compression="zstd")
    return tmp


def _temporary_text(path: Path, text: str) -> Path:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    return tmp
