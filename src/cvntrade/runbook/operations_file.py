"""OPERATIONS.md: find the next free `§17.N`, and put an incident's section in, atomically.

The operations log is a Markdown file people also edit by hand, so this module touches nothing
but its own section:

* numbering: every heading (any level, outside code fences) that starts with `§17.<n>` counts;
  the new section is `§17.<max + 1>` — gaps are never filled, the log stays in time order;
* an incident's section is delimited by the markers `<!-- cvntrade:incident N -->` (after its
  heading) and `<!-- cvntrade:end incident N -->`. Re-exporting the same incident **replaces
  that section in place, keeping its number**; every other byte of the file is kept as it was;
* the new content is written to a temporary file in the same directory, flushed, and renamed
  over the original (`os.replace`), under an exclusive lock on a `.lock` file beside it, so a
  reader never sees half a file and two exports never take the same number.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from cvntrade.errors import ConflictError, UserInputError
from cvntrade.text import check_text

CHAPTER = 17
HEADING_RE = re.compile(r"^ {0,3}#{1,6}[ \t]+§17\.(\d+)(?!\d)")
FENCE_RE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
HEADER = (
    "# OPERATIONS\n\n"
    "Operations log. §17 is the incident log: one section per incident, numbered §17.1, §17.2, "
    "… in order, written by `cvntrade incident export N` / `cvntrade incident close N`.\n"
)


RenderSection = Callable[[int], str]
"""`render(number)` → the section text for `§17.<number>` (heading through end marker)."""


def begin_marker(incident_id: int) -> str:
    """The line that opens an incident's section (right after its heading)."""
    return f"<!-- cvntrade:incident {incident_id} -->"


def end_marker(incident_id: int) -> str:
    """The line that closes an incident's section."""
    return f"<!-- cvntrade:end incident {incident_id} -->"


def section_numbers(text: str) -> list[int]:
    """Every `§17.<n>` heading number in `text`, in file order (fenced code ignored)."""
    numbers, fence = [], ""
    for line in text.splitlines():
        opened = FENCE_RE.match(line)
        if fence:
            if opened and opened.group(1)[0] == fence[0] and len(opened.group(1)) >= len(fence):
                fence = ""
            continue
        if opened:
            fence = opened.group(1)
            continue
        match = HEADING_RE.match(line)
        if match:
            numbers.append(int(match.group(1)))
    return numbers


def next_number(text: str) -> int:
    """The next free section number: one more than the highest `§17.<n>` heading (1 if none)."""
    return max(section_numbers(text), default=0) + 1


@dataclass(frozen=True, slots=True)
class Existing:
    """Where an incident's own section sits in the file: [start, end) in characters, its N."""

    start: int
    end: int
    number: int


def find_section(text: str, incident_id: int) -> Existing | None:
    """The incident's own section (heading line through end marker), or None.

    A begin marker without its end marker, or without a `§17.N` heading right above it, means
    someone edited the section by hand: `ConflictError`, and the file is left alone.
    """
    begin = begin_marker(incident_id)
    lines = text.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    starts = [k for k, line in enumerate(lines) if line.strip() == begin]
    if not starts:
        return None
    k = starts[0]
    heading = HEADING_RE.match(lines[k - 1]) if k > 0 else None
    ends = [j for j in range(k + 1, len(lines)) if lines[j].strip() == end_marker(incident_id)]
    if len(starts) > 1 or heading is None or not ends:
        raise ConflictError(
            f"the section of incident #{incident_id} in the operations file was edited by hand "
            f"(markers {begin!r} / {end_marker(incident_id)!r} missing, repeated or not under a "
            "§17.N heading): fix or remove it, then export again"
        )
    return Existing(offsets[k - 1], offsets[ends[0] + 1], int(heading.group(1)))


def validate_path(path: Path, field: str = "--operations-file") -> Path:
    """A writable Markdown file path: no control characters, not a directory, parent exists."""
    check_text(str(path), field, max_len=4096)
    if path.is_dir():
        raise UserInputError(f"{field} {path} is a directory: give a file such as OPERATIONS.md")
    if not path.parent.is_dir():
        raise UserInputError(f"{field} {path}: directory {path.parent} does not exist")
    return path


def read_text(path: Path) -> str:
    """The file's text ('' when missing); a file that is not UTF-8 is refused (exit 2)."""
    try:
        return path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        return ""
    except UnicodeDecodeError as exc:
        raise UserInputError(
            f"operations file {path} is not UTF-8 text (byte {exc.start}): not touched"
        ) from None
    except OSError as exc:
        raise UserInputError(f"operations file {path} cannot be read: {exc.strerror}") from None


def place_section(text: str, incident_id: int, render: RenderSection) -> tuple[str, int, bool]:
    """The new file text with the incident's section put in; returns (text, N, replaced).

    `render(n)` produces the section (heading through end marker, ending with a newline) for
    number `n`. A file without content gets the short header first.
    """
    existing = find_section(text, incident_id)
    if existing is not None:
        section = render(existing.number)
        return text[: existing.start] + section + text[existing.end :], existing.number, True
    number = next_number(text)
    if not text.strip():
        text = HEADER
    separator = "" if text.endswith("\n\n") else ("\n" if text.endswith("\n") else "\n\n")
    return text + separator + render(number), number, False


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """An exclusive lock on `<path>.lock` for one read-modify-write of the operations file."""
    path = path.resolve()
    lock_path = path.with_name(path.name + ".lock")
    with lock_path.open("a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def write_atomically(path: Path, text: str) -> None:
    """Write `text` to `path` through a temporary file in the same directory and a rename.

    A symlinked file is written where the link points (the link itself is kept).
    """
    path = path.resolve()
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(text.encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())
        tmp.chmod(mode)
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
