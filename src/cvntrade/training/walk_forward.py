"""Purged walk-forward splits: train on the past, test on the next block, never share a label.

Rows are signal bars in time order. They are cut into `n_folds + 1` consecutive blocks of
(nearly) equal size; fold `k` (1 … `n_folds`) tests on block `k` and trains on the blocks before
it: all of them (`expanding`) or the last `rolling_blocks` (`rolling`). Training rows are then
**purged**: a row is kept only if its label was known, plus an embargo, before the test block's
first signal bar opened,

    label_end[train] + embargo <= timestamp[first test row]

so no training label interval `[timestamp, label_end]` overlaps the test block. `label_end` is
the close of the triple-barrier exit bar, so the purge removes exactly the rows whose horizon
reaches into the test block (at most `horizon_bars` of them); the embargo (default: one more
horizon) also drops rows whose features are strongly autocorrelated with the first test rows.
Every row from block 1 on gets exactly one out-of-fold prediction; the final model trains on all
rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from cvntrade.errors import UserInputError

Scheme = Literal["expanding", "rolling"]
SCHEMES: tuple[str, ...] = ("expanding", "rolling")
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True, eq=False)
class Fold:
    """One walk-forward fold: 1-based number, training rows and test rows (ascending)."""

    number: int
    train: IntArray
    test: IntArray


def as_epoch_ms(values: npt.ArrayLike) -> IntArray:
    """datetime64 (any unit) or integer epoch milliseconds as int64 milliseconds."""
    array = np.asarray(values)
    if np.issubdtype(array.dtype, np.datetime64):
        return array.astype("datetime64[ms]").astype(np.int64)
    return array.astype(np.int64)


def purged_walk_forward(
    timestamps: npt.ArrayLike,
    label_end: npt.ArrayLike,
    *,
    n_folds: int,
    scheme: Scheme = "expanding",
    embargo_ms: int = 0,
    rolling_blocks: int = 2,
    min_train: int = 1,
) -> list[Fold]:
    """The purged walk-forward folds of rows with these signal times and label end times.

    Raises `UserInputError` for a bad scheme, fewer than one fold, too few rows for the blocks,
    or a fold left with fewer than `min_train` training rows after purging.
    """
    stamps = as_epoch_ms(timestamps)
    ends = as_epoch_ms(label_end)
    if stamps.shape != ends.shape or stamps.ndim != 1:
        raise ValueError("timestamps and label_end must be 1-D arrays of the same length")
    if scheme not in SCHEMES:
        raise UserInputError(f"unknown walk-forward scheme {scheme!r}: use expanding or rolling")
    if n_folds < 1:
        raise UserInputError(f"--folds must be >= 1 (got {n_folds})")
    if rolling_blocks < 1:
        raise UserInputError(f"rolling_blocks must be >= 1 (got {rolling_blocks})")
    if embargo_ms < 0:
        raise UserInputError(f"the embargo must be >= 0 (got {embargo_ms} ms)")
    if np.any(np.diff(stamps) <= 0):
        raise ValueError("timestamps must be strictly increasing")
    if stamps.shape[0] < 2 * (n_folds + 1):
        raise UserInputError(
            f"{stamps.shape[0]} rows are too few for {n_folds} folds: load more bars or use "
            "fewer --folds"
        )
    blocks = np.array_split(np.arange(stamps.shape[0], dtype=np.int64), n_folds + 1)
    folds: list[Fold] = []
    for number in range(1, n_folds + 1):
        test = blocks[number]
        first = 0 if scheme == "expanding" else max(0, number - rolling_blocks)
        candidates = np.concatenate(blocks[first:number])
        train = candidates[ends[candidates] + embargo_ms <= stamps[test[0]]]
        if train.shape[0] < min_train:
            raise UserInputError(
                f"fold {number}: only {train.shape[0]} training rows remain after purging "
                f"(need {min_train}); load more bars, use fewer --folds or a smaller embargo"
            )
        folds.append(Fold(number, train, test))
    return folds
