"""Runbook diagnosis: score the four causes of `expectancy_negative_focal` from gathered evidence.

Pure functions only: `diagnose(evidence)` turns per-symbol signals (PSI, sharpness, live ECE,
per-fold expectancy, AUC of probability vs realised outcome before / after the last 48 h) and
the implementation checks (objective fingerprint tag vs installed, gradient/hessian self-check,
commits to the focal objective since training) into one verdict per cause, in the runbook's
priority order, plus the scope (market-wide or symbol-specific) and the recommended path.
The I/O that gathers the evidence lives in `cvntrade.runbook.diagnose_gather`.

Why the causes can be told apart (docs/drills.md):
* distribution drift moves many features' PSI while probability still ranks outcomes;
* calibration drift moves live ECE far above ECE_HOLD while PSI stays low and ranking holds;
* concept drift inverts the relation: high-probability signals now lose (AUC after < 0.5 while
  it was > 0.5 before), on top of the per-fold rule;
* implementation regression: the champion's objective fingerprint differs from the installed
  objective's, the self-check fails, or the objective changed since the champion was trained.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

CAUSES = (
    "distribution-drift",
    "calibration-drift",
    "concept-drift",
    "implementation-regression",
)
"""The runbook's causes, in its priority order."""

LIKELY, POSSIBLE, RULED_OUT = "likely", "possible", "ruled out"
LIKELY_SCORE = 0.5
POSSIBLE_SCORE = 0.2
PSI_SIGNIFICANT = 0.25
"""PSI above which a feature can count as drifted (the usual 'significant shift' bound)."""
PSI_RATIO = 1.5
"""...and only when its 48 h PSI is this many times the largest 48 h PSI of the baseline: on 48
autocorrelated hourly bars PSI is large even without any shift, so it is judged against itself."""
PSI_DRIFTED_FEATURES = 3
"""A symbol's inputs drifted when at least this many features drifted."""
ECE_GAP = 0.12
"""Live ECE over the last 48 h this far above the live ECE before is miscalibration."""
AUC_INVERTED = 0.45
AUC_DROP = 0.1
PERSISTENCE_KEPT = 0.5
"""Regime change starts when the mean lag-1 return autocorrelation keeps less than half of its
value before; it is complete at PERSISTENCE_KEPT - PERSISTENCE_SPAN (15 %) or below."""
PERSISTENCE_SPAN = 0.35
MIN_PERSISTENCE = 0.1
MIN_OUTCOMES = 15
SELF_CHECK_TOLERANCE = 1e-6
STATISTICAL_CAP = 0.9
"""Statistical evidence scores at most 0.9; a fingerprint mismatch or failed self-check is a
fact and scores 1.0, so it ranks first when it is present."""
MARKET_WIDE_SHARE = 0.6
TOP_FEATURES = 5


@dataclass(frozen=True, slots=True)
class SymbolEvidence:
    """Everything the diagnosis reads about one symbol's champion (NaN / None when unknown)."""

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


@dataclass(frozen=True, slots=True)
class CauseVerdict:
    """One cause: verdict, score in [0, 1], affected symbols and the evidence lines."""

    cause: str
    verdict: str
    score: float
    symbols: tuple[str, ...]
    evidence: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Diagnosis:
    """All four causes (priority order), their ranking (score, then priority order), the
    causes judged likely, the scope and the recommended path."""

    causes: tuple[CauseVerdict, ...]
    ranking: tuple[str, ...]
    likely: tuple[str, ...]
    scope: str
    affected: tuple[str, ...]
    path: str
    why: str


def verdict_for(score: float) -> str:
    """likely (>= 0.5), possible (>= 0.2) or ruled out."""
    if score >= LIKELY_SCORE:
        return LIKELY
    return POSSIBLE if score >= POSSIBLE_SCORE else RULED_OUT


def drifted_features(s: SymbolEvidence) -> list[tuple[str, float, float]]:
    """(feature, PSI, baseline PSI) of the drifted features, largest PSI / baseline first: PSI
    above PSI_SIGNIFICANT and at least PSI_RATIO times its largest 48 h value in the baseline."""
    out = []
    for k, v in s.psi.items():
        base = s.psi_baseline.get(k, 0.0)
        if math.isfinite(v) and v > PSI_SIGNIFICANT and v >= PSI_RATIO * base:
            out.append((k, v, base))
    return sorted(out, key=lambda t: -t[1] / max(t[2], PSI_SIGNIFICANT))


