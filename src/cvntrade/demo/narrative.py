"""The demo told on a Rich console: chapter rules, the equivalent commands, a spinner on long
work, outcome lines, and the closing summary table (its rows are pure: `summary_rows`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from cvntrade.demo.plan import Chapter
from cvntrade.demo.story import DemoResult

CONSOLE_URL = "http://127.0.0.1:8080"


class RichNarrator:
    """Tells the story on `console` (`cvntrade.demo.story.Narrator`)."""

    def __init__(self, console: Console) -> None:
        self.console = console

    def chapter(self, chapter: Chapter) -> None:
        """A rule with the chapter's title, then its commands (dim, prefixed with `$`)."""
        self.console.print(Rule(Text(f"{chapter.number}. {chapter.title}", style="bold")))
        for command in chapter.commands:
            self.console.print(Text(f"$ {command}", style="cyan"))

    @contextmanager
    def working(self, what: str) -> Iterator[Callable[[str], None]]:
        """A spinner showing the latest progress message while the work runs."""
        with self.console.status(Text(what)) as status:

            def update(message: str) -> None:
                status.update(Text(f"{what}: {message}"))

            yield update

    def outcome(self, text: str) -> None:
        """An outcome line (printed literally: never read as markup)."""
        self.console.print(Text.assemble(("→ ", "green"), text))


def summary_rows(result: DemoResult) -> list[tuple[str, str, str, str]]:
    """(chapter, what happened, seconds, where to look) for each chapter, then the totals (pure)."""
    home = result.home
    ops = result.operations_file
    charts = result.charts[0].parent if result.charts else home / "OPERATIONS_assets"
    where = {
        1: f"{home / 'data'} (Parquet bars), {home / 'scenario.json'}",
        2: f"cvntrade models list-versions --name …; {home / 'mlflow.db'}",
        3: "cvntrade expectancy --now …; table trade_journal",
        4: "cvntrade alerts list; table alert_events",
        5: f"cvntrade incident show {result.incident_id}; table audit_log",
        6: f"cvntrade runbook escalate --incident {result.incident_id}",
        7: f"{ops} ({result.section}), {_rel(charts, home)}",
    }
    rows = [
        (
            f"{c.number}. {c.title}",
            c.headline or c.outcome,
            f"{c.duration_s:.1f}",
            where.get(c.number, ""),
        )
        for c in sorted(result.chapters, key=lambda c: c.number)
    ]
    total = sum(c.duration_s for c in result.chapters)
    rows.append(
        (
            "8. In all",
            f"incident #{result.incident_id}: {result.recovery}",
            f"{total:.1f}",
            f"CVN_HOME={home} cvntrade users add you --role viewer, then "
            f"CVN_HOME={home} cvntrade console → {CONSOLE_URL}",
        )
    )
    return rows


def _rel(path: Path, home: Path) -> str:
    try:
        return str(path.relative_to(home))
    except ValueError:
        return str(path)


def summary_table(result: DemoResult) -> Table:
    """The closing table (`summary_rows` in a Rich table)."""
    table = Table(title=f"cvntrade demo — seed {result.seed}", show_lines=True)
    for name, justify in (("chapter", "left"), ("what happened", "left"), ("s", "right")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    table.add_column("where to look")
    for row in summary_rows(result):
        table.add_row(*(Text(cell) for cell in row))
    return table
