"""Runbook diagnosis: score the four causes of `expectancy_negative_focal` from gathered evidence.

Pure functions only: `diagnose(evidence)` turns per-symbol signals (`diagnose_signals`: input
drift by PSI and by return volatility, over-confidence of the predictions, ranking, persistence
of returns, the per-fold rule) and the implementation checks (objective fingerprint tag vs
installed, gradient/hessian self-check, commits to the focal objective since training) into one
verdict per cause, in the runbook's priority order, plus the scope (market-wide or
symbol-specific) and the recommended path. The I/O that gathers the evidence lives in
`cvntrade.runbook.diagnose_gather`.

Why the causes can be told apart (docs/drills.md):
* distribution drift moves the inputs (many features' PSI beyond their own baseline noise, or
  the volatility of returns) while the market's persistence is kept;
* calibration drift: predictions became over-confident (realised win rate far below the
  predicted one, pooled over symbols) while they still rank outcomes (AUC) and the inputs and
  the market's persistence did not move: the same signals now pay less;
* concept drift changes the relation the signal lives on: the persistence of returns is lost
  market-wide, high-probability signals start losing (AUC after < 0.5), the per-fold rule fires;
* implementation regression: the champion's objective fingerprint differs from the installed
  objective's, the self-check fails, or the objective changed since the champion was trained.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from cvntrade.runbook.diagnose_signals import (
    OVERCONFIDENCE_FROM,
    OVERCONFIDENCE_FULL,
    TOP_FEATURES,
    ImplementationEvidence,
    SymbolEvidence,
    drifted_features,
    finite,
    fmt,
    fold_rule,
    input_drift,
    overconfidence,
    persistence_change,
    persistence_fell,
    pooled_overconfidence,
    ramp,
    ranking_kept,
    relation_inverted,
    volatility_ratio,
)

__all__ = [
    "CAUSES",
    "CauseVerdict",
    "Diagnosis",
    "ImplementationEvidence",
    "SymbolEvidence",
    "diagnose",
    "recommend",
    "verdict_for",
]

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
SELF_CHECK_TOLERANCE = 1e-6
STATISTICAL_CAP = 0.9
"""Statistical evidence scores at most 0.9; a fingerprint mismatch or failed self-check is a
fact and scores 1.0, so it ranks first when it is present."""
MARKET_WIDE_SHARE = 0.6
AFFECTED = 0.5
"""A symbol is affected by input drift from this much of it (`input_drift`)."""


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


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def score_distribution(symbols: Sequence[SymbolEvidence]) -> CauseVerdict:
    """Mean input drift over the symbols (each: the stronger of its PSI and volatility
    signals), reduced by half of the market-wide persistence change (a regime change - concept
    drift - moves the inputs too)."""
    drift = [input_drift(s) for s in symbols]
    change = persistence_change(symbols)
    score = STATISTICAL_CAP * _mean(drift) * (1 - 0.5 * change)
    lines = [f"mean input drift {_mean(drift):.2f} (0 none, 1 every symbol clearly drifted)"]
    for s, d in zip(symbols, drift, strict=True):
        top = drifted_features(s)[:TOP_FEATURES]
        psi_max = max(finite(list(s.psi.values())), default=math.nan)
        lines.append(
            f"{s.crypto_symbol}: drift {d:.2f}; return volatility x{fmt(volatility_ratio(s))} "
            f"vs before; PSI max {fmt(psi_max)}, {len(drifted_features(s))} drifted features"
            + (
                f" (top: {', '.join(f'{k} {v:.2f} vs baseline {b:.2f}' for k, v, b in top)})"
                if top
                else ""
            )
        )
    hit = [d >= AFFECTED for d in drift]
    return _verdict("distribution-drift", score, symbols, hit, lines)


def score_calibration(symbols: Sequence[SymbolEvidence]) -> CauseVerdict:
    """The market-wide rise of over-confidence (pooled over symbols), counted only as far as
    the predictions still rank outcomes, the inputs did not drift and the persistence of
    returns held: path B is for calibration drift *without* drift or concept drift."""
    pooled = pooled_overconfidence(symbols)
    kept = ranking_kept(symbols)
    drift = _mean([input_drift(s) for s in symbols])
    change = persistence_change(symbols)
    strength = ramp(pooled, OVERCONFIDENCE_FROM, OVERCONFIDENCE_FULL)
    score = STATISTICAL_CAP * strength * kept * (1 - drift) * (1 - change)
    lines = [
        f"over-confidence (mean probability - realised win rate) rose by {fmt(pooled)} over "
        f"the last 48 h, pooled over symbols; ranking kept {kept:.2f}, input drift "
        f"{drift:.2f}, persistence change {change:.2f}"
    ]
    lines += [
        f"{s.crypto_symbol}: predicted {fmt(s.p_mean_after)} vs realised "
        f"{fmt(s.hit_rate_after)} (48 h, n={s.n_after}); before {fmt(s.p_mean_before)} vs "
        f"{fmt(s.hit_rate_before)}; AUC {fmt(s.auc_after)}; live ECE {fmt(s.ece_after)} vs "
        f"{fmt(s.ece_before)} before, ECE_HOLD at training {fmt(s.ece_training)}; sharpness "
        f"{fmt(s.sharpness_recent)} vs {fmt(s.sharpness_training)} at training"
        for s in symbols
    ]
    hit = [overconfidence(s) >= OVERCONFIDENCE_FROM and not relation_inverted(s) for s in symbols]
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
        f"{s.crypto_symbol}: AUC before {fmt(s.auc_before)} (n={s.n_before}) -> last 48 h "
        f"{fmt(s.auc_after)} (n={s.n_after}); persistence {fmt(s.persistence_before)} -> "
        f"{fmt(s.persistence_after)}; exp_48h {fmt(s.exp_48h)} vs exp_14d_baseline "
        f"{fmt(s.exp_14d_baseline)}: rule "
        f"{'fires' if fold_rule(s) else 'n/a' if fold_rule(s) is None else 'holds'}"
        for s in symbols
    ]
    return _verdict("concept-drift", score, symbols, hit, lines)


def _share(flags: Sequence[bool], n: int) -> float:
    return sum(flags) / n if n else 0.0


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
