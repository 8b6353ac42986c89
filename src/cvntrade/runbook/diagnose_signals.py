"""The evidence `runbook diagnose` reads, and the pure signals computed from it.

Every statistic of the diagnosis is read from the last 48 h of hourly bars and logged
predictions, so each is noisy on its own. The signals are therefore built to be judged
*against their own variability* and *pooled over the symbols* wherever the question is
market-wide:

* input drift: PSI per feature against the largest PSI of the 48 h blocks of the baseline
  (PSI of 48 autocorrelated bars is large even without a shift), and the ratio of return
  volatility over the last 48 h to the baseline's (the classic distribution shift of a market);
* calibration: the rise of over-confidence, mean predicted probability minus realised
  take-profit rate of the same predictions, last 48 h vs before, pooled over symbols
  (calibration-in-the-large: far steadier on ~45 outcomes a symbol than a binned ECE);
* ranking: AUC of probability vs realised outcome over the last 48 h (does the model still
  order bars correctly?);
* regime: lag-1 autocorrelation of returns (the persistence the momentum features encode),
  market-wide mean before vs last 48 h.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

PSI_SIGNIFICANT = 0.25
"""PSI above which a feature can count as drifted (the usual 'significant shift' bound)."""
PSI_RATIO = 1.5
"""...and only when its 48 h PSI is this many times the largest 48 h PSI of the baseline."""
PSI_DRIFT_FROM, PSI_DRIFT_FULL = 3, 8
"""A symbol's inputs drifted by PSI: not with 3 drifted features or fewer (the baseline's own
noise moves a few), fully with 8 or more (of 20)."""
VOL_SHIFT_FROM, VOL_SHIFT_FULL = 1.5, 2.5
"""Return volatility last 48 h / before: a shift from 1.5x, complete at 2.5x. Only a rise counts:
it is what makes stops fire on noise; a calmer market makes a barrier strategy trade less, not
lose (48 h windows of a stationary market range from about 0.5x to 1.7x of the baseline)."""
OVERCONFIDENCE_FROM, OVERCONFIDENCE_FULL = 0.08, 0.18
"""Rise of (mean probability - realised rate), last 48 h vs before: from 8 points, full at 18
(the strategy breaks even near a 0.41 win rate, so 0.1 of over-confidence eats an edge)."""
AUC_RANKING_FROM, AUC_RANKING_FULL = 0.5, 0.6
"""Ranking intact: AUC over the last 48 h from 0.5 (none) to 0.6 (full)."""
AUC_INVERTED = 0.45
AUC_DROP = 0.1
PERSISTENCE_KEPT = 0.5
"""Regime change starts when the mean lag-1 return autocorrelation keeps less than half of its
value before; it is complete at PERSISTENCE_KEPT - PERSISTENCE_SPAN (15 %) or below."""
PERSISTENCE_SPAN = 0.35
MIN_PERSISTENCE = 0.1
MIN_OUTCOMES = 15
TOP_FEATURES = 5


@dataclass(frozen=True, slots=True)
class SymbolEvidence:
    """Everything the diagnosis reads about one symbol's champion (NaN / None when unknown).

    `*_before` is `[now - 14 d, now - 48 h)`, `*_after` the last 48 h. `p_mean` is the mean
    logged probability and `hit_rate` the realised take-profit rate of the predictions whose
    triple-barrier outcome is known (`n_before` / `n_after` of them); `volatility` is the
    standard deviation of 1-bar log returns, `persistence` their lag-1 autocorrelation.
    """

    crypto_symbol: str
    model_name: str = ""
    model_version: int | None = None
    psi: Mapping[str, float] = field(default_factory=dict)
    psi_baseline: Mapping[str, float] = field(default_factory=dict)
    sharpness_recent: float = math.nan
    sharpness_training: float = math.nan
    ece_live: float = math.nan
    ece_training: float = math.nan
    n_outcomes: int = 0
    exp_48h: float | None = None
    exp_14d_baseline: float | None = None
    auc_before: float = math.nan
    auc_after: float = math.nan
    n_before: int = 0
    n_after: int = 0
    ece_before: float = math.nan
    ece_after: float = math.nan
    persistence_before: float = math.nan
    persistence_after: float = math.nan
    p_mean_before: float = math.nan
    p_mean_after: float = math.nan
    hit_rate_before: float = math.nan
    hit_rate_after: float = math.nan
    volatility_before: float = math.nan
    volatility_after: float = math.nan
    fingerprint_tag: str | None = None
    trained_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class ImplementationEvidence:
    """Code-side checks: installed fingerprint, numerical self-check, git history."""

    installed_fingerprint: str
    self_check_error: float
    git_checkout: bool
    commits: tuple[str, ...] = ()
    git_note: str = ""


def ramp(value: float, start: float, full: float) -> float:
    """0 at or below `start`, 1 at or above `full`, linear between (0 for NaN)."""
    if not math.isfinite(value):
        return 0.0
    return min(max((value - start) / (full - start), 0.0), 1.0)


def finite(values: Sequence[float]) -> list[float]:
    """The finite values, in order."""
    return [v for v in values if math.isfinite(v)]


def median(values: Sequence[float]) -> float:
    """The median of the finite values (NaN when none)."""
    xs = sorted(finite(values))
    if not xs:
        return math.nan
    mid = len(xs) // 2
    return xs[mid] if len(xs) % 2 else (xs[mid - 1] + xs[mid]) / 2


def drifted_features(s: SymbolEvidence) -> list[tuple[str, float, float]]:
    """(feature, PSI, baseline PSI) of the drifted features, largest PSI / baseline first: PSI
    above PSI_SIGNIFICANT and at least PSI_RATIO times its largest 48 h value in the baseline."""
    out = []
    for k, v in s.psi.items():
        base = s.psi_baseline.get(k, 0.0)
        if math.isfinite(v) and v > PSI_SIGNIFICANT and v >= PSI_RATIO * base:
            out.append((k, v, base))
    return sorted(out, key=lambda t: -t[1] / max(t[2], PSI_SIGNIFICANT))


def psi_drift(s: SymbolEvidence) -> float:
    """How far this symbol's inputs drifted by PSI, in [0, 1] (number of drifted features)."""
    return ramp(len(drifted_features(s)), PSI_DRIFT_FROM, PSI_DRIFT_FULL)


