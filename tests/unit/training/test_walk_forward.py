"""Purged walk-forward: no training label reaches into a test block (plus embargo), exactly."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cvntrade.errors import UserInputError
from cvntrade.training.walk_forward import purged_walk_forward

HOUR = 3_600_000


@st.composite
def rows(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    """Signal bars on an hourly grid with gaps; each label ends 1-6 bars after its signal."""
    n = draw(st.integers(12, 120))
    steps = draw(st.lists(st.sampled_from([1, 1, 1, 2, 5]), min_size=n, max_size=n))
    stamps = np.cumsum(np.array(steps, dtype=np.int64)) * HOUR
    horizons = np.array(draw(st.lists(st.integers(1, 6), min_size=n, max_size=n)))
    return stamps, stamps + (horizons + 1) * HOUR


@settings(max_examples=150, deadline=None)
@given(
    rows(),
    st.integers(1, 5),
    st.sampled_from(["expanding", "rolling"]),
    st.integers(0, 4),
    st.integers(1, 3),
)
def test_no_training_label_overlaps_a_test_block_plus_embargo(
    data: tuple[np.ndarray, np.ndarray],
    n_folds: int,
    scheme: str,
    embargo_bars: int,
    rolling_blocks: int,
) -> None:
    stamps, label_end = data
    embargo = embargo_bars * HOUR
    folds = purged_walk_forward(
        stamps,
        label_end,
        n_folds=n_folds,
        scheme=scheme,  # type: ignore[arg-type]
        embargo_ms=embargo,
        rolling_blocks=rolling_blocks,
        min_train=0,
    )
    assert [f.number for f in folds] == list(range(1, n_folds + 1))
    tested = np.concatenate([f.test for f in folds])
    assert np.array_equal(tested, np.arange(tested[0], len(stamps))), "contiguous, once each"
    blocks = np.array_split(np.arange(len(stamps)), n_folds + 1)  # the documented blocks
    for fold in folds:
        assert np.array_equal(fold.test, blocks[fold.number])
        test_start = stamps[fold.test].min()
        test_end = label_end[fold.test].max()
        for i in fold.train:  # brute force over every pair of intervals
            train_interval = (stamps[i], label_end[i] + embargo)
            assert train_interval[1] <= test_start or train_interval[0] > test_end
            assert stamps[i] < test_start, "walk-forward trains on the past only"
        # exact purge: every earlier row whose label (+ embargo) ended in time is kept
        first = 0 if scheme == "expanding" else blocks[max(0, fold.number - rolling_blocks)][0]
        earlier = np.arange(first, fold.test[0])
        kept = earlier[label_end[earlier] + embargo <= test_start]
        assert np.array_equal(fold.train, kept)


def test_rolling_uses_only_the_last_blocks_and_expanding_grows() -> None:
    stamps = np.arange(60, dtype=np.int64) * HOUR
    label_end = stamps + 2 * HOUR
    expanding = purged_walk_forward(stamps, label_end, n_folds=5, scheme="expanding")
    rolling = purged_walk_forward(stamps, label_end, n_folds=5, scheme="rolling", rolling_blocks=2)
    # 6 blocks of 10 rows; a label ends 2 bars after its signal, so the last row before a
    # test block is purged (its label ends one bar into the block)
    assert [len(f.test) for f in expanding] == [10] * 5
    assert [len(f.train) for f in expanding] == [9, 19, 29, 39, 49]
    assert [len(f.train) for f in rolling] == [9, 19, 19, 19, 19]
    assert [int(f.train[0]) for f in rolling] == [0, 0, 10, 20, 30]
    for before, after in itertools.pairwise(expanding):
        assert set(before.train) < set(after.train)


def test_embargo_removes_that_many_more_bars() -> None:
    stamps = np.arange(40, dtype=np.int64) * HOUR
    label_end = stamps + 2 * HOUR
    plain = purged_walk_forward(stamps, label_end, n_folds=3)
    embargoed = purged_walk_forward(stamps, label_end, n_folds=3, embargo_ms=3 * HOUR)
    assert [len(a.train) - len(b.train) for a, b in zip(plain, embargoed, strict=True)] == [3] * 3


def test_bad_inputs_are_user_errors() -> None:
    stamps = np.arange(10, dtype=np.int64) * HOUR
    with pytest.raises(UserInputError, match="too few"):
        purged_walk_forward(stamps, stamps + HOUR, n_folds=5)
    with pytest.raises(UserInputError, match="scheme"):
        purged_walk_forward(stamps, stamps + HOUR, n_folds=2, scheme="random")  # type: ignore[arg-type]
    with pytest.raises(UserInputError, match="after purging"):
        purged_walk_forward(stamps, stamps + HOUR, n_folds=2, min_train=50)
    with pytest.raises(UserInputError, match=">= 1"):
        purged_walk_forward(stamps, stamps + HOUR, n_folds=0)


def test_datetime64_inputs_are_accepted() -> None:
    stamps = np.arange(20, dtype=np.int64) * HOUR
    as_dates = stamps.astype("datetime64[ms]")
    folds = purged_walk_forward(as_dates, (stamps + HOUR).astype("datetime64[ms]"), n_folds=3)
    same = purged_walk_forward(stamps, stamps + HOUR, n_folds=3)
    assert all(np.array_equal(a.train, b.train) for a, b in zip(folds, same, strict=True))
