"""The trade_ids already accepted by one import, and where each was first seen.

An import must name a repeated `trade_id` with the row it repeats, across every chunk of every
file, without keeping a million Python strings: ids are kept as sorted runs of 64-bit hashes
with the ids themselves in Arrow arrays (about 35 bytes per id). Runs are merged like a binary
counter, so a lookup searches O(log n) runs; a hash match is confirmed against the stored id,
so a hash collision is never taken for a repeat.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

NOT_SEEN = -1


@dataclass(frozen=True)
class _Run:
    keys: np.ndarray  # uint64 hashes, sorted
    ids: pa.Array  # the trade_ids, in the same order
    where: np.ndarray  # int64 locations, in the same order

    def __len__(self) -> int:
        return len(self.keys)


def _hashes(ids: np.ndarray) -> np.ndarray:
    return np.asarray(pd.util.hash_array(ids, categorize=False), dtype=np.uint64)


class SeenTradeIds:
    """Accepted trade_ids with an int64 location each (e.g. file and row packed together)."""

    def __init__(self) -> None:
        self._runs: list[_Run] = []

    def first_seen(self, ids: np.ndarray) -> np.ndarray:
        """The location of each id in `ids` (an object array of str), or `NOT_SEEN`."""
        found = np.full(len(ids), NOT_SEEN, dtype=np.int64)
        if not len(ids):
            return found
        keys = _hashes(ids)
        for run in self._runs:
            positions = np.searchsorted(run.keys, keys)
            inside = positions < len(run)
            candidates = np.flatnonzero(inside)
            matches = candidates[run.keys[positions[candidates]] == keys[candidates]]
            for index in matches:
                position = int(positions[index])
                while position < len(run) and run.keys[position] == keys[index]:
                    if run.ids[position].as_py() == ids[index]:
                        found[index] = run.where[position]
                        break
                    position += 1
        return found

    def add(self, ids: np.ndarray, where: np.ndarray) -> None:
        """Remember `ids` (none of them seen before) at locations `where`."""
        if not len(ids):
            return
        self._runs.append(_sorted(_hashes(ids), pa.array(ids, pa.string()), where))
        while len(self._runs) > 1 and len(self._runs[-2]) <= len(self._runs[-1]):
            newer, older = self._runs.pop(), self._runs.pop()
            self._runs.append(
                _sorted(
                    np.concatenate([older.keys, newer.keys]),
                    pa.concat_arrays([older.ids, newer.ids]),
                    np.concatenate([older.where, newer.where]),
                )
            )

    def __len__(self) -> int:
        return sum(len(run) for run in self._runs)


def _sorted(keys: np.ndarray, ids: pa.Array, where: np.ndarray) -> _Run:
    order = np.argsort(keys, kind="stable")
    return _Run(keys[order], ids.take(pa.array(order)), np.asarray(where, np.int64)[order])
