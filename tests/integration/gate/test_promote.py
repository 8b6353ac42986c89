"""Gate verdicts on a real sweep, and promotion through the real registry and audit log."""

from __future__ import annotations

from pathlib import Path

import pytest
from gate_support import LENIENT, STRATEGY, STRICT, CountingRunner, request
from mlflow import MlflowClient
from sqlalchemy import Engine, func, select

from cvntrade.audit import read_audit
from cvntrade.db.tables import alias_events, audit_log
from cvntrade.errors import DependencyError, UserInputError
from cvntrade.gate import (
    GateRefusedError,
    PromotionResult,
    check_gate,
    load_criteria,
    parse_criteria,
    promote,
    run_sweep,
)
from cvntrade.market import ParquetStore
from cvntrade.settings import Settings
from cvntrade.strategy import model_name

NAME = model_name("BTCUSDC", STRATEGY)
PASS, FAIL = parse_criteria(LENIENT, "lenient.yaml"), parse_criteria(STRICT, "strict.yaml")


@pytest.fixture
def swept(
    engine: Engine, tracking_uri: str, gate_store: ParquetStore, gate_settings: Settings
) -> str:
    """BTCUSDC swept (baseline + 2 focal cells, 2 folds); returns its sweep key."""
    report = run_sweep(
        engine,
        request(("BTCUSDC",)),
        runner=CountingRunner(),
        tracking_uri=tracking_uri,
        store=gate_store,
        settings=gate_settings,
    )
    return report.symbols[0].sweep_key


def audit_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(audit_log)).scalar_one())


def do_promote(
    engine: Engine,
    tracking_uri: str,
    gate_store: ParquetStore,
    gate_settings: Settings,
    **options: object,
) -> PromotionResult:
    values: dict[str, object] = {
        "symbol": "BTCUSDC",
        "strategy": STRATEGY,
        "loss": "focal",
        "actor": "ops",
        "criteria": PASS,
        "tracking_uri": tracking_uri,
        "store": gate_store,
        "settings": gate_settings,
        **options,
    }
    return promote(engine, **values)  # type: ignore[arg-type]


def test_the_verdict_on_a_real_sweep_flips_with_the_criteria_file_both_ways(
    engine: Engine, swept: str, tmp_path: Path
) -> None:
    outcomes = []
    for text in (LENIENT, STRICT, LENIENT):
        path = tmp_path / "criteria.yaml"
        path.write_text(text)
        verdict = check_gate(engine, "BTCUSDC", STRATEGY, load_criteria(path))
        assert verdict.sweep_key == swept and verdict.criteria_source == str(path)
        outcomes.append((verdict.passed, verdict.criteria_version))
    assert outcomes == [(True, 7), (False, 8), (True, 7)]


def test_a_failing_focal_promotion_is_refused_and_changes_nothing(
    engine: Engine,
    swept: str,
    tracking_uri: str,
    gate_store: ParquetStore,
    gate_settings: Settings,
) -> None:
    with pytest.raises(GateRefusedError, match=r"FTF gate fails .*--force --reason") as refused:
        do_promote(engine, tracking_uri, gate_store, gate_settings, criteria=FAIL)
    assert refused.value.exit_code == 1
    assert audit_count(engine) == 0
    client = MlflowClient(tracking_uri=tracking_uri)
    assert client.search_registered_models() == [], "nothing trained or registered"


def test_a_forced_focal_promotion_trains_moves_the_champion_and_is_audited_as_forced(
    engine: Engine,
    swept: str,
    tracking_uri: str,
    gate_store: ParquetStore,
    gate_settings: Settings,
) -> None:
    result = do_promote(
        engine,
        tracking_uri,
        gate_store,
        gate_settings,
        criteria=FAIL,
        gamma=2.0,
        alpha=0.25,
        force=True,
        reason="incident 12: baseline degraded",
    )
    assert (result.version, result.trained, result.forced, result.gate) == (1, True, True, "forced")
    assert (result.cell, result.old_champion, result.changed) == ("focal_g2_a0.25", None, True)
    client = MlflowClient(tracking_uri=tracking_uri)
    assert client.get_registered_model(NAME).aliases == {"champion": 1}
    tags = client.get_model_version(NAME, "1").tags
    assert (tags["loss_function"], tags["focal_gamma"], tags["focal_alpha"]) == (
        "focal",
        "2.0",
        "0.25",
    )
    assert (tags["gate"], tags["sweep_key"], tags["gate_criteria_version"]) == (
        "forced",
        swept,
        "8",
    )
    [record] = read_audit(engine, action="gate.promote")
    assert record.actor == "ops" and record.target == f"{NAME}@champion"
    assert record.reason.startswith("FORCED promote focal_g2_a0.25: FTF gate failed")
    assert record.reason.endswith("incident 12: baseline degraded")
    assert record.after["forced"] is True and record.after["trained"] is True
    assert record.after["verdict"]["passed"] is False
    assert record.after["verdict"]["criteria_version"] == 8
    assert record.before == {"version": None} and record.after["version"] == 1


