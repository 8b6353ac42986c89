"""Chapter 2's sweep gate: the FTF sweep of the world's focal cell against binary on the
training window, judged by the gate's built-in criteria (`cvntrade sweep` + `gate check`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cvntrade.demo.plan import DemoPlan


def sweep_gate(home: Path, plan: DemoPlan) -> dict[str, Any]:
    """The FTF sweep (binary baseline vs focal gamma 2, alpha 0.25) on the training window,
    judged by the gate's built-in criteria (`cvntrade sweep` + `cvntrade gate check`)."""
    from cvntrade.db import create_db_engine
    from cvntrade.drill.scenario import world_settings
    from cvntrade.drill.world_models import FOLDS, LEARNING_RATE, MIN_TRADES
    from cvntrade.gate import InlineRunner, SweepRequest, check_gate, load_criteria, run_sweep
    from cvntrade.training.booster import BoosterParams

    settings = world_settings(home)
    engine = create_db_engine(settings.effective_database_url)
    w = plan.world
    symbols = plan.symbols[:1] if plan.fast else plan.symbols
    try:
        run_sweep(
            engine,
            SweepRequest(
                symbols=symbols,
                gammas=(2.0,),
                alphas=(0.25,),
                strategy=w.strategy,
                folds=FOLDS,
                params=BoosterParams(
                    rounds=w.rounds, learning_rate=LEARNING_RATE, seed=plan.seed, nthread=1
                ),
                min_trades=MIN_TRADES,
                start=w.start,
                end=w.train_end,
            ),
            runner=InlineRunner(),
            tracking_uri=settings.effective_tracking_uri,
            settings=settings,
        )
        criteria = load_criteria()
        verdicts = {s: check_gate(engine, s, w.strategy, criteria) for s in symbols}
    finally:
        engine.dispose()
    passed = sorted(s for s, v in verdicts.items() if v.passed)
    failing = sorted({c.name for v in verdicts.values() for c in v.cell.criteria if not c.passed})
    uplift = {s: v.cell.mean_uplift_pct for s, v in verdicts.items()}
    low, high = (_signed(f(uplift.values())) for f in (min, max))
    summary = f"uplift {low} to {high} % a trade, gate passed on {len(passed)}/{len(symbols)}" + (
        f" (failing {', '.join(failing)})" if failing else ""
    )
    return {
        "passed": passed,
        "judged": len(symbols),
        "failing": failing,
        "uplift_pct": uplift,
        "summary": summary,
    }


def _signed(value: float) -> str:
    """`+0.012`, never `-0.000`."""
    text = f"{value:+.3f}"
    return "+0.000" if text == "-0.000" else text
