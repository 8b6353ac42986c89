"""`cvntrade demo` / `make demo`: the whole `expectancy_negative_focal` incident, told on an
isolated home with the embedded default (SQLite + a local MLflow store).

`cvntrade.demo.plan` (the world and the chapters, pure), `cvntrade.demo.home` (the marked
home), `cvntrade.demo.story` (the chapters run through public APIs), `cvntrade.demo.narrative`
(the Rich narrative and the closing summary). docs/demo.md tells the story chapter by chapter.
"""

from cvntrade.demo.home import MARKER, prepare_demo_home
from cvntrade.demo.plan import DEFAULT_SEED, DemoPlan, demo_plan
from cvntrade.demo.story import DemoResult, run_story

__all__ = [
    "DEFAULT_SEED",
    "MARKER",
    "DemoPlan",
    "DemoResult",
    "demo_plan",
    "prepare_demo_home",
    "run_story",
]
