"""Sweep cells, grids and the sweep key: names are exact, keys deterministic and sensitive."""

from __future__ import annotations

from typing import Any

import pytest

import cvntrade.gate
from cvntrade.errors import UserInputError
from cvntrade.gate import BASELINE, Cell, SweepConfig, focal_cell, parse_grid, sweep_cells
from cvntrade.gate.config import params_dict
from cvntrade.gate.runners import DaskRunner, InlineRunner, ProcessPoolRunner, make_runner
from cvntrade.training.booster import BoosterParams


def config(**changes: Any) -> SweepConfig:
    values: dict[str, Any] = {
        "symbol": "BTCUSDC",
        "strategy": "SL0.5_TP1_H4",
        "interval": "1h",
        "gammas": (0.5, 1.0, 2.0),
        "alphas": (0.25, 0.5),
        "folds": 5,
        "scheme": "expanding",
        "embargo_bars": 4,
        "min_trades": 30,
        "calibration": "temperature_scaling",
        "params": params_dict(BoosterParams(nthread=1)),
        "data_start": "2024-01-05T00:00:00Z",
        "data_end": "2026-01-01T00:00:00Z",
        "dataset_hash": "ab" * 32,
        "n_rows": 17445,
        "fees_pct": 0.1,
        "slippage_pct": 0.02,
    }
    return SweepConfig(**{**values, **changes})


def test_cell_names_identify_their_numbers_and_parse_back() -> None:
    assert BASELINE.name == "binary" and BASELINE.is_baseline
    assert focal_cell(2, 0.25).name == "focal_g2_a0.25"
    assert focal_cell(0.5, 0.5).name == "focal_g0.5_a0.5"
    for cell in sweep_cells((0, 0.5, 1, 2), (0.25, 0.75)):
        assert Cell.parse(cell.name) == cell
    assert [c.name for c in sweep_cells((1,), (0.25, 0.5))] == [
        "binary",
        "focal_g1_a0.25",
        "focal_g1_a0.5",
    ]


@pytest.mark.parametrize(
    ("text", "kind", "message"),
    [
        ("", "gamma", "needs at least one value"),
        ("1,x", "gamma", "invalid --g value 'x'"),
        ("-1", "gamma", "must be >= 0"),
        ("0,1", "alpha", "must be in (0, 1)"),
        ("nan", "gamma", "must be finite"),
        ("0.1234567", "alpha", "at most 6 significant digits"),
    ],
)
def test_bad_grids_are_user_errors(text: str, kind: str, message: str) -> None:
    with pytest.raises(UserInputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_grid(text, "--g", kind)  # type: ignore[arg-type]


def test_grids_are_sorted_and_deduplicated() -> None:
    assert parse_grid("2, 0.5,1,2", "--gammas", "gamma") == (0.5, 1.0, 2.0)


def test_the_sweep_key_is_deterministic_and_changes_with_every_input() -> None:
    base = config()
    assert config().key == base.key and len(base.key) == 16
    assert SweepConfig.from_json(base.canonical_json()) == base
    variants = [
        config(symbol="ETHUSDC"),
        config(gammas=(0.5, 1.0)),
        config(alphas=(0.25, 0.75)),
        config(folds=4),
        config(calibration="none"),
        config(params=params_dict(BoosterParams(nthread=1, seed=1))),
        config(params=params_dict(BoosterParams(nthread=2))),
        config(data_end="2026-01-02T00:00:00Z"),
        config(dataset_hash="cd" * 32),
        config(fees_pct=0.2),
    ]
    keys = {v.key for v in variants}
    assert len(keys) == len(variants) and base.key not in keys


def test_the_config_rebuilds_the_training_inputs() -> None:
    base = config()
    assert base.booster_params() == BoosterParams(nthread=1)
    assert base.validation().n_folds == 5 and base.validation().embargo_bars == 4
    assert [c.name for c in base.cells()][:2] == ["binary", "focal_g0.5_a0.25"]
    assert base.cost_pct == pytest.approx(0.12)
    with pytest.raises(UserInputError, match="unreadable sweep config"):
        SweepConfig.from_json('{"symbol": "BTCUSDC"}')


def test_the_runner_follows_the_options() -> None:
    assert isinstance(make_runner(1, None), InlineRunner)
    assert isinstance(make_runner(3, None), ProcessPoolRunner)
    assert isinstance(make_runner(None, "tcp://127.0.0.1:8786"), DaskRunner)
    with pytest.raises(UserInputError, match="exclude each other"):
        make_runner(2, "tcp://127.0.0.1:8786")
    with pytest.raises(UserInputError, match="--workers must be >= 1"):
        make_runner(0, None)
    with pytest.raises(UserInputError, match="invalid --scheduler 'localhost'"):
        make_runner(None, "localhost")


def test_the_public_api_is_exactly_all() -> None:
    exported = set(cvntrade.gate.__all__)
    assert all(hasattr(cvntrade.gate, name) for name in exported)
    public = {n for n in vars(cvntrade.gate) if not n.startswith("_")}
    modules = {"cells", "config", "criteria", "promotion", "results", "runners", "sweep"}
    assert public - modules - {"verdict", "tracking", "worker", "report"} == exported
