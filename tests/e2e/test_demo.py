"""`cvntrade demo --fast` as a user runs it (a subprocess), judged by what it leaves behind in
the demo home's database, registry and files — never by its printed text.

The story: the built-in evaluator's `expectancy_negative_focal` firing opened an incident (and
the alert resolved after the rollback); the
runbook's rollback is audited and linked to it (`audit_log.incident_id`); the rolled-back
symbols' champions are binary in the MLflow registry; expectancy recovered (the escalation's
verdict, stored as an audit row and an incident note) and the incident is resolved;
OPERATIONS.md has its `§17.N` section with the cause and at least three PNG charts beside it.
A re-run on the same home recreates it; a foreign directory is refused, untouched.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from cvntrade.db import create_db_engine
from cvntrade.db.tables import alert_events, audit_log, incident_notes, incidents, trade_journal
from cvntrade.demo.home import MARKER
from cvntrade.registry import CHAMPION, MlflowRegistry
from cvntrade.runbook.checklist import read_checklist
from cvntrade.strategy import DEFAULT_STRATEGY, model_name

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
HANG_GUARD_S = 1800
"""A hang guard only: a busy 2-core machine may take many times the demo's usual minute."""


def _demo(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CVN_", "MLFLOW_"))}
    return subprocess.run(
        [sys.executable, "-m", "cvntrade.cli.main", "demo", "--home", str(home), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=HANG_GUARD_S,
        check=False,
    )


FIRST_RUN: dict[str, Any] = {}


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A home on which `cvntrade demo --fast` ran once (its outcomes kept in FIRST_RUN)."""
    home = tmp_path_factory.mktemp("demo") / "home"
    done = _demo(home, "--fast")
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr
    FIRST_RUN["outcomes"] = _outcomes(home)
    yield home


def _engine(home: Path) -> Engine:
    return create_db_engine(f"sqlite:///{home / 'cvntrade.db'}")


def _outcomes(home: Path) -> tuple[list[Any], list[Any]]:
    """What must be the same for the same seed: every trade and every alert transition."""
    tj, ae = trade_journal.c, alert_events.c
    engine = _engine(home)
    try:
        with engine.connect() as conn:
            trades = conn.execute(
                select(
                    tj.trade_id,
                    tj.crypto_symbol,
                    tj.entry_time,
                    tj.realized_pnl_pct,
                    tj.model_loss_function,
                ).order_by(tj.trade_id)
            ).all()
            events = conn.execute(
                select(ae.alert, ae.state, ae.at, ae.labels, ae["values"]).order_by(ae.id)
            ).all()
    finally:
        engine.dispose()
    return [tuple(r) for r in trades], [tuple(r) for r in events]


def _check_story(home: Path) -> None:
    engine = _engine(home)
    try:
        with engine.connect() as conn:
            (incident_id,) = conn.execute(select(incidents.c.id)).scalars().all()
            status = conn.execute(select(incidents.c.status)).scalar_one()
            fired = conn.execute(
                select(alert_events.c.incident_id, alert_events.c.labels).where(
                    alert_events.c.alert == "expectancy_negative_focal",
                    alert_events.c.state == "firing",
                )
            ).all()
            states = (
                conn.execute(
                    select(alert_events.c.state)
                    .where(alert_events.c.alert == "expectancy_negative_focal")
                    .order_by(alert_events.c.id)
                )
                .scalars()
                .all()
            )
            rollbacks = conn.execute(
                select(audit_log.c.after).where(
                    audit_log.c.action == "runbook.rollback",
                    audit_log.c.incident_id == incident_id,
                )
            ).scalars()
            moved = sorted(
                {
                    s
                    for after in rollbacks
                    for s, action in (after or {}).get("actions", {}).items()
                    if action != "untagged" and (after or {}).get("changed")
                }
            )
            escalations = conn.execute(
                select(audit_log.c.after).where(
                    audit_log.c.action == "runbook.escalate",
                    audit_log.c.incident_id == incident_id,
                )
            ).scalars()
            verdicts = [a["verdict"] for a in escalations]
            notes = conn.execute(
                select(incident_notes.c.data).where(
                    incident_notes.c.incident_id == incident_id,
                    incident_notes.c.kind == "escalation",
                )
            ).scalars()
            noted = [n["verdict"] for n in notes]
        checklist = read_checklist(engine, incident_id)
    finally:
        engine.dispose()
    # the evaluator fired by itself and opened the incident
    assert [i for i, _ in fired] == [incident_id]
    # pending for 15 min, firing, then resolved once focal no longer serves
    assert states == ["pending", "firing", "resolved"], states
    negative = set(fired[0][1]["negative_symbols"].split(","))
    assert len(negative) >= 2
    # the rollback is audited on the incident and moved the negative symbols
    assert moved and set(moved) <= negative
    # expectancy recovered after the rollback, recorded as such, and the incident resolved
    assert verdicts[-1] == "recovered" and noted[-1] == "recovered", (verdicts, noted)
    assert status == "resolved"
    assert checklist and all(c.state in ("done", "not_applicable") for c in checklist)
    # the registry serves binary champions on the rolled-back symbols
    registry = MlflowRegistry(f"sqlite:///{home / 'mlflow.db'}")
    for symbol in moved:
        name = model_name(symbol, DEFAULT_STRATEGY)
        version = registry.aliases(name)[CHAMPION]
        assert registry.get_version(name, version).loss_function == "binary", symbol
    # OPERATIONS.md: the section of this incident, its cause and its charts
    text = (home / "OPERATIONS.md").read_text(encoding="utf-8")
    heading = re.search(r"^## (§17\.\d+) .*$", text, flags=re.MULTILINE)
    assert heading is not None and "expectancy_negative_focal" in heading.group(0)
    section = text[heading.start() :]
    assert f"#{incident_id}" in section
    assert "implementation-regression" in section
    for symbol in moved:
        assert symbol in section
    images = re.findall(r"!\[[^\]]*\]\(([^)]+\.png)\)", section)
    assert len(images) >= 3, images
    for image in images:
        assert (home / image).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", image


def test_demo_fast_tells_the_whole_incident(demo_home: Path) -> None:
    _check_story(demo_home)
    assert (demo_home / MARKER).is_file()


def test_demo_reruns_on_its_own_home(demo_home: Path) -> None:
    (demo_home / "leftover.txt").write_text("from the previous run")
    done = _demo(demo_home, "--fast")
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr
    assert not (demo_home / "leftover.txt").exists()  # recreated, not appended to
    _check_story(demo_home)  # exactly one incident again
    trades, events = _outcomes(demo_home)
    assert trades and events
    assert (trades, events) == FIRST_RUN["outcomes"]  # same seed, same story


def test_demo_refuses_a_foreign_directory_and_deletes_nothing(tmp_path: Path) -> None:
    home = tmp_path / "mine"
    home.mkdir()
    (home / "cvntrade.db").write_text("not yours")
    done = _demo(home, "--fast")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "not a demo home" in done.stderr
    assert sorted(p.name for p in home.iterdir()) == ["cvntrade.db"]
    assert (home / "cvntrade.db").read_text() == "not yours"


def test_demo_refuses_a_bad_seed_before_touching_the_home(tmp_path: Path) -> None:
    home = tmp_path / "new"
    done = _demo(home, "--seed", "-3")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "--seed" in done.stderr
    assert not home.exists()