def inputs_drifted(s: SymbolEvidence) -> bool:
    """At least PSI_DRIFTED_FEATURES drifted features."""
    return len(drifted_features(s)) >= PSI_DRIFTED_FEATURES


def relation_inverted(s: SymbolEvidence) -> bool:
    """Probability ranks outcomes inversely now (AUC < 0.45), while it ranked them before."""
    if s.n_after < MIN_OUTCOMES or not math.isfinite(s.auc_after):
        return False
    before = s.auc_before if math.isfinite(s.auc_before) else 0.5
    return s.auc_after < AUC_INVERTED and before >= 0.5 and before - s.auc_after >= AUC_DROP


def miscalibrated(s: SymbolEvidence) -> bool:
    """Live ECE over the last 48 h at least ECE_GAP above the live ECE before (enough outcomes)."""
    if s.n_after < MIN_OUTCOMES or not (math.isfinite(s.ece_after) and math.isfinite(s.ece_before)):
        return False
    return s.ece_after - s.ece_before >= ECE_GAP


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
    kept = after / before
    return min(max((PERSISTENCE_KEPT - kept) / PERSISTENCE_SPAN, 0.0), 1.0)


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


def _share(flags: Sequence[bool], n: int) -> float:
    return sum(flags) / n if n else 0.0


def _fmt(x: float | None) -> str:
    return "n/a" if x is None or not math.isfinite(x) else f"{x:.3f}"


def score_distribution(symbols: Sequence[SymbolEvidence]) -> CauseVerdict:
    """Share of symbols whose inputs drifted, reduced by half of the market-wide persistence
    change (a regime change - concept drift - moves the volatility features too)."""
    n = len(symbols)
    hit = [inputs_drifted(s) for s in symbols]
    score = STATISTICAL_CAP * _share(hit, n) * (1 - 0.5 * persistence_change(symbols))
    lines = []
    for s in symbols:
        top = drifted_features(s)[:TOP_FEATURES]
        finite = [v for v in s.psi.values() if math.isfinite(v)]
        lines.append(
            f"{s.crypto_symbol}: PSI max {_fmt(max(finite) if finite else None)}, "
            f"{len(drifted_features(s))} drifted features"
            + (
                f" (top: {', '.join(f'{k} {v:.2f} vs baseline {b:.2f}' for k, v, b in top)})"
                if top
                else ""
            )
        )
    return _verdict("distribution-drift", score, symbols, hit, lines)


def score_calibration(symbols: Sequence[SymbolEvidence]) -> CauseVerdict:
    """Share of miscalibrated symbols; one whose inputs drifted counts a quarter (drift, not
    calibration, explains it); reduced by half of the persistence change (the runbook's path B
    is for calibration drift *without* concept drift)."""
    hit = [miscalibrated(s) for s in symbols]
    raw = sum(0.25 if inputs_drifted(s) else 1.0 for s, h in zip(symbols, hit, strict=True) if h)
    lines = [
        f"{s.crypto_symbol}: live ECE {_fmt(s.ece_after)} (48 h, n={s.n_after}) vs "
        f"{_fmt(s.ece_before)} before; ECE_HOLD at training {_fmt(s.ece_training)}; "
        f"sharpness {_fmt(s.sharpness_recent)} vs {_fmt(s.sharpness_training)} at training"
        for s in symbols
    ]
    share = raw / len(symbols) if symbols else 0.0
    score = STATISTICAL_CAP * share * (1 - 0.5 * persistence_change(symbols))
    return _verdict("calibration-drift", score, symbols, hit, lines)


def score_concept(symbols: Sequence[SymbolEvidence]) -> CauseVerdict:
    """Mostly the market-wide fall of return persistence (the relation the signal lives on),
    corroborated by inverted probability -> outcome relations and the per-fold rule. Inversion
    without a market change is the model's doing (see implementation regression)."""
    n = len(symbols)
    inverted = [relation_inverted(s) for s in symbols]
    rule = [fold_rule(s) is True for s in symbols]
    change = persistence_change(symbols)
    score = STATISTICAL_CAP * min(
        0.7 * change + 0.2 * _share(inverted, n) + 0.1 * _share(rule, n), 1.0
    )
    hit = [inv or persistence_fell(s) for s, inv in zip(symbols, inverted, strict=True)]
    lines = [f"market-wide fall of return persistence: {change:.2f} (0 none, 1 full reversal)"]
    lines += [
        f"{s.crypto_symbol}: AUC before {_fmt(s.auc_before)} (n={s.n_before}) -> last 48 h "
        f"{_fmt(s.auc_after)} (n={s.n_after}); persistence {_fmt(s.persistence_before)} -> "
        f"{_fmt(s.persistence_after)}; exp_48h {_fmt(s.exp_48h)} vs exp_14d_baseline "
        f"{_fmt(s.exp_14d_baseline)}: rule "
        f"{'fires' if fold_rule(s) else 'n/a' if fold_rule(s) is None else 'holds'}"
        for s in symbols
    ]
    return _verdict("concept-drift", score, symbols, hit, lines)