def test_a_passing_promotion_picks_the_matching_version_and_reruns_change_nothing(
    engine: Engine,
    swept: str,
    tracking_uri: str,
    gate_store: ParquetStore,
    gate_settings: Settings,
) -> None:
    args = (engine, tracking_uri, gate_store, gate_settings)
    focal = do_promote(*args)
    assert (focal.version, focal.trained, focal.gate) == (1, True, "passed")
    assert focal.verdict is not None and focal.cell == focal.verdict.cell.cell
    binary = do_promote(*args, loss="binary", reason="compare live")
    assert (binary.version, binary.trained, binary.old_champion, binary.gate) == (
        2,
        True,
        1,
        "baseline",
    )
    back = do_promote(*args)
    assert (back.version, back.trained, back.old_champion, back.changed) == (1, False, 2, True)
    audits, events = audit_count(engine), _alias_events(engine)
    again = do_promote(*args)
    assert (again.version, again.trained, again.changed) == (1, False, False)
    assert (audit_count(engine), _alias_events(engine)) == (audits, events), "nothing written"
    versions = MlflowClient(tracking_uri=tracking_uri).search_model_versions(f"name = '{NAME}'")
    assert len(versions) == 2
    promotions = read_audit(engine, action="gate.promote")
    assert [p.after["version"] for p in promotions] == [1, 2, 1]
    moves = read_audit(engine, action="models.set_alias")
    assert [m.after["version"] for m in moves] == [1, 2, 1]  # first version rule, then moves
    assert "FTF gate passed" in moves[0].reason


def test_a_registry_outage_is_a_dependency_error_and_writes_nothing(
    engine: Engine,
    swept: str,
    gate_store: ParquetStore,
    gate_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "2")
    with pytest.raises(DependencyError, match="registry"):
        do_promote(engine, "http://127.0.0.1:9", gate_store, gate_settings)
    assert audit_count(engine) == 0 and _alias_events(engine) == 0


BAD_OPTIONS: list[tuple[dict[str, object], str]] = [
    ({"force": True}, "--force needs a non-empty --reason"),
    ({"force": True, "reason": " "}, "--force needs a non-empty --reason"),
    ({"gamma": 2.0}, "give both --gamma and --alpha"),
    ({"loss": "hinge"}, "unknown --loss 'hinge'"),
    ({"loss": "binary", "gamma": 1.0, "alpha": 0.25}, "apply to --loss focal only"),
    ({"loss": "binary", "force": True, "reason": "r"}, "focal promotions only"),
    ({"gamma": 3.0, "alpha": 0.25}, r"focal_g3_a0\.25 is not a finished cell"),
    ({"gamma": 2.0, "alpha": 1.5}, "must be in"),
    ({"symbol": "ETHUSDC"}, "no sweep results for ETHUSDC"),
    ({"symbol": "eth"}, "invalid symbol 'eth'"),
    ({"sweep_key": "0" * 16}, "no results of sweep 0000000000000000"),
]


def test_bad_promotion_options_are_user_errors_and_change_nothing(
    engine: Engine,
    swept: str,
    tracking_uri: str,
    gate_store: ParquetStore,
    gate_settings: Settings,
) -> None:
    for options, message in BAD_OPTIONS:
        with pytest.raises(UserInputError, match=message):
            do_promote(engine, tracking_uri, gate_store, gate_settings, **options)
    assert audit_count(engine) == 0
    assert MlflowClient(tracking_uri=tracking_uri).search_registered_models() == []


def _alias_events(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(alias_events)).scalar_one())
