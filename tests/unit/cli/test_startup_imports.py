"""Every `cvntrade` command pays the CLI's import cost: the heavy libraries (pandas, MLflow,
XGBoost, ...) are imported by the commands that use them, never when the CLI is loaded.

(The demo's command once imported pandas at start-up: +0.6 s CPU on every command.)
"""

from __future__ import annotations

import json
import subprocess
import sys

from cvntrade.cli import demo_cmd
from cvntrade.demo import plan

HEAVY = ("pandas", "numpy", "pyarrow", "mlflow", "xgboost", "sklearn", "scipy", "numba")


def test_loading_the_cli_imports_no_heavy_library() -> None:
    code = (
        "import json, sys; import cvntrade.cli.main; "
        f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=600
    )
    assert json.loads(done.stdout) == []


def test_the_demo_commands_default_seed_is_the_plans() -> None:
    assert demo_cmd.DEFAULT_SEED == plan.DEFAULT_SEED
