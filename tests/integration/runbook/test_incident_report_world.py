"""The incident report on a real world: the `concept-drift` scenario (engine-written journal,
predictions, trained champions), diagnosed, rolled back, closed and written up.

The world is built once through `build_world` (like `cvntrade drill scenario`); the runbook
steps run with clocks frozen at the world's `now`, so the report's windows are the world's.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from PIL import Image

from cvntrade.app import AppContext
from cvntrade.audit import read_audit
from cvntrade.db import create_db_engine
from cvntrade.drill.scenario import build_world, plan_world, world_settings
from cvntrade.registry import CHAMPION, MlflowRegistry, champion_of
from cvntrade.runbook import auto_checklist, close_incident, open_incident, rollback
from cvntrade.runbook.diagnose import diagnose
from cvntrade.runbook.diagnose_gather import gather_evidence
from cvntrade.runbook.incident_records import latest_note, record_diagnosis

pytestmark = pytest.mark.slow

NOW = dt.datetime(2026, 11, 30, 12)


def test_concept_drift_world_ends_on_binary_with_a_section_charts_and_a_definite_checklist(
    tmp_path: Path,
) -> None:
    home = tmp_path / "world"
    world = build_world(plan_world("concept-drift", seed=1, now=NOW), home)
    assert len(world.negative_symbols) >= 2
    settings = world_settings(home)
    engine = create_db_engine(settings.effective_database_url)
    try:
        registry = MlflowRegistry(settings.effective_tracking_uri)
        ctx = AppContext(settings, engine, "oncall", lambda: NOW + dt.timedelta(hours=1))
        incident = open_incident(
            engine,
            alert="expectancy_negative_focal",
            title="focal negative",
            actor="oncall",
            clock=lambda: NOW,
        )
        evidence, impl = gather_evidence(engine, settings, now=NOW)
        diagnosis = diagnose(evidence, impl)
        record_diagnosis(engine, incident.id, diagnosis, actor="oncall", at=NOW, evidence=evidence)
        rollback(
            engine,
            registry,
            reason="expectancy_negative_focal: rollback",
            actor="oncall",
            incident_id=incident.id,
            wait_s=0,
            clock=lambda: NOW,
        )
        auto_checklist(ctx, incident.id, focal_abandoned=True)
        result = close_incident(ctx, incident.id, reason="binary serves; focal abandoned")
        kept = latest_note(engine, incident.id, "diagnosis")
        moves = read_audit(engine, action="models.set_alias")
    finally:
        engine.dispose()

    for symbol in world.negative_symbols:
        name = f"CVNTrade_XGBoost_{symbol}_SL0.5_TP1_H4"
        assert champion_of(registry, name).loss_function == "binary", (symbol, CHAMPION)
    assert all(entry.definite for entry in result.checklist), result.checklist
    assert result.path == home / "OPERATIONS.md" and result.section == 1
    text = result.path.read_text(encoding="utf-8")
    assert kept is not None and kept.data["likely"][:1] == ["concept-drift"]
    assert "| concept-drift | likely |" in text
    assert f"Pivot: rollback at {NOW:%Y-%m-%d %H:%M:%S} UTC." in text
    negative_before = re.findall(r"^\| (\w+) \| focal \| (-\d+\.\d+) % \(n=\d+\) \|", text, re.M)
    assert {s for s, _ in negative_before} >= set(world.negative_symbols)
    assert "| status | resolved |" in text
    back = [m for m in moves if m.reason == "expectancy_negative_focal: rollback"]
    assert {m.incident_id for m in back} == {incident.id}  # the world's promotions: none
    assert len(back) >= len(world.negative_symbols)
    assert {m.incident_id for m in moves if m not in back} == {None}
    for chart in result.charts:
        with Image.open(chart) as image:
            assert image.format == "PNG" and image.size[0] > 100
            image.verify()
