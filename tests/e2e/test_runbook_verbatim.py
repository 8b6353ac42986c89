"""The runbook's own commands, pasted with `cvntrade` in place of `mlflow`, work unchanged."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from mlflow import MlflowClient

RUNBOOK_DOC = Path(__file__).parents[2] / "docs" / "runbooks" / "expectancy_negative_focal.md"
SYMBOLS = ("BTCUSDC", "ETHUSDC", "SOLUSDC", "XRPUSDC", "ADAUSDC")
# Step 3A exactly as the runbook (seed) prints it, line breaks and unquoted DESC included.
RUNBOOK_STEP_3A = """for s in BTCUSDC ETHUSDC SOLUSDC XRPUSDC ADAUSDC; do
echo "=== $s ==="
mlflow models list-versions --name CVNTrade_XGBoost_${s}_SL0.5_TP1_H4 \\
--order-by version_number DESC --max-results 5
done"""


def _doc_block_with(marker: str) -> str:
    blocks = re.findall(r"```bash\n(.*?)```", RUNBOOK_DOC.read_text(encoding="utf-8"), re.S)
    matching = [b.strip() for b in blocks if marker in b]
    assert len(matching) == 1, f"expected one bash block with {marker!r} in {RUNBOOK_DOC}"
    return matching[0]


def test_docs_show_step_3a_exactly_as_the_runbook_writes_it() -> None:
    assert _doc_block_with("for s in BTCUSDC") == RUNBOOK_STEP_3A.replace("mlflow ", "cvntrade ")


def _registry_env(tmp_path: Path) -> dict[str, str]:
    """`models` commands only read the registry: no database parametrisation needed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CVN_")}
    return {**env, "CVN_HOME": str(tmp_path / "home"), "CVN_ACTOR": "tester"}


def test_step_3a_loop_runs_verbatim_in_bash(tmp_path: Path, mlflow_template: Path) -> None:
    cli_env = _registry_env(tmp_path)
    store = tmp_path / "mlflow.db"
    store.write_bytes(mlflow_template.read_bytes())
    uri = f"sqlite:///{store}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    for symbol in SYMBOLS:
        name = f"CVNTrade_XGBoost_{symbol}_SL0.5_TP1_H4"
        client.create_registered_model(name)
        for loss in ("binary", "focal"):
            client.create_model_version(name, source=str(tmp_path), tags={"loss_function": loss})
    bin_dir = str(Path(sys.executable).parent)
    env = {
        **cli_env,
        "MLFLOW_TRACKING_URI": uri,
        "PATH": f"{bin_dir}{os.pathsep}{cli_env.get('PATH', '')}",
    }
    done = subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", _doc_block_with("for s in BTCUSDC")],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "unexpected extra argument" not in done.stderr
    sections = done.stdout.split("=== ")[1:]
    assert [s.splitlines()[0] for s in sections] == [f"{symbol} ===" for symbol in SYMBOLS]
    for section in sections:
        lines = section.splitlines()[1:]
        assert [line.split()[0] for line in lines] == ["version=2", "version=1"]
        assert lines[0].endswith("tags={loss_function: focal} aliases=[]")
        assert lines[1].endswith("tags={loss_function: binary} aliases=[]")


def test_order_by_other_than_version_number_desc_is_refused(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "cvntrade.cli.main",
            "models",
            "list-versions",
            "--name",
            "X",
            "--order-by",
            "version_number",
            "ASC",
        ],
        capture_output=True,
        text=True,
        env=_registry_env(tmp_path),
        check=False,
    )
    assert done.returncode == 2
    assert "unsupported --order-by 'version_number ASC'" in done.stderr
    assert "Traceback" not in done.stderr
