"""Fuzz the operator commands that take free text and ids (both backends).

`config set/show/history`, `incident open/note/show/list`, `kill-switch`/`halt`, `alerts ack`,
`trade runs show/delete` and `audit verify --anchor` with hostile values in every option: the
contract of fuzz_support holds, and after every example the audit chain still verifies.
"""

from __future__ import annotations

from fuzz_strategies import Opt, any_command, hostile_number, hostile_text
from fuzz_support import World, fuzz_settings
from hypothesis import example, given
from hypothesis import strategies as st

from cvntrade.config import CONFIG_KEYS
from cvntrade.db.verify import verify_chains

keys = st.one_of(
    st.sampled_from(sorted(CONFIG_KEYS)), st.sampled_from(sorted(CONFIG_KEYS)), hostile_text
)
values = st.one_of(
    st.sampled_from(["binary:logistic", "focal", "2.0", "0.25", "none", "isotonic", "platt"]),
    hostile_number,
    hostile_text,
)
good_assignment = st.one_of(
    st.sampled_from(
        [
            "CVN_LOSS_FUNCTION=focal",
            "CVN_LOSS_FUNCTION=binary:logistic",
            "CVN_CALIBRATION=temperature_scaling",
            "CVN_CALIBRATION=none",
        ]
    ),
    st.tuples(
        st.sampled_from(["CVN_FOCAL_GAMMA", "CVN_FOCAL_ALPHA"]),
        st.sampled_from(["0.5", "2", "3.5"]) | st.floats(0.01, 5).map(str),
    ).map("=".join),
)
assignment = st.one_of(st.tuples(keys, values).map("=".join), hostile_text)
REASON = Opt("--reason", st.sampled_from(["tuning", "page: BTC [/] down"]), hostile_text, True)
ACTOR = Opt("--actor", st.sampled_from(["alice", "ops bot"]), hostile_text)
ID = st.sampled_from(["1", "2"])
LIMIT = Opt("--limit", st.sampled_from(["1", "20"]), hostile_number)
CONFIG = (
    (
        ("config", "set"),
        (
            Opt(None, good_assignment, assignment, required=True),
            Opt(None, good_assignment, assignment),
            REASON,
            ACTOR,
            Opt("--expect-version", st.sampled_from(["1", "2"]), hostile_number),
        ),
    ),
    (("config", "history"), (LIMIT,)),
    (("config", "show"), ()),
)
STATUSES = st.sampled_from(["open", "mitigated", "resolved", "false_positive"])
INCIDENTS = (
    (
        ("incident", "open"),
        (
            Opt(
                "--title", st.sampled_from(["BTC [/] down", "focal regression"]), hostile_text, True
            ),
            Opt("--severity", st.sampled_from(["P1", "P3"]), hostile_text),
            Opt("--alert", st.just("expectancy_negative_focal"), hostile_text),
            ACTOR,
        ),
    ),
    (
        ("incident", "note"),
        (
            Opt(None, ID, hostile_number, required=True),
            Opt(None, st.sampled_from(["looking", "see [link=x]"]), hostile_text, True),
            Opt("--status", STATUSES, hostile_text),
            ACTOR,
        ),
    ),
    (("incident", "show"), (Opt(None, ID, hostile_number, required=True),)),
    (
        ("incident", "list"),
        (
            Opt("--status", STATUSES, hostile_text),
            Opt("--alert", st.just("x"), hostile_text),
            LIMIT,
        ),
    ),
)
CONTROLS = (
    *(
        ((switch, state), (REASON, ACTOR))
        for switch in ("kill-switch", "halt")
        for state in ("on", "off")
    ),
    (("alerts", "ack"), (Opt(None, ID, hostile_number, required=True), REASON, ACTOR)),
    (("alerts", "list"), (LIMIT,)),
    (("trade", "runs", "show"), (Opt(None, ID, hostile_number, required=True),)),
    (("trade", "runs", "delete"), (Opt(None, ID, hostile_number, required=True), REASON)),
    (("trade", "runs", "list"), (LIMIT,)),
    (("audit", "verify"), (Opt("--anchor", st.just("ab" * 32), hostile_text),)),
)


def _verified(world: World) -> None:
    report = verify_chains(world.db)
    assert report.intact, report


@fuzz_settings(40)
@given(args=any_command(CONFIG))
@example(
    args=["config", "history", "--limit", "99999999999999999999"]
)  # was exit 70 (SQLite overflow)
def test_config_commands(world: World, args: list[str]) -> None:
    world.run(*args)
    _verified(world)


@fuzz_settings(40)
@given(args=any_command(INCIDENTS))
@example(args=["incident", "show", "99999999999999999999"])  # was exit 70: ids beyond 64 bits
@example(args=["incident", "note", "99999999999999999999", "x"])
@example(args=["incident", "list", "--limit", "99999999999999999999"])
def test_incident_commands(world: World, args: list[str]) -> None:
    world.run(*args)
    _verified(world)


@fuzz_settings(30)
@given(args=any_command(CONTROLS))
@example(args=["alerts", "ack", "99999999999999999999", "--reason", "x"])  # was exit 70
@example(args=["trade", "runs", "show", "99999999999999999999"])  # was exit 70
def test_switches_acks_runs_and_verify(world: World, args: list[str]) -> None:
    world.run(*args, negative=args[:2] == ["audit", "verify"])  # 1: an anchor is missing
