"""`python -m cvntrade.demo [--home DIR] [--fast] [--seed N]`: the same as `cvntrade demo`."""

from __future__ import annotations

import sys


def main() -> None:
    """Run `cvntrade demo` with this process's arguments."""
    from cvntrade.cli.main import run

    sys.argv = [sys.argv[0], "demo", *sys.argv[1:]]
    run()


if __name__ == "__main__":
    main()
