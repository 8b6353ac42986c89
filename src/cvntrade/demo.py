"""`make demo`: replay the whole incident story on a synthetic market (embedded SQLite + MLflow).

Every step prints the exact `cvntrade` command an operator would type, then runs it in-process:
a 5-symbol market with a regime shift five days ago, binary champions, a focal promotion, two
weeks of paper trading (the production paper engine fed by stored bars at full speed), then the
`expectancy_negative_focal` runbook — confirm, check the config, roll back, a what-if backtest
(stored apart from the journal), diagnose, remediate (path C), escalate (kill switch, halt) — and
the incident report.
The runbook's verdicts are computed from what the engine really traded, so they are whatever the
synthetic market produced: on this market the focal champions mostly stop trading after the
shift, and step 1 may honestly answer `transient`; the on-call then rolls back on judgement.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shlex
import shutil
import sys
from pathlib import Path

from rich.console import Console
from rich.rule import Rule

from cvntrade.errors import CvnError
from cvntrade.strategy import DEFAULT_STRATEGY, DEFAULT_SYMBOLS, model_name

console = Console()
MARKER = ".cvntrade-demo-home"
HISTORY_DAYS = 200
SHIFT_DAYS_AGO = 5
TRADING_DAYS = 14
ROUNDS = 80
SIGNAL_STRENGTH = 2.0
SEED = 7


def story(now: dt.datetime) -> list[tuple[str, list[str]]]:
    """The demo's chapters: a title and the commands it runs (times relative to `now`)."""
    t = now.replace(minute=0, second=0, microsecond=0)

    def iso(days_ago: int) -> str:
        return (t - dt.timedelta(days=days_ago)).strftime("%Y-%m-%dT%H:%MZ")

    symbols = ",".join(DEFAULT_SYMBOLS)
    train_end = iso(TRADING_DAYS)
    binary = [
        f"train --symbol {s} --loss binary:logistic --end {train_end} --rounds {ROUNDS}"
        for s in DEFAULT_SYMBOLS
    ]
    focal = [f"train --symbol {s} --end {train_end} --rounds {ROUNDS}" for s in DEFAULT_SYMBOLS]
    promote = [
        f"models set-alias --name {model_name(s, DEFAULT_STRATEGY)} --alias champion --version 2 "
        "--reason 'focal passed the FTF sweep gate'"
        for s in DEFAULT_SYMBOLS
    ]
    btc = model_name("BTCUSDC", DEFAULT_STRATEGY)
    rollback = f"runbook rollback --symbols {symbols} --reason expectancy_negative_focal"
    return [
        ("Initialise CVN_HOME and migrate the embedded database", ["db upgrade"]),
        (
            f"Synthetic market: {HISTORY_DAYS} days of 1h bars, shift {SHIFT_DAYS_AGO} days ago",
            [
                f"data synth --symbols {symbols} --start {iso(HISTORY_DAYS)} --end {iso(0)} "
                f"--interval 1h --seed {SEED} --regime-shift-at {iso(SHIFT_DAYS_AGO)} "
                f"--signal-strength {SIGNAL_STRENGTH}",
                "data list",
            ],
        ),
        (
            "Baseline era: binary:logistic models (a model's first version becomes champion)",
            ["config show", *binary],
        ),
        (
            "Focal passes the FTF sweep gate: config flip, focal models, champions moved",
            [
                "config set CVN_LOSS_FUNCTION=focal CVN_FOCAL_GAMMA=2.0 CVN_FOCAL_ALPHA=0.25 "
                "--reason 'focal promoted after the FTF sweep gate'",
                *focal,
                *promote,
            ],
        ),
        (
            f"Paper trading the focal champions for the last {TRADING_DAYS} days",
            [
                f"trade paper --symbols {symbols} --from {iso(TRADING_DAYS)} --to {iso(0)}",
                "expectancy --window 48h --loss focal",
            ],
        ),
        (
            "PAGE: expectancy_negative_focal — open an incident",
            ["incident open --title 'focal models losing money after the regime shift'"],
        ),
        ("Runbook step 1 — confirm the alert is real", ["runbook confirm"]),
        ("Runbook step 2 — check the active config", ["runbook check-config"]),
        (
            "Judgement call: whatever step 1 said, the focal champions stopped earning after the "
            "shift (see the last 48 h above) — the on-call opens an incident and rolls back",
            [
                "incident open --title 'focal champions degraded after the regime shift: "
                "path A rollback'",
                "incident list",
            ],
        ),
        (
            "Runbook step 3 — roll back (< 1 min SLA): look, plan, act, and once more (idempotent)",
            [
                f"models list-versions --name {btc} --order-by 'version_number DESC' "
                "--max-results 5",
                f"models previous {btc}",
                f"{rollback} --dry-run",
                f"{rollback} --wait-s 0",
                f"{rollback} --wait-s 0",
                "trade status",
            ],
        ),
        (
            "What-if: backtest the restored binary champions over the same two weeks "
            "(a backtest run, stored apart: the journal and the alert never see it)",
            [
                f"trade replay --symbols {symbols} --from {iso(TRADING_DAYS)} --to {iso(0)}",
                "trade runs list",
            ],
        ),
        ("Diagnosis — per-fold analysis (regime shift?)", ["expectancy folds --loss focal"]),
        (
            "Remediation path C — milder focal (gamma 1.0), retrained, not promoted",
            [
                "config set CVN_FOCAL_GAMMA=1.0 --reason 'path C: lower focal aggressiveness'",
                f"train --symbol BTCUSDC --loss focal --rounds {ROUNDS}",
                f"models show {btc}",
            ],
        ),
        (
            "Escalation rehearsal — kill switch, then the ADR-71 halt (and back)",
            [
                "kill-switch on --reason 'escalation rehearsal'",
                "trade status",
                "kill-switch off --reason 'rehearsal over'",
                "halt on --reason 'ADR-71 rehearsal'",
                f"!trade paper --symbols BTCUSDC --from {iso(2)} --to {iso(0)}",
                "halt off --reason 'rehearsal over'",
            ],
        ),
        ("Incident report: the timeline from the audit log", ["incident show 2", "config history"]),
    ]


