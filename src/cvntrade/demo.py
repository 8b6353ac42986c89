"""`make demo`: replay the incident story on the embedded default (SQLite under CVN_HOME).

Each step prints the exact `cvntrade` command an operator would type, then runs it in-process.
Later stages (market, training, registry, engine, rollback) extend this script.
"""

from __future__ import annotations

import shlex
import sys

from rich.console import Console
from rich.rule import Rule

from cvntrade.cli.main import app
from cvntrade.errors import CvnError

console = Console()

STEPS: tuple[tuple[str, str], ...] = (
    ("Initialise CVN_HOME and migrate the embedded database", "db upgrade"),
    (
        "Rehearsal history: focal champions regress on 3 symbols",
        "drill journal --scenario focal-regression --actor demo",
    ),
    (
        "Focal was promoted 14 days ago (config flip)",
        "config set CVN_LOSS_FUNCTION=focal CVN_FOCAL_GAMMA=2.0 CVN_FOCAL_ALPHA=0.25 "
        "--reason 'demo: focal passed the FTF sweep gate' --actor demo",
    ),
    (
        "Runbook step 1 — confirm the alert is real (>= 2 negative symbols)",
        "expectancy --window 48h --loss focal",
    ),
    ("Runbook step 2 — check the active config (focal active?)", "config show"),
    ("Runbook diagnosis — per-fold analysis (regime shift?)", "expectancy folds --loss focal"),
    ("Audit trail of config changes", "config history"),
)


def main() -> int:
    """Run every demo step; stop at the first failure with its message."""
    from cvntrade.settings import get_settings

    console.print(Rule(f"CVNTrade demo — CVN_HOME={get_settings().home}"))
    for title, command in STEPS:
        console.print(Rule(title, style="cyan"))
        console.print(f"[bold]$ cvntrade {command}[/bold]")
        try:
            app(shlex.split(command), standalone_mode=False)
        except CvnError as exc:
            console.print(f"[red]error: {exc}[/red]")
            return exc.exit_code
    console.print(Rule("demo finished"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
