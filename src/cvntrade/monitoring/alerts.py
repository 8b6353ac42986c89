"""The `expectancy_negative_focal` rule: ONE pure function that every caller uses.

`evaluate` answers the runbook's question "expectancy_net_realized < 0 over 48 h on >= 2 cryptos
AND focal_loss_active = 1" (severity P1) from plain values: a mapping symbol → 48 h focal
expectancy (percent, net; runbook step-1 semantics, see `cvntrade.journal.expectancy`) and a
focal-active flag. `runbook confirm`, `monitor check`, the evaluator loop inside `monitor serve`,
the exporter and the shared scenario table (`infra/prometheus/tests/alert_scenarios.yaml`) all
call it, so they cannot disagree.

`read_focal_active` decides `focal_loss_active` from the database: 1 when `ftf_config` says
`CVN_LOSS_FUNCTION=focal` (source `config`) OR any engine that is not stopped serves a focal
champion (source `champion`, from the `engine_status` heartbeats). Either alone is enough: the
config is what the next training uses, the champions are what trades now; after a rollback of
the config the old focal champions still trade until the aliases move, and that is still an
incident.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from cvntrade.domain import LossFunction

ALERT_NAME = "expectancy_negative_focal"
SEVERITY = "P1"
FOCAL = LossFunction.FOCAL.value


@dataclass(frozen=True, slots=True)
class AlertConfig:
    """Parameters of the rule; the defaults are the runbook's."""

    min_negative_symbols: int = 2
    threshold_pct: float = 0.0
    window: dt.timedelta = dt.timedelta(hours=48)


@dataclass(frozen=True, slots=True)
class FocalActive:
    """`focal_loss_active` and why: the config, the served champions, or both."""

    config: bool
    champion: bool
    champion_symbols: tuple[str, ...] = ()

    @property
    def active(self) -> bool:
        """True when either source says focal is in use."""
        return self.config or self.champion

    @property
    def source(self) -> str:
        """`config`, `champion`, `config+champion` or `none` (shown in the alert labels)."""
        parts = [name for name, on in (("config", self.config), ("champion", self.champion)) if on]
        return "+".join(parts) or "none"


@dataclass(frozen=True, slots=True)
class AlertState:
    """The rule's verdict with everything a page needs: symbols, values, labels."""

    firing: bool
    negative_symbols: tuple[str, ...]
    expectancies: Mapping[str, float]
    focal_active: bool
    focal_source: str
    severity: str = SEVERITY
    alert: str = ALERT_NAME
    labels: Mapping[str, str] = field(default_factory=dict)

    @property
    def fingerprint(self) -> str:
        """Stable id of the alert series (its name and labels), as Alertmanager's fingerprint."""
        payload = json.dumps({"alert": self.alert, **self.labels}, sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    @property
    def summary(self) -> str:
        """One line for logs, notes and notifications."""
        values = ", ".join(f"{s}={self.expectancies[s]:+.4f}%" for s in self.negative_symbols)
        state = "FIRING" if self.firing else "ok"
        return (
            f"{self.alert} {state}: {len(self.negative_symbols)} negative symbol(s)"
            + (f" ({values})" if values else "")
            + f", focal_loss_active={int(self.focal_active)} (source {self.focal_source})"
        )


def evaluate(
    expectancies: Mapping[str, float],
    focal_active: bool | int | FocalActive,
    config: AlertConfig | None = None,
) -> AlertState:
    """Apply the rule to plain values: {symbol: 48 h expectancy %} and focal-active (bool/0/1).

    A symbol is negative when its expectancy is strictly below `threshold_pct` (0); NaN is not
    negative (no trades is not a loss). The alert fires when at least `min_negative_symbols`
    symbols are negative AND focal is active. Pure: no I/O, no clock.
    """
    cfg = config or AlertConfig()
    if isinstance(focal_active, FocalActive):
        active, source = focal_active.active, focal_active.source
    else:
        active = bool(focal_active)
        source = "given" if active else "none"
    negative = tuple(sorted(s for s, v in expectancies.items() if v < cfg.threshold_pct))
    return AlertState(
        firing=active and len(negative) >= cfg.min_negative_symbols,
        negative_symbols=negative,
        expectancies=dict(sorted(expectancies.items())),
        focal_active=active,
        focal_source=source,
        labels={"severity": SEVERITY},
    )


def evaluate_scenario(entry: Mapping[str, Any], config: AlertConfig | None = None) -> bool:
    """The rule on one entry of the shared scenario table
    (`infra/prometheus/tests/alert_scenarios.yaml`): `{focal_loss_active: 0|1,
    expectancy_48h: {symbol: pct}, …}` → firing or not (compare with `expect_firing`)."""
    values = {str(k): float(v) for k, v in (entry.get("expectancy_48h") or {}).items()}
    return evaluate(values, int(entry["focal_loss_active"]), config).firing


def read_focal_active(engine: Engine, *, now: dt.datetime) -> FocalActive:
    """`focal_loss_active` from `ftf_config` and the engines serving at `now`.

    Engines serving = `cvntrade.trading.persistence.live_status` (not stopped, fresh heartbeat).
    """
    from cvntrade.config import read_config
    from cvntrade.trading.persistence import live_status

    config_focal = read_config(engine).loss_function == FOCAL
    symbols = tuple(
        sorted(
            {
                row.crypto_symbol
                for row in live_status(engine, now=now)
                if row.model_loss_function == FOCAL
            }
        )
    )
    return FocalActive(config=config_focal, champion=bool(symbols), champion_symbols=symbols)


def evaluate_engine(
    engine: Engine, config: AlertConfig | None = None, *, now: dt.datetime | None = None
) -> AlertState:
    """Read the 48 h focal expectancy per symbol and focal-active from the database, evaluate."""
    from cvntrade.clock import fixed_clock, utc_now
    from cvntrade.journal.expectancy import expectancy_by_symbol

    cfg = config or AlertConfig()
    clock = utc_now if now is None else fixed_clock(now)
    rows = expectancy_by_symbol(engine, window=cfg.window, loss=FOCAL, clock=clock)
    return evaluate(
        {r.crypto_symbol: r.expectancy_pct for r in rows},
        read_focal_active(engine, now=clock()),
    )