def score_implementation(
    symbols: Sequence[SymbolEvidence], impl: ImplementationEvidence
) -> CauseVerdict:
    """1 when a champion's objective fingerprint differs from the installed one or the installed
    gradient/hessian fails the self-check; 0.4 when the objective's file changed since a
    champion was trained (possible); else 0."""
    mismatch = [
        s.fingerprint_tag is not None and s.fingerprint_tag != impl.installed_fingerprint
        for s in symbols
    ]
    check_failed = not (impl.self_check_error <= SELF_CHECK_TOLERANCE)
    lines = [
        f"installed objective fingerprint {impl.installed_fingerprint}; self-check max error "
        f"{impl.self_check_error:.2e} ({'FAILED' if check_failed else 'ok'})",
        (
            f"git: {len(impl.commits)} commit(s) to focal_loss.py since training"
            + (f": {'; '.join(impl.commits[:5])}" if impl.commits else "")
            if impl.git_checkout
            else f"git: not a git checkout ({impl.git_note or 'history unavailable'})"
        ),
    ]
    lines += [
        f"{s.crypto_symbol}: champion v{s.model_version} fingerprint "
        f"{s.fingerprint_tag or 'not recorded'}" + (" != installed" if m else "")
        for s, m in zip(symbols, mismatch, strict=True)
    ]
    if any(mismatch) or check_failed:
        score = 1.0
    elif impl.commits:
        score = 0.4
    else:
        score = 0.0
    hit = [m or check_failed for m in mismatch]
    return _verdict("implementation-regression", score, symbols, hit, lines)


def _verdict(
    cause: str,
    score: float,
    symbols: Sequence[SymbolEvidence],
    hit: Sequence[bool],
    lines: list[str],
) -> CauseVerdict:
    affected = tuple(s.crypto_symbol for s, h in zip(symbols, hit, strict=True) if h)
    return CauseVerdict(cause, verdict_for(score), round(score, 3), affected, tuple(lines))


def recommend(top: CauseVerdict | None) -> tuple[str, str]:
    """The runbook's path for the leading cause, and why."""
    if top is None or top.verdict != LIKELY:
        return "A", "no cause is likely: stay on the baseline (path A, the default) and watch"
    if top.cause == "calibration-drift":
        return "B", "calibration drift only (ranking intact): recalibrate (temperature scaling)"
    if top.cause == "concept-drift":
        return "C", (
            "the regime changed and focal's hard-example focus hurts: milder focal "
            "(gamma 1.0), retrain, and fall back to A if expectancy is still negative"
        )
    if top.cause == "implementation-regression":
        return "A", "the focal objective the champion was trained with is broken: roll back"
    return "A", "inputs drifted since training (exp_48h below baseline): roll back (path A)"


def diagnose(symbols: Sequence[SymbolEvidence], impl: ImplementationEvidence) -> Diagnosis:
    """Score the four causes, rank them (score, then priority order), and recommend a path."""
    causes = (
        score_distribution(symbols),
        score_calibration(symbols),
        score_concept(symbols),
        score_implementation(symbols, impl),
    )
    ranked = sorted(causes, key=lambda c: (-c.score, CAUSES.index(c.cause)))
    likely = [c for c in ranked if c.verdict == LIKELY]
    top = ranked[0] if ranked and ranked[0].verdict == LIKELY else None
    affected = top.symbols if top else ()
    if top is None or not affected:
        scope = "none"
    elif len(affected) >= MARKET_WIDE_SHARE * len(symbols):
        scope = "market-wide"
    else:
        scope = "symbol-specific"
    path, why = recommend(top)
    return Diagnosis(
        causes=causes,
        ranking=tuple(c.cause for c in ranked),
        likely=tuple(c.cause for c in likely),
        scope=scope,
        affected=affected,
        path=path,
        why=why,
    )
