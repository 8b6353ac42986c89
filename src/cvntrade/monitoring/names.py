"""The catalogue of Prometheus metrics CVNTrade exposes (prefix `cvntrade_`).

One list that the exporter, the Prometheus rules in `infra/prometheus/`, the Grafana dashboards
in `infra/grafana/` and their tests all check against, so a renamed metric cannot silently
break an alert or a panel.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

MetricKind = Literal["gauge", "counter"]


@dataclass(frozen=True, slots=True)
class MetricSpec:
    """One exposed metric: its name, kind, label names and help text."""

    name: str
    kind: MetricKind
    labels: tuple[str, ...]
    help: str


MONITORING_METRICS: tuple[MetricSpec, ...] = (
    MetricSpec(
        "cvntrade_expectancy_net_realized",
        "gauge",
        ("crypto_symbol", "window", "model_loss_function"),
        "Mean realized_pnl_pct (percent, net of fees and slippage) of trades entered in the "
        "window (48h, 7d, 14d_baseline), per symbol and loss function",
    ),
    MetricSpec(
        "cvntrade_expectancy_trades",
        "gauge",
        ("crypto_symbol", "window", "model_loss_function"),
        "Number of trades behind cvntrade_expectancy_net_realized",
    ),
    MetricSpec(
        "cvntrade_focal_loss_active",
        "gauge",
        ("source",),
        "1 when focal is active: source=config (ftf_config CVN_LOSS_FUNCTION=focal), "
        "source=champion (an engine serves a focal champion) or source=any (either)",
    ),
    MetricSpec(
        "cvntrade_feature_psi",
        "gauge",
        ("crypto_symbol", "feature"),
        "Population stability index of a feature, champion training window vs recent window",
    ),
    MetricSpec(
        "cvntrade_output_sharpness",
        "gauge",
        ("crypto_symbol", "window"),
        "Standard deviation of the champion's predicted probabilities (window=recent|training)",
    ),
    MetricSpec(
        "cvntrade_ece_hold",
        "gauge",
        ("crypto_symbol", "window"),
        "Expected calibration error, 15 equal-mass bins (window=live: predictions whose "
        "outcome is known; window=training: ECE_HOLD at training)",
    ),
    MetricSpec(
        "cvntrade_rollback_last_timestamp_seconds",
        "gauge",
        (),
        "When the last rollback that changed something was recorded (UTC epoch seconds; "
        "absent when there is none)",
    ),
    MetricSpec(
        "cvntrade_rollback_recovery_trades",
        "gauge",
        (),
        "Trades of the symbols the last rollback left on binary, entered since it (absent "
        "without a rollback)",
    ),
    MetricSpec(
        "cvntrade_rollback_recovery_expectancy",
        "gauge",
        (),
        "Mean realized_pnl_pct (percent, net) of those trades (absent while there are none)",
    ),
    MetricSpec(
        "cvntrade_monitor_last_success_timestamp_seconds",
        "gauge",
        (),
        "When the monitoring signals were last recomputed successfully (UTC epoch seconds)",
    ),
)

ENGINE_METRICS: tuple[MetricSpec, ...] = (
    MetricSpec(
        "cvntrade_champion_version",
        "gauge",
        ("model_name", "loss_function"),
        "Champion version the engine serves, per model",
    ),
    MetricSpec(
        "cvntrade_champion_stale",
        "gauge",
        ("crypto_symbol",),
        "1 when the engine serves its last good model because the registry is unreachable",
    ),
    MetricSpec(
        "cvntrade_engine_heartbeat_timestamp_seconds",
        "gauge",
        ("engine_id", "crypto_symbol"),
        "Time of the engine's last committed heartbeat (UTC, seconds since the epoch)",
    ),
    MetricSpec(
        "cvntrade_trades_total",
        "counter",
        ("crypto_symbol", "model_loss_function"),
        "Closed trades written to trade_journal",
    ),
    MetricSpec("cvntrade_kill_switch_active", "gauge", (), "1 while the kill switch is on"),
    MetricSpec("cvntrade_halt_active", "gauge", (), "1 while the ADR-71 system-wide halt is on"),
)

ALL_METRICS: tuple[MetricSpec, ...] = MONITORING_METRICS + ENGINE_METRICS
