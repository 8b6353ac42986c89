"""How a drill world's models are made: trained through the training API, promoted through the
registry, exactly as an operator would (`cvntrade.drill.scenario` builds the rest of the world).

Binary version 1 per symbol (the first version becomes champion), `CVN_LOSS_FUNCTION=focal` in
`ftf_config` (audited), focal version 2 promoted to champion (audited `set_alias`); the
`implementation-regression` world also trains focal version 3 with the planted defect
(`cvntrade.drill.planted`), which the engine promotes at the event.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pandas as pd

from cvntrade.drill.world_trading import ACTOR, INTERVAL
from cvntrade.strategy import model_name

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from cvntrade.drill.scenario import WorldPlan
    from cvntrade.settings import Settings

ROUNDS = 40
LEARNING_RATE = 0.15
"""40 rounds at 0.15: as good a fit on a world's ~1,400 rows as 60 at 0.05, in less time."""
FOLDS = 3
MIN_TRADES = 200
"""Out-of-fold trades a threshold must produce (`run_training(min_trades=…)`): about four a day
over the walk-forward's test blocks, so that 48 h hold enough trades to judge a model."""
FOCAL_GAMMA = "2.0"
FOCAL_ALPHA = "0.25"
ProgressCallback = Callable[[str], None]


CONFIG_REASON = "focal made the active loss (drill world premise, not a gate verdict)"
PROMOTION_REASON = "focal v2 made champion (drill world premise, not a gate verdict)"
"""What the world's audit rows say: the world promotes focal by its premise, whatever the sweep
gate would say (the demo runs the gate and shows its verdict beside this)."""


def train_and_promote(
    plan: WorldPlan, engine: Engine, settings: Settings, say: ProgressCallback
) -> tuple[dict[str, int], dict[str, int], dict[str, str]]:
    """Binary v1 (first version: champion), config focal, focal v2 promoted to champion.

    `implementation-regression` also trains focal v3 with the planted defect; the engine's
    scheduled switch promotes it at the event. Returns (champions at trading start, versions
    promoted at the event, focal objective fingerprint per version `name:version`).
    """
    from cvntrade.config import set_config
    from cvntrade.drill.planted import FINGERPRINT_TAG, objective_fingerprint, planted_focal_defect
    from cvntrade.registry import CHAMPION, MlflowRegistry, set_alias
    from cvntrade.training.api import run_training
    from cvntrade.training.booster import BoosterParams

    # One thread: on small data a second OpenMP thread only spins (and the machine is shared).
    params = BoosterParams(
        rounds=plan.rounds, learning_rate=LEARNING_RATE, seed=plan.seed, nthread=1
    )
    registry = MlflowRegistry(settings.effective_tracking_uri)
    fingerprints: dict[str, str] = {}

    def train(symbol: str, loss: str) -> int:
        result = run_training(
            engine,
            symbol=symbol,
            strategy=plan.strategy,
            loss=loss,
            folds=FOLDS,
            start=pd.Timestamp(plan.start),
            end=pd.Timestamp(plan.train_end),
            params=params,
            min_trades=MIN_TRADES,
            interval=INTERVAL,
            actor=ACTOR,
            settings=settings,
        )
        if loss == "focal":
            from cvntrade.training.xgboost import focal_loss

            fingerprint = objective_fingerprint(focal_loss.focal_objective)
            registry.client.set_model_version_tag(
                result.model_name, str(result.version), FINGERPRINT_TAG, fingerprint
            )
            fingerprints[f"{result.model_name}:{result.version}"] = fingerprint
        return result.version

    for symbol in plan.symbols:
        say(f"training {symbol} binary:logistic")
        train(symbol, "binary:logistic")
    set_config(
        engine,
        {
            "CVN_LOSS_FUNCTION": "focal",
            "CVN_FOCAL_GAMMA": FOCAL_GAMMA,
            "CVN_FOCAL_ALPHA": FOCAL_ALPHA,
        },
        reason=CONFIG_REASON,
        actor=ACTOR,
    )
    champions: dict[str, int] = {}
    for symbol in plan.symbols:
        say(f"training {symbol} focal")
        version = train(symbol, "focal")
        set_alias(
            engine,
            registry,
            name=model_name(symbol, plan.strategy),
            alias=CHAMPION,
            version=version,
            reason=PROMOTION_REASON,
            actor=ACTOR,
        )
        champions[symbol] = version
    switch_versions: dict[str, int] = {}
    if plan.cause == "implementation-regression":
        with planted_focal_defect():
            for symbol in plan.symbols:
                say(f"training {symbol} focal (regressed objective)")
                switch_versions[symbol] = train(symbol, "focal")
    return champions, switch_versions, fingerprints
