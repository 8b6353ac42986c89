"""Hostile inputs shared by the fuzz tests: text, numbers, times, ids, as command-line words."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import strategies as st

SPECIAL_TEXT = [
    "",
    " ",
    "[/]",
    "[bold]x[/bold]",
    "fix [/bold] rollout",
    "[open]",
    ":rocket:",
    "\x1b[31mred",
    "a\x00b",
    "line\nbreak",
    "car\rriage",
    "tab\there",
    "\u202eevil",
    "\ufeffbom",
    "é🚀中文",
    "x" * 5000,
    "--help",
    "-h",
    "--json",
    "-",
    "postgresql://user:Secret123@db/x",
    "'; DROP TABLE audit_log; --",
    "%s %d {0}",
    "${HOME}",
    "\\",
]
SPECIAL_NUMBERS = [
    "0",
    "-1",
    "1",
    "3",
    "2147483647",
    "2147483648",
    "99999999999999999999",
    "-99999999999999999999",
    "1e308",
    "-1e308",
    "1e309",
    "nan",
    "NaN",
    "inf",
    "-inf",
    "0.5",
    "-0",
    "0x10",
    "1_000",
    " 7 ",
    "٣",  # an Arabic-Indic digit
    "",
]
SPECIAL_TIMES = [
    "2026-11-24T12:00:00Z",
    "2026-11-24",
    "2026-11-24T12:00:00+05:30",
    "2026-11-24 12:00",
    "2026-02-30",
    "0001-01-01",
    "9999-12-31T23:59:59",
    "1970-01-01",
    "now",
    "today",
    "10:00",
    "30/11/2026",
    "1732449600",
    "1732449600000",
    "2026-11-24T25:00:00",
    "2026-W48",
    "",
]
SPECIAL_WINDOWS = [
    "48h",
    "7d",
    "90m",
    "0h",
    "-1h",
    "1.5h",
    "99999999h",
    "h",
    "48",
    "1e9d",
    "48H",
    "",
]

plain_text = st.text(st.characters(min_codepoint=32, max_codepoint=126), min_size=1, max_size=30)
# Plain text is listed twice: about half the values are acceptable, so commands also succeed.
hostile_text = st.one_of(
    plain_text, plain_text, st.sampled_from(SPECIAL_TEXT), st.text(max_size=40)
)
hostile_number = st.one_of(
    st.integers(min_value=1, max_value=5).map(str),
    st.sampled_from(SPECIAL_NUMBERS),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.floats().map(repr),
    st.text(max_size=8),
)
hostile_time = st.one_of(
    st.sampled_from(SPECIAL_TIMES),
    st.datetimes().map(lambda d: d.isoformat()),
    st.text(max_size=20),
)
hostile_window = st.one_of(st.sampled_from(SPECIAL_WINDOWS), st.text(max_size=8))
hostile_symbols = st.one_of(
    st.sampled_from(["BTCUSDC", "BTCUSDC,ETHUSDC", "btcusdc", "BTC", "BTCUSDC,,", "auto", "", ","]),
    st.lists(st.text(max_size=10), max_size=3).map(",".join),
)


def maybe(flag: str, values: st.SearchStrategy[str]) -> st.SearchStrategy[list[str]]:
    """`[]` or `[flag, value]`: an optional option."""
    return st.one_of(st.just([]), values.map(lambda value: [flag, value]))


def usually(flag: str, values: st.SearchStrategy[str]) -> st.SearchStrategy[list[str]]:
    """`[flag, value]` three times in four, else `[]`: a required option, sometimes missing."""
    given = values.map(lambda value: [flag, value])
    return st.one_of(given, given, given, st.just([]))


@dataclass(frozen=True)
class Opt:
    """One option (or positional argument, `flag=None`) of a command: good and hostile values."""

    flag: str | None
    valid: st.SearchStrategy[str]
    hostile: st.SearchStrategy[str]
    required: bool = False


@st.composite
def command_line(
    draw: st.DrawFn, words: tuple[str, ...], opts: tuple[Opt, ...], flags: tuple[str, ...] = ()
) -> list[str]:
    """`words` and options: about a third of lines are all valid (the command does its work),
    the others spoil exactly one option (a hostile value, or leave it out)."""
    spoiled = draw(st.one_of(st.just(-1), st.integers(-1, len(opts) - 1)))
    args = list(words)
    for index, opt in enumerate(opts):
        if index == spoiled:
            if draw(st.integers(0, 3)) == 0:
                continue  # left out (a required one: a usage error)
            value = draw(opt.hostile)
        elif opt.required or draw(st.booleans()):
            value = draw(opt.valid)
        else:
            continue
        args += [value] if opt.flag is None else [opt.flag, value]
    return args + [flag for flag in flags if draw(st.booleans())]


Commands = tuple[tuple[tuple[str, ...], tuple[Opt, ...]], ...]
"""A table of (command words, its options)."""


def any_command(table: Commands) -> st.SearchStrategy[list[str]]:
    """Any command line of `table`, its options valid or one spoiled, `--json` or not."""
    return st.sampled_from(table).flatmap(
        lambda command: command_line(command[0], command[1], ("--json",))
    )
