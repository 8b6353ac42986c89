"""The engine's Prometheus metrics, scraped over loopback like Prometheus would."""

from __future__ import annotations

import socket
import urllib.request
from collections.abc import Callable
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine
from trading_support import STRATEGY, SYMBOLS, TRAIN_END, BoosterModel

from cvntrade.registry import MlflowRegistry
from cvntrade.strategy import model_name
from cvntrade.trading.engine import Costs
from cvntrade.trading.flags import set_flag
from cvntrade.trading.metrics import EngineMetrics
from cvntrade.trading.service import EngineSetup, run_paper


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_replay_publishes_champion_heartbeat_trades_and_switches(
    engine: Engine, registry: MlflowRegistry, loader: Callable[..., BoosterModel], market_dir: Path
) -> None:
    port = _free_port()
    metrics = EngineMetrics()
    metrics.serve(port)
    set_flag(engine, "kill_switch", True, reason="metrics test", actor="t")
    setup = EngineSetup(
        db=engine,
        registry=registry,
        loader=loader,
        symbols=SYMBOLS,
        strategy=STRATEGY,
        interval="1h",
        costs=Costs(0.1, 0.02),
        poll_s=3600.0,
        engine_id="metrics-test",
        metrics=metrics,
    )
    run_paper(setup, data_dir=market_dir, start=TRAIN_END, end=TRAIN_END.replace(day=20))
    samples = _scrape(port)
    assert samples[("cvntrade_kill_switch_active", ())] == 1.0
    assert samples[("cvntrade_halt_active", ())] == 0.0
    for symbol in SYMBOLS:
        name = model_name(symbol, STRATEGY)
        key = ("cvntrade_champion_version", (("loss_function", "focal"), ("model_name", name)))
        assert samples[key] == 2.0
        assert samples[("cvntrade_champion_stale", (("crypto_symbol", symbol),))] == 0.0
        heartbeat = (
            "cvntrade_engine_heartbeat_timestamp_seconds",
            (("crypto_symbol", symbol), ("engine_id", "metrics-test")),
        )
        assert samples[heartbeat] > 1.7e9


def test_two_engines_have_separate_registries() -> None:
    first, second = EngineMetrics(), EngineMetrics()
    first.trades.labels("BTCUSDC", "focal").inc()
    assert (
        first.registry.get_sample_value(
            "cvntrade_trades_total", {"crypto_symbol": "BTCUSDC", "model_loss_function": "focal"}
        )
        == 1.0
    )
    assert (
        second.registry.get_sample_value(
            "cvntrade_trades_total", {"crypto_symbol": "BTCUSDC", "model_loss_function": "focal"}
        )
        is None
    )
