"""`python -m cvntrade …`: the `cvntrade` CLI (how `cvntrade up` starts its parts)."""

from cvntrade.cli.main import run

if __name__ == "__main__":
    run()
