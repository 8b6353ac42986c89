"""Run the real `cvntrade` CLI, SIGKILLed at the alias write (test-only; issue 12.5 kill tests).

    python tests/e2e/alias_kill_wrapper.py after|before CVNTRADE-ARGS...

`after`: the registry's alias write performs the real MLflow call, then the process kills itself
with SIGKILL — the exact point between the registry write and the audit row's commit.
`before`: it kills itself just before the MLflow call (the intent is committed, nothing moved).
Everything else is the unmodified CLI (`cvntrade.cli.main.run`).
"""

from __future__ import annotations

import os
import signal
import sys


def _install(point: str) -> None:
    from cvntrade.registry.client import MlflowRegistry

    real = MlflowRegistry.set_alias

    def set_alias_then_die(self: MlflowRegistry, name: str, alias: str, version: int) -> None:
        if point == "after":
            real(self, name, alias, version)
        os.kill(os.getpid(), signal.SIGKILL)

    MlflowRegistry.set_alias = set_alias_then_die  # type: ignore[method-assign]


def main() -> None:
    """Patch the alias write, then hand the remaining arguments to the real CLI."""
    point, *args = sys.argv[1:]
    if point not in ("after", "before"):
        raise SystemExit("usage: alias_kill_wrapper.py after|before CVNTRADE-ARGS...")
    _install(point)
    from cvntrade.cli import main as cli

    sys.argv = ["cvntrade", *args]
    cli.run()


if __name__ == "__main__":
    main()
