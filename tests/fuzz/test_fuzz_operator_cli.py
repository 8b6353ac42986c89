"""Fuzz the operator commands that take free text and ids (both backends).

`config set/show/history`, `incident open/note/show/list`, `kill-switch`/`halt`, `alerts ack`,
`trade runs show/delete` and `audit verify --anchor` with hostile values in every option: the
contract of fuzz_support holds, and after every example the audit chain still verifies.
"""

from __future__ import annotations

from fuzz_strategies import hostile_number, hostile_text, maybe, usually
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
    st.tuples(st.sampled_from(["CVN_FOCAL_GAMMA", "CVN_FOCAL_ALPHA"]), hostile_number).map(
        "=".join
    ),
)
assignment = st.one_of(good_assignment, st.tuples(keys, values).map("=".join), hostile_text)
assignments = st.one_of(
    st.lists(good_assignment, min_size=1, max_size=2),
    st.lists(assignment, min_size=1, max_size=3),
    st.just([]),
)


@st.composite
def config_args(draw: st.DrawFn) -> list[str]:
    command = draw(st.sampled_from(["set", "show", "history"]))
    if command == "set":
        args = ["config", "set", *draw(assignments)]
        args += draw(usually("--reason", hostile_text))
        args += draw(maybe("--actor", hostile_text))
        args += draw(maybe("--expect-version", hostile_number))
    elif command == "history":
        args = ["config", "history", *draw(maybe("--limit", hostile_number))]
    else:
        args = ["config", "show"]
    return args + draw(st.sampled_from([[], ["--json"]]))


@st.composite
def incident_args(draw: st.DrawFn) -> list[str]:
    command = draw(st.sampled_from(["open", "note", "show", "list"]))
    ident = draw(st.one_of(st.sampled_from(["1", "2"]), hostile_number))
    if command == "open":
        args = ["incident", "open", *draw(usually("--title", hostile_text))]
        args += draw(
            maybe("--severity", st.one_of(st.sampled_from(["P1", "P4", "P5"]), hostile_text))
        )
        args += draw(maybe("--alert", hostile_text))
        args += draw(maybe("--actor", hostile_text))
    elif command == "note":
        args = ["incident", "note", ident, draw(hostile_text)]
        status = st.one_of(
            st.sampled_from(["open", "mitigated", "resolved", "closed"]), hostile_text
        )
        args += draw(maybe("--status", status))
    elif command == "show":
        args = ["incident", "show", ident]
    else:
        args = ["incident", "list", *draw(maybe("--status", hostile_text))]
        args += draw(maybe("--alert", hostile_text)) + draw(maybe("--limit", hostile_number))
    return args + draw(st.sampled_from([[], ["--json"]]))


@st.composite
def control_args(draw: st.DrawFn) -> list[str]:
    command = draw(st.sampled_from(["switch", "ack", "runs", "verify"]))
    if command == "switch":
        args = [
            draw(st.sampled_from(["kill-switch", "halt"])),
            draw(st.sampled_from(["on", "off"])),
        ]
        args += draw(usually("--reason", hostile_text)) + draw(maybe("--actor", hostile_text))
    elif command == "ack":
        args = ["alerts", "ack", draw(hostile_number), *draw(usually("--reason", hostile_text))]
    elif command == "runs":
        sub = draw(st.sampled_from(["show", "delete"]))
        args = ["trade", "runs", sub, draw(hostile_number)]
        if sub == "delete":
            args += draw(usually("--reason", hostile_text))
    else:
        args = ["audit", "verify", *draw(maybe("--anchor", hostile_text))]
    return args + draw(st.sampled_from([[], ["--json"]]))


def _verified(world: World) -> None:
    report = verify_chains(world.db)
    assert report.intact, report


@fuzz_settings(40)
@given(args=config_args())
@example(
    args=["config", "history", "--limit", "99999999999999999999"]
)  # was exit 70 (SQLite overflow)
def test_config_commands(world: World, args: list[str]) -> None:
    world.run(*args)
    _verified(world)


@fuzz_settings(40)
@given(args=incident_args())
@example(args=["incident", "show", "99999999999999999999"])  # was exit 70: ids beyond 64 bits
@example(args=["incident", "note", "99999999999999999999", "x"])
@example(args=["incident", "list", "--limit", "99999999999999999999"])
def test_incident_commands(world: World, args: list[str]) -> None:
    world.run(*args)
    _verified(world)


@fuzz_settings(30)
@given(args=control_args())
@example(args=["alerts", "ack", "99999999999999999999", "--reason", "x"])  # was exit 70
@example(args=["trade", "runs", "show", "99999999999999999999"])  # was exit 70
def test_switches_acks_runs_and_verify(world: World, args: list[str]) -> None:
    world.run(*args, negative=args[:2] == ["audit", "verify"])
