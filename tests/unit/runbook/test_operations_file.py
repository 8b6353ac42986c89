"""OPERATIONS.md: §17 numbering, placing and replacing a section, keeping every other byte."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from cvntrade.errors import ConflictError, UserInputError
from cvntrade.runbook import operations_file as ops

EXISTING = (
    "# OPERATIONS\r\n"  # a CRLF line and trailing spaces must survive untouched
    "\n"
    "Intro text with §17.9 in prose (not a heading).   \n"
    "\n"
    "## §17.1 — first incident\n"
    "text of one\n"
    "\n"
    "### §17.2 - second, another heading level\n"
    "\n"
    "#### §17.3\n"
    "```\n"
    "## §17.42 inside a code fence does not count\n"
    "```\n"
    "\n"
    "## §18 — another chapter\n"
    "## §170.5 — not chapter 17\n"
    "## Notes\n"
    "keep me\n"
)


def _render(incident_id: int, body: str = "body") -> ops.RenderSection:
    def render(number: int) -> str:
        return (
            f"## §17.{number} — incident {incident_id}\n{ops.begin_marker(incident_id)}\n"
            f"{body}\n{ops.end_marker(incident_id)}\n"
        )

    return render


def test_numbering_with_17_1_to_17_3_present_takes_17_4_and_keeps_the_rest() -> None:
    assert ops.section_numbers(EXISTING) == [1, 2, 3]
    text, number, replaced = ops.place_section(EXISTING, 7, _render(7))
    assert (number, replaced) == (4, False)
    assert text.startswith(EXISTING)  # every existing byte, in place
    assert text[len(EXISTING) :] == "\n" + _render(7)(4)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", 1),
        ("# OPERATIONS\n", 1),
        ("## §17.1 — a\n\n## §17.3 — c\n", 4),  # gaps are not filled: the log stays in order
        ("### §17.10 — ten\n## §17.9 — nine\n", 11),
        ("   ## §17.2 indented up to three spaces\n", 3),
        ("    ## §17.2 four spaces is code\n", 1),
        ("~~~\n## §17.5\n~~~\n## §17.1\n", 2),
        ("```\n## §17.5\n", 1),  # an unclosed fence runs to the end of the file
        ("## §17.12a\n## §17.123\n", 124),
    ],
)
def test_next_number_counts_headings_only(text: str, expected: int) -> None:
    assert ops.next_number(text) == expected


def test_reexport_replaces_the_own_section_in_place_with_its_number() -> None:
    first, number, _ = ops.place_section(EXISTING, 7, _render(7, "old body"))
    later = first + "\n## §17.5 — written by hand after it\nhand text\n"
    second, again, replaced = ops.place_section(later, 7, _render(7, "new body\nlonger"))
    assert (again, replaced) == (number, True)
    assert second == later.replace(_render(7, "old body")(4), _render(7, "new body\nlonger")(4))
    assert second.count(ops.begin_marker(7)) == 1
    third, n8, _ = ops.place_section(second, 8, _render(8))
    assert n8 == 6  # after the hand-written §17.5
    assert third.startswith(second)


@pytest.mark.parametrize(
    "damage",
    [
        lambda t: t.replace(ops.end_marker(7), ""),  # end marker deleted
        lambda t: t.replace("## §17.4 — incident 7\n", "## Incident 7\n"),  # heading renamed
        lambda t: t + ops.begin_marker(7) + "\n",  # begin marker repeated
    ],
)
def test_a_hand_edited_section_is_a_conflict(damage: object) -> None:
    text, _, _ = ops.place_section(EXISTING, 7, _render(7))
    damaged = damage(text)  # type: ignore[operator]
    with pytest.raises(ConflictError, match="edited by hand"):
        ops.place_section(damaged, 7, _render(7))


def test_an_empty_file_gets_the_header_first() -> None:
    text, number, _ = ops.place_section("", 1, _render(1))
    assert number == 1
    assert text == ops.HEADER + "\n" + _render(1)(1)
    assert ops.section_numbers(text) == [1]


def test_atomic_write_keeps_mode_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    path = tmp_path / "OPERATIONS.md"
    path.write_bytes(EXISTING.encode())
    path.chmod(0o640)
    ops.write_atomically(path, EXISTING + "more\n")
    assert path.read_bytes() == (EXISTING + "more\n").encode()
    assert path.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["OPERATIONS.md"]


def test_the_lock_serialises_read_modify_write(tmp_path: Path) -> None:
    path = tmp_path / "OPERATIONS.md"
    numbers: list[int] = []

    def export(incident_id: int) -> None:
        with ops.locked(path):
            text, number, _ = ops.place_section(
                ops.read_text(path), incident_id, _render(incident_id)
            )
            ops.write_atomically(path, text)
            numbers.append(number)

    threads = [threading.Thread(target=export, args=(k,)) for k in range(1, 9)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(numbers) == list(range(1, 9))
    assert ops.section_numbers(path.read_text(encoding="utf-8")) == sorted(numbers)


def test_unreadable_or_misplaced_files_are_input_errors(tmp_path: Path) -> None:
    binary = tmp_path / "bin.md"
    binary.write_bytes(b"\xff\xfe not utf-8")
    with pytest.raises(UserInputError, match="not UTF-8"):
        ops.read_text(binary)
    assert ops.read_text(tmp_path / "missing.md") == ""
    with pytest.raises(UserInputError, match="is a directory"):
        ops.validate_path(tmp_path)
    with pytest.raises(UserInputError, match="does not exist"):
        ops.validate_path(tmp_path / "nowhere" / "OPERATIONS.md")
    with pytest.raises(UserInputError, match="control character"):
        ops.validate_path(tmp_path / "ops\x1b.md")


def test_the_lock_is_exclusive_while_held(tmp_path: Path) -> None:
    import fcntl

    path = tmp_path / "OPERATIONS.md"
    with (
        ops.locked(path),
        (tmp_path / "OPERATIONS.md.lock").open("a+b") as other,
        pytest.raises(BlockingIOError),
    ):
        fcntl.flock(other.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    with (tmp_path / "OPERATIONS.md.lock").open("a+b") as other:
        fcntl.flock(other.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)  # free again


def test_a_symlinked_operations_file_stays_a_link(tmp_path: Path) -> None:
    real = tmp_path / "real.md"
    real.write_text("## §17.1 — a\n", encoding="utf-8")
    link = tmp_path / "OPERATIONS.md"
    link.symlink_to(real)
    ops.write_atomically(link, "## §17.1 — a\n## §17.2 — b\n")
    assert link.is_symlink()
    assert real.read_text(encoding="utf-8") == "## §17.1 — a\n## §17.2 — b\n"
