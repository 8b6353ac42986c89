"""The demo home: a directory the demo owns, marked so that a re-run may recreate it.

A demo home carries the marker file `MARKER` from the moment the demo first uses it. A re-run
empties it and starts again; a directory without the marker is used only when it is empty or
does not exist: anything else is refused (exit 2) and nothing in it is touched.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from cvntrade.errors import UserInputError

MARKER = ".cvntrade-demo"
LEGACY_MARKERS = (".cvntrade-demo-home",)
"""What the demo script before `cvntrade demo` marked its home with: still a demo home."""
MARKER_TEXT = "This directory is a `cvntrade demo` home: the next demo run deletes its contents.\n"


def is_demo_home(home: Path) -> bool:
    """True when `home` carries the demo marker file."""
    return any((home / name).is_file() for name in (MARKER, *LEGACY_MARKERS))


def prepare_demo_home(home: Path) -> bool:
    """Make `home` an empty, marked demo home; True when a previous demo home was recreated.

    Refused (UserInputError, exit 2, nothing changed) when `home` is a file, or a non-empty
    directory without the marker.
    """
    home = home.expanduser().absolute()
    if home.exists() and not home.is_dir():
        raise UserInputError(f"--home {home} is not a directory")
    recreated = False
    if home.is_dir() and any(home.iterdir()):
        if not is_demo_home(home):
            raise UserInputError(
                f"--home {home} is not empty and is not a demo home (no {MARKER} file): "
                "refusing to delete it; choose a new or empty directory"
            )
        for child in home.iterdir():
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()
        recreated = True
    home.mkdir(parents=True, exist_ok=True)
    (home / MARKER).write_text(MARKER_TEXT, encoding="utf-8")
    return recreated
