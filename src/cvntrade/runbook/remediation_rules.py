"""The remediation decisions as pure functions, and the typed results of `runbook remediate`.

* path choice (`choose_path`): the diagnosis' recommendation, A when there is none;
* path B (`ece_improved`): a recalibrated version is promoted only when its ECE_HOLD on the
  recalibration window is at least `ECE_MIN_GAIN` below the ECE_HOLD of the version it
  recalibrates on the same window (both measured by the training API, 15 equal-mass bins); a
  gain smaller than that is noise of a one-parameter fit, and the champion is kept;
* path C (`milder_focal_promotes`): the retrained gamma-1.0 version is promoted when its
  backtest over the evaluation window (the alert's last 48 h, out of sample: it is trained on
  the bars before) made at least `MIN_EVAL_TRADES` trades with a mean net return >= 0; every
  other symbol falls back to path A (`fallback_symbols`).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cvntrade.domain import RemediationPath

ECE_MIN_GAIN = 0.005
"""ECE_HOLD must fall by at least this much (probability units) for path B to promote."""
MIN_EVAL_TRADES = 3
"""Path C promotes only with at least this many backtest trades in the evaluation window."""
EVAL_WINDOW = dt.timedelta(hours=48)
"""Path C's evaluation window: the alert's window, ending now."""
MILD_GAMMA = "1.0"
"""Path C's `CVN_FOCAL_GAMMA` (the runbook: 'current → 1.0 (mild) instead of 2.0')."""
CALIBRATION = "temperature_scaling"
VIAS = ("inline", "airflow")

PROMOTED = "promoted"
KEPT = "kept"
FELL_BACK = "fell_back_to_A"
ROLLED_BACK = "rolled_back"
ALREADY_BASELINE = "already_binary"
SKIPPED = "skipped"
PLANNED = "planned"


@dataclass(frozen=True, slots=True)
class SymbolRemediation:
    """What remediation did for one symbol, with the numbers before and after."""

    crypto_symbol: str
    model_name: str
    action: str
    """`promoted`, `kept`, `fell_back_to_A`, `rolled_back`, `already_binary`, `skipped`,
    `planned` (dry run)."""
    why: str
    from_version: int | None = None
    candidate_version: int | None = None
    champion_after: int | None = None
    before: Mapping[str, float | None] = field(default_factory=dict)
    after: Mapping[str, float | None] = field(default_factory=dict)
    command: str | None = None
    """The equivalent manual command of the decisive change (promotion or rollback)."""


@dataclass(frozen=True, slots=True)
class RemediationResult:
    """One `runbook remediate` run: the plan, and (unless a dry run) what it did per symbol."""

    path: str
    dry_run: bool
    via: str
    reason: str
    incident_id: int | None
    attachment: str
    symbols: tuple[str, ...]
    plan: tuple[str, ...]
    outcomes: tuple[SymbolRemediation, ...] = ()
    fell_back_to_a: tuple[str, ...] = ()
    config_changes: tuple[str, ...] = ()
    backtest_run_id: int | None = None
    duration_s: float = 0.0
    note_id: int | None = None

    def note_data(self) -> dict[str, Any]:
        """The `remediation` note's structured data (rendered by the incident report)."""
        return {
            "path": self.path,
            "symbols": list(self.symbols),
            "via": self.via,
            "before": {o.crypto_symbol: dict(o.before) for o in self.outcomes},
            "after": {o.crypto_symbol: dict(o.after) for o in self.outcomes},
            "outcome": {o.crypto_symbol: o.action for o in self.outcomes},
            "fell_back_to_A": list(self.fell_back_to_a),
            "versions": {
                o.crypto_symbol: {
                    "from": o.from_version,
                    "candidate": o.candidate_version,
                    "champion_after": o.champion_after,
                }
                for o in self.outcomes
            },
            "config_changes": list(self.config_changes),
            "backtest_run_id": self.backtest_run_id,
        }


def choose_path(recommended: str | None) -> RemediationPath:
    """The path to take: the diagnosis' recommendation, else A (the runbook's default)."""
    if recommended is None:
        return RemediationPath.A
    return RemediationPath.parse(recommended, field="recommended path")


def ece_improved(before: float | None, after: float | None, min_gain: float = ECE_MIN_GAIN) -> bool:
    """True when ECE_HOLD after recalibration is at least `min_gain` below the one before."""
    if before is None or after is None or not (math.isfinite(before) and math.isfinite(after)):
        return False
    return after <= before - min_gain


def milder_focal_promotes(
    expectancy_pct: float | None, n_trades: int, min_trades: int = MIN_EVAL_TRADES
) -> bool:
    """Path C: promote when the evaluation made enough trades and their mean is >= 0."""
    if expectancy_pct is None or not math.isfinite(expectancy_pct):
        return False
    return n_trades >= min_trades and expectancy_pct >= 0


def fallback_symbols(outcomes: Sequence[SymbolRemediation]) -> tuple[str, ...]:
    """The symbols path C sends back to path A (everything it did not promote)."""
    return tuple(o.crypto_symbol for o in outcomes if o.action != PROMOTED)


def plan_lines(
    path: RemediationPath,
    symbols: Sequence[str],
    *,
    via: str,
    reason: str,
    current_gamma: str | None,
    eval_start: dt.datetime,
    now: dt.datetime,
) -> tuple[str, ...]:
    """What a run will do, step by step with the equivalent commands (pure; `--dry-run`)."""
    listed = ",".join(symbols) or "(none)"
    quoted = reason.replace("'", "'\\''")
    if path is RemediationPath.A:
        return (
            f"rollback (if not done): cvntrade runbook rollback --symbols {listed} "
            f"--reason '{quoted}'",
            "incident note `remediation` {path: A, symbols, outcome}",
        )
    if path is RemediationPath.B:
        how = (
            "airflow dags test launch__training -c "
            '\'{"symbol": S, "strategy": …, "recalibrate_only": true, "recalibrate_version": V}\''
            if via == "airflow"
            else "cvntrade train --symbol S --recalibrate-only --recalibrate-version V"
        )
        return (
            f"config: cvntrade config set CVN_CALIBRATION={CALIBRATION} --reason '{quoted}'",
            f"per symbol ({listed}): recalibrate the focal version V (the champion, or the one "
            f"a rollback replaced): {how}",
            "per symbol: ECE_HOLD before vs after on the recalibration window; promote "
            f"(cvntrade models set-alias … --alias champion) only if it fell by >= {ECE_MIN_GAIN}",
            "incident note `remediation` {path: B, symbols, before, after}",
        )
    return (
        f"config: CVN_FOCAL_GAMMA {current_gamma or 'unset'} → {MILD_GAMMA}: cvntrade config set "
        f"CVN_FOCAL_GAMMA={MILD_GAMMA} --reason '{quoted}'",
        f"per symbol ({listed}): retrain focal (gamma {MILD_GAMMA}) on the bars before "
        f"{eval_start:%Y-%m-%d %H:%M}: cvntrade train --symbol S --loss focal --end "
        f"{eval_start:%Y-%m-%dT%H:%M}",
        f"evaluate: one backtest run of the new versions over [{eval_start:%Y-%m-%d %H:%M}, "
        f"{now:%Y-%m-%d %H:%M}) UTC (stored apart from the journal, `cvntrade trade runs show`)",
        f"promote where >= {MIN_EVAL_TRADES} trades and expectancy >= 0; fall back to path A "
        "(rollback) for the others",
        "incident note `remediation` {path: C, symbols, before, after, fell_back_to_A}",
    )