def prepare_home(home: Path) -> None:
    """Start from an empty demo home; never wipe a directory the demo did not create."""
    if home.exists() and any(home.iterdir()):
        if not (home / MARKER).exists():
            raise CvnError(
                f"CVN_HOME={home} is not empty and was not created by the demo; "
                "point CVN_HOME at an empty or demo directory"
            )
        shutil.rmtree(home)
    home.mkdir(parents=True, exist_ok=True)
    (home / MARKER).write_text("created by `make demo`; safe to delete\n")


def run_command(command: str) -> int:
    """Run one `cvntrade` command in-process, as the operator would type it.

    A command written `!…` is expected to be refused: its error is shown, and the demo goes on.
    """
    from cvntrade.cli.main import app

    expect_error = command.startswith("!")
    command = command.removeprefix("!")
    console.print(f"[bold cyan]$ cvntrade {command}[/bold cyan]")
    try:
        result = app(shlex.split(command), standalone_mode=False)
    except CvnError as exc:
        if not expect_error:
            raise
        console.print(f"[yellow]refused as expected (exit {exc.exit_code}): {exc}[/yellow]")
        return 0
    return result if isinstance(result, int) else 0


def main(argv: list[str] | None = None) -> int:
    """Run every chapter; stop at the first error with its message."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--fresh",
        action="store_true",
        help="empty the demo's CVN_HOME first (only one the demo created)",
    )
    args = parser.parse_args(argv)
    os.environ.setdefault("CVN_ACTOR", "demo-oncall")  # who the audit log names
    from cvntrade.settings import get_settings

    try:
        home = get_settings().home
        if args.fresh:
            prepare_home(home)
        console.print(Rule(f"CVNTrade demo — CVN_HOME={home}"))
        for title, commands in story(dt.datetime.now(dt.UTC).replace(tzinfo=None)):
            console.print(Rule(title, style="cyan"))
            for command in commands:
                code = run_command(command)
                if code:
                    console.print(f"[yellow](exit code {code})[/yellow]")
    except CvnError as exc:
        console.print(f"[red]error: {exc}[/red]")
        return exc.exit_code
    console.print(Rule("demo finished"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
