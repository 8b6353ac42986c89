"""What `cvntrade up` starts: command lines, ports, URLs, login instructions, uptime text."""

from __future__ import annotations

import datetime as dt

from cvntrade.platform.display import fmt_uptime, status_table
from cvntrade.platform.login import ConsoleLogin
from cvntrade.platform.parts import UpOptions, part_specs
from cvntrade.platform.supervisor import PartStatus

OPTIONS = UpOptions(
    symbols=("BTCUSDC", "ETHUSDC"),
    strategy="SL0.5_TP1_H4",
    interval="1h",
    engine_id="serve:SL0.5_TP1_H4@host",
    console_port=8181,
    exporter_port=9191,
    since="2025-02-01",
    poll_s=0.5,
    bars_per_poll=6,
)


def test_every_part_is_a_public_cli_command_in_start_order() -> None:
    engine, exporter, console = part_specs(OPTIONS, "/py", [("CVN_CONSOLE_SECRET", "s")])
    assert engine.argv == (
        "/py", "-m", "cvntrade", "trade", "serve", "--symbols", "BTCUSDC,ETHUSDC",
        "--strategy", "SL0.5_TP1_H4", "--interval", "1h", "--engine-id",
        "serve:SL0.5_TP1_H4@host", "--poll-s", "0.5", "--json", "--since", "2025-02-01",
        "--bars-per-poll", "6",
    )  # fmt: skip
    assert engine.port is None and engine.url is None
    assert exporter.argv[3:] == ("monitor", "serve", "--port", "9191", "--addr", "127.0.0.1")
    assert (exporter.url, exporter.port_option) == (
        "http://127.0.0.1:9191/metrics",
        "--exporter-port",
    )
    assert console.argv[3:] == ("console", "--port", "8181", "--host", "127.0.0.1")
    assert (console.url, console.env) == ("http://127.0.0.1:8181/", (("CVN_CONSOLE_SECRET", "s"),))


def test_disabled_parts_are_not_started_and_ipv6_urls_are_bracketed() -> None:
    from dataclasses import replace

    only_console = replace(OPTIONS, engine=False, exporter=False, host="::1")
    [console] = part_specs(only_console, "/py")
    assert console.name == "console"
    assert console.url == "http://[::1]:8181/"
    assert part_specs(replace(OPTIONS, engine=False, exporter=False, console=False), "/py") == []


def test_a_created_admin_password_is_in_the_instructions_and_existing_users_are_named() -> None:
    created = ConsoleLogin(("admin",), created="admin", password="pw-123-generated")
    lines = created.instructions("http://127.0.0.1:8080/")
    assert "pw-123-generated" in "\n".join(lines)
    assert "cvntrade users passwd admin" in "\n".join(lines)
    existing = ConsoleLogin(("alice", "olivia")).instructions("http://127.0.0.1:8080/")
    assert existing == [
        "console: http://127.0.0.1:8080/ — log in with a console user (alice, olivia; "
        "`cvntrade users list`); API tokens: `cvntrade users token NAME`"
    ]


def test_uptime_is_short_text() -> None:
    assert [fmt_uptime(s) for s in (None, 5.9, 185, 7380)] == [
        "—",
        "5 s",
        "3 min 05 s",
        "2 h 03 min",
    ]


def test_the_status_table_has_a_row_per_part_with_its_url() -> None:
    specs = {s.name: s for s in part_specs(OPTIONS, "/py")}
    statuses = [PartStatus(name) for name in specs]
    table = status_table(statuses, specs, now=dt.datetime(2025, 1, 1).timestamp(), details={})
    assert [c.header for c in table.columns][:6] == [
        "part",
        "pid",
        "state",
        "restarts",
        "uptime",
        "URL / port",
    ]
    assert table.row_count == 3
