"""The docs run as written: README's and the guide's `bash runnable` blocks, and no link leaves
the repository.

Blocks fenced with ```` ```bash runnable ```` are fast and offline by contract; they run in order
(README first, then docs/guide.md) in one fresh `CVN_HOME`, each with `bash -euo pipefail`, with
a `cvntrade` on PATH that runs this checkout. A block that fails shows its output.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
RUNNABLE = re.compile(r"^```bash runnable\n(.*?)^```", re.MULTILINE | re.DOTALL)
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
DOCS = (REPO / "README.md", REPO / "docs" / "guide.md")


def runnable_blocks(path: Path) -> list[str]:
    """The `bash runnable` blocks of a Markdown file, in order."""
    return RUNNABLE.findall(path.read_text())


def test_every_doc_has_runnable_blocks() -> None:
    counts = {p.name: len(runnable_blocks(p)) for p in DOCS}
    assert counts["README.md"] >= 1 and counts["guide.md"] >= 4, counts


@pytest.mark.slow
def test_runnable_blocks_run_as_written_on_a_fresh_home(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "cvntrade"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m cvntrade.cli.main "$@"\n')
    wrapper.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CVN_", "MLFLOW_"))}
    env.update(
        PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
        PYTHONPATH=os.pathsep.join(p for p in (str(REPO / "src"), env.get("PYTHONPATH")) if p),
        CVN_HOME=str(tmp_path / "home"),
        HOME=str(tmp_path),
    )
    ran = 0
    for doc in DOCS:
        for number, block in enumerate(runnable_blocks(doc), start=1):
            done = subprocess.run(
                ["bash", "-euo", "pipefail", "-c", block],
                cwd=tmp_path,
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
            where = f"{doc.relative_to(REPO)} runnable block {number}"
            assert done.returncode == 0, (
                f"{where} exited {done.returncode}:\n{block}\n--- stdout\n{done.stdout[-2000:]}"
                f"\n--- stderr\n{done.stderr[-2000:]}"
            )
            assert "Traceback" not in done.stderr, f"{where}:\n{done.stderr[-2000:]}"
            ran += 1
    assert (tmp_path / "home" / "cvntrade.db").exists(), "the blocks used the fresh CVN_HOME"
    assert ran >= 5


def markdown_files() -> list[Path]:
    return [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]


@pytest.mark.parametrize("doc", markdown_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_links_stay_inside_the_repository(doc: Path) -> None:
    text = doc.read_text()
    assert "../shared" not in text, f"{doc.name} points outside the repository"
    for target in LINK.findall(text):
        assert not target.startswith(("http://", "https://")), f"{doc.name}: external {target}"
        path = target.split("#", 1)[0]
        if not path:
            continue
        resolved = (doc.parent / path).resolve()
        assert resolved.is_relative_to(REPO), f"{doc.name}: {target} leaves the repository"
        assert resolved.exists(), f"{doc.name}: {target} does not exist"