def volatility_ratio(s: SymbolEvidence) -> float:
    """Return volatility of the last 48 h over the baseline's (NaN when unknown)."""
    if not (math.isfinite(s.volatility_after) and s.volatility_before > 0):
        return math.nan
    return s.volatility_after / s.volatility_before


def volatility_shift(ratio: float) -> float:
    """A rise of return volatility (a ratio, see `volatility_ratio`) as a shift in [0, 1]."""
    return ramp(ratio, VOL_SHIFT_FROM, VOL_SHIFT_FULL)


def input_drift(s: SymbolEvidence) -> float:
    """This symbol's input drift in [0, 1]: the stronger of its PSI and volatility signals."""
    return max(psi_drift(s), volatility_shift(volatility_ratio(s)))


def overconfidence(s: SymbolEvidence) -> float:
    """(p_mean - hit_rate) over the last 48 h minus the same before (NaN when unknown)."""
    if s.n_after < MIN_OUTCOMES or s.n_before < MIN_OUTCOMES:
        return math.nan
    return (s.p_mean_after - s.hit_rate_after) - (s.p_mean_before - s.hit_rate_before)


def pooled_overconfidence(symbols: Sequence[SymbolEvidence]) -> float:
    """Market-wide rise of over-confidence: every known outcome of every symbol weighs the
    same (sums of probabilities and hits), last 48 h vs before; NaN with too few outcomes."""
    use = [s for s in symbols if math.isfinite(overconfidence(s))]
    after = sum(s.n_after for s in use)
    before = sum(s.n_before for s in use)
    if after < MIN_OUTCOMES or before < MIN_OUTCOMES:
        return math.nan
    gap_after = sum(s.n_after * (s.p_mean_after - s.hit_rate_after) for s in use) / after
    gap_before = sum(s.n_before * (s.p_mean_before - s.hit_rate_before) for s in use) / before
    return gap_after - gap_before


def ranking_kept(symbols: Sequence[SymbolEvidence]) -> float:
    """How intact the ranking is over the last 48 h, in [0, 1], from the outcome-weighted mean
    AUC of the symbols with enough outcomes (0.5 when none: unknown is not intact)."""
    use = [s for s in symbols if s.n_after >= MIN_OUTCOMES and math.isfinite(s.auc_after)]
    total = sum(s.n_after for s in use)
    auc = sum(s.n_after * s.auc_after for s in use) / total if total else 0.5
    return ramp(auc, AUC_RANKING_FROM, AUC_RANKING_FULL)


def relation_inverted(s: SymbolEvidence) -> bool:
    """Probability ranks outcomes inversely now (AUC < 0.45), while it ranked them before."""
    if s.n_after < MIN_OUTCOMES or not math.isfinite(s.auc_after):
        return False
    before = s.auc_before if math.isfinite(s.auc_before) else 0.5
    return s.auc_after < AUC_INVERTED and before >= 0.5 and before - s.auc_after >= AUC_DROP


def persistence_change(symbols: Sequence[SymbolEvidence]) -> float:
    """Market-wide regime change in [0, 1] from the share of return persistence (mean lag-1
    autocorrelation over the symbols) the last 48 h kept; 0 when unknown or when there was no
    persistence to lose before."""
    pairs = [
        (s.persistence_before, s.persistence_after)
        for s in symbols
        if math.isfinite(s.persistence_before) and math.isfinite(s.persistence_after)
    ]
    if not pairs:
        return 0.0
    before = sum(b for b, _ in pairs) / len(pairs)
    after = sum(a for _, a in pairs) / len(pairs)
    if before < MIN_PERSISTENCE:
        return 0.0
    return ramp(PERSISTENCE_KEPT - after / before, 0.0, PERSISTENCE_SPAN)


def persistence_fell(s: SymbolEvidence) -> bool:
    """This symbol's return persistence kept less than PERSISTENCE_KEPT of its value before."""
    if not (math.isfinite(s.persistence_before) and s.persistence_before >= MIN_PERSISTENCE):
        return False
    return s.persistence_after < PERSISTENCE_KEPT * s.persistence_before


def fold_rule(s: SymbolEvidence) -> bool | None:
    """The runbook's `exp_48h < exp_14d_baseline - 0.01` (None when a window is empty)."""
    if s.exp_48h is None or s.exp_14d_baseline is None:
        return None
    return s.exp_48h < s.exp_14d_baseline - 0.01


def fmt(x: float | None) -> str:
    """A number for an evidence line (`n/a` when unknown)."""
    return "n/a" if x is None or not math.isfinite(x) else f"{x:.3f}"
