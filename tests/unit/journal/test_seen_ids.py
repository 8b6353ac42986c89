"""Repeated trade_ids are found across chunks with their first location, even on hash collisions."""

from __future__ import annotations

import numpy as np
import pytest

from cvntrade.journal import seen_ids
from cvntrade.journal.seen_ids import NOT_SEEN, SeenTradeIds


def _ids(*values: str) -> np.ndarray:
    return np.array(values, dtype=object)


def _fill(index: SeenTradeIds, chunks: list[list[str]]) -> dict[str, int]:
    """Add chunk after chunk as an import does; returns the reference dict of first locations."""
    reference: dict[str, int] = {}
    location = 0
    for chunk in chunks:
        fresh = [v for v in dict.fromkeys(chunk) if v not in reference]  # as validation does
        where = np.arange(location, location + len(fresh), dtype=np.int64)
        for value, at in zip(fresh, where.tolist(), strict=True):
            reference[value] = at
        index.add(_ids(*fresh), where)
        location += len(chunk)
    return reference


def test_first_locations_across_many_merged_runs() -> None:
    rng = np.random.default_rng(3)
    chunks = [[f"id-{v}" for v in rng.integers(0, 5_000, 700)] for _ in range(23)]
    index = SeenTradeIds()
    reference = _fill(index, chunks)
    probe = [f"id-{v}" for v in range(-50, 5_050)]
    found = index.first_seen(_ids(*probe))
    assert found.tolist() == [reference.get(p, NOT_SEEN) for p in probe]
    assert len(index) == len(reference)


def test_a_hash_collision_is_never_taken_for_a_repeat(monkeypatch: pytest.MonkeyPatch) -> None:
    def few_hashes(ids: np.ndarray) -> np.ndarray:  # everything collides into 3 buckets
        return np.array([len(str(v)) % 3 for v in ids], dtype=np.uint64)

    monkeypatch.setattr(seen_ids, "_hashes", few_hashes)
    index = SeenTradeIds()
    reference = _fill(index, [["a", "bb", "ccc"], ["dd", "e"], ["ffff", "a"]])
    probe = ["a", "bb", "ccc", "dd", "e", "ffff", "gg", "h", "iii"]
    assert index.first_seen(_ids(*probe)).tolist() == [reference.get(p, NOT_SEEN) for p in probe]
