"""`cvntrade monitor` (exporter, one-shot check, report) and `cvntrade alerts` (list, ack)."""

from __future__ import annotations

import typer
from rich.table import Table

from cvntrade.cli.common import (
    ID_MAX,
    LIST_LIMIT_MAX,
    clock_from,
    console,
    default_actor,
    fmt_pct,
    open_engine,
    print_json,
)

app = typer.Typer(
    help=(
        "Monitoring: the Prometheus exporter with the built-in evaluator (serve), one "
        "evaluation of expectancy_negative_focal (check), the signals as a report."
    ),
    no_args_is_help=True,
)
alerts_app = typer.Typer(
    help=(
        "Alert events (built-in evaluator and Alertmanager): list them, acknowledge one, "
        "receive Alertmanager's webhook."
    ),
    no_args_is_help=True,
)


def _duration(text: str, field: str) -> float:
    from cvntrade.journal.expectancy import parse_window

    if text.strip() in ("0", "0s"):
        return 0.0
    try:
        return parse_window(text).total_seconds()
    except Exception:
        from cvntrade.errors import UserInputError

        raise UserInputError(f"invalid {field} {text!r}: expected e.g. 15m, 1h or 0") from None


@app.command("serve")
def serve_cmd(
    port: int = typer.Option(9108, "--port", min=1, max=65535, help="Serve /metrics here."),
    interval: float = typer.Option(
        60.0, "--interval", min=0.1, help="Seconds between recomputations (and evaluations)."
    ),
    eval_interval: float = typer.Option(
        15.0, "--eval-interval", min=0.1, help="Seconds between alert evaluations."
    ),
    for_: str = typer.Option(
        "15m", "--for", help="How long the rule must hold before firing (Prometheus for:)."
    ),
    repeat: str = typer.Option(
        "4h", "--repeat", help="Re-notify a firing, unacknowledged alert this often."
    ),
    webhook: str = typer.Option(
        None, "--webhook", help="POST alerts here (default: $CVN_ALERT_WEBHOOK_URL; none: log)."
    ),
    addr: str = typer.Option("127.0.0.1", "--addr", help="Listen address."),
) -> None:
    """Serve the monitoring metrics on ADDR:PORT/metrics and evaluate the alert in the loop.

    Signals are recomputed every --interval seconds in a background thread (a scrape serves
    the last snapshot, never waits) and stored in monitor_snapshots. Every --eval-interval
    seconds the built-in evaluator checks the rules (pending → firing after --for → resolved,
    in alert_events, with log/webhook notification): expectancy_negative_focal (opens its
    incident) and expectancy_not_recovered_after_rollback (4 h after a rollback, expectancy has
    not recovered: attaches to the rollback's incident). Ctrl-C or SIGTERM stops it cleanly.
    """
    import datetime as dt
    import signal

    from cvntrade.monitoring.alerts import evaluate_engine
    from cvntrade.monitoring.evaluator import Evaluator
    from cvntrade.monitoring.exporter import MonitorService
    from cvntrade.monitoring.notify import LogNotifier, Notifier, WebhookNotifier
    from cvntrade.monitoring.recovery import RecoveryState, read_recovery
    from cvntrade.monitoring.service import process_snapshot_job
    from cvntrade.settings import get_settings

    settings = get_settings()
    for_s, repeat_s = _duration(for_, "--for"), _duration(repeat, "--repeat")
    engine = open_engine()
    url = webhook or settings.alert_webhook_url
    notifiers: list[Notifier] = [LogNotifier()]
    if url:
        notifiers.append(WebhookNotifier(url))
    evaluator = Evaluator(
        engine,
        notifiers,
        for_=dt.timedelta(seconds=for_s),
        repeat_interval=dt.timedelta(seconds=repeat_s),
    )
    job, shutdown = process_snapshot_job(settings)
    service = MonitorService(
        job,
        interval_s=interval,
        evaluate=lambda: (
            evaluator.evaluate(evaluate_engine(engine)),
            evaluator.evaluate(RecoveryState(read_recovery(engine, now=evaluator.clock()))),
        ),
        evaluate_interval_s=eval_interval,
    )
    # SIGTERM (systemd, `cvntrade up`) stops like Ctrl-C: loops joined, worker shut down.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        service.start(port, addr)
        console.print(
            f"serving http://{addr}:{port}/metrics (recompute every {interval:g} s, "
            f"evaluate every {eval_interval:g} s)"
        )
        service.wait()
    except KeyboardInterrupt:
        pass
    finally:
        service.stop()
        shutdown()


@app.command("check")
def check_cmd(
    now: str = typer.Option(None, "--now", help="Evaluate as of this UTC time (ISO-8601)."),
    as_json: bool = typer.Option(False, "--json", help="Print the verdict as JSON."),
) -> None:
    """One evaluation of expectancy_negative_focal: exit 0 not firing, 1 firing.

    Same rule as `runbook confirm`, the evaluator in `monitor serve` and the Prometheus
    rules: 48 h focal expectancy < 0 on >= 2 symbols AND focal_loss_active. Nothing is written.
    """
    from cvntrade.monitoring.alerts import evaluate_engine

    state = evaluate_engine(open_engine(), now=clock_from(now)())
    if as_json:
        print_json(
            {
                "alert": state.alert,
                "firing": state.firing,
                "severity": state.severity,
                "negative_symbols": state.negative_symbols,
                "expectancy_48h": dict(state.expectancies),
                "focal_loss_active": state.focal_active,
                "focal_source": state.focal_source,
                "fingerprint": state.fingerprint,
            }
        )
    else:
        console.print(state.summary)
    raise typer.Exit(1 if state.firing else 0)


@app.command("report")
def report_cmd(
    as_json: bool = typer.Option(False, "--json", help="Print the signals as JSON."),
    plot: str = typer.Option(None, "--plot", help="Write PNG charts into this directory."),
    now: str = typer.Option(None, "--now", help="Compute as of this UTC time (ISO-8601)."),
) -> None:
    """Every signal now: expectancy windows, focal_loss_active, PSI, sharpness, live ECE."""
    from pathlib import Path

    from cvntrade.monitoring.report import report_rows, write_plots
    from cvntrade.monitoring.service import snapshot_job
    from cvntrade.settings import get_settings

    snapshot = snapshot_job(open_engine(), get_settings(), store=False, clock=clock_from(now))()
    rows = report_rows(snapshot)
    files = write_plots(snapshot, Path(plot)) if plot else []
    if as_json:
        print_json({**rows, "plots": [str(f) for f in files]})
        return
    console.print(rows["alert"]["summary"])
    table = Table(title="Expectancy, % net per trade (95 % t interval)")
    for column in ("crypto_symbol", "loss", "window", "expectancy", "n", "95 % CI"):
        table.add_column(column)
    for r in rows["expectancy"]:
        ci = "—" if r["ci_low"] is None else f"[{fmt_pct(r['ci_low'])}, {fmt_pct(r['ci_high'])}]"
        table.add_row(
            r["crypto_symbol"],
            r["model_loss_function"],
            r["window"],
            fmt_pct(r["expectancy_pct"]),
            str(r["n_trades"]),
            ci,
        )
    console.print(table)
    drift = Table(title="Drift of the served champions (recent window vs training)")
    for column in ("crypto_symbol", "version", "PSI max", "level", "sharpness", "ECE", "note"):
        drift.add_column(column)
    for d in rows["drift"]:
        drift.add_row(
            d["crypto_symbol"],
            str(d["model_version"]),
            _f(d["psi_max"]),
            d["psi_level"],
            f"{_f(d['sharpness_recent'])} vs {_f(d['sharpness_training'])}",
            f"{_f(d['ece_live'])} vs {_f(d['ece_training'])} (n={d['n_outcomes']})",
            d["note"],
        )
    console.print(drift)
    for f in files:
        console.print(f"wrote {f}")


def _f(value: float | None) -> str:
    return "—" if value is None else f"{value:.4f}"


@alerts_app.command("list")
def alerts_list_cmd(
    limit: int = typer.Option(
        50, "--limit", min=1, max=LIST_LIMIT_MAX, help="How many events, newest first."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """The built-in evaluator's alert events (pending/firing/resolved), newest first."""
    from cvntrade.monitoring.evaluator import list_events

    events = list_events(open_engine(), limit=limit)
    if as_json:
        print_json(events)
        return
    table = Table(title="Alert events")
    for column in ("id", "at", "alert", "state", "symbols", "incident", "acked"):
        table.add_column(column)
    for e in events:
        acked = "" if e.acked_by is None else f"{e.acked_by}: {e.ack_reason}"
        table.add_row(
            str(e.id),
            f"{e.at:%Y-%m-%d %H:%M:%S}",
            e.alert,
            e.state,
            e.labels.get("negative_symbols", ""),
            "" if e.incident_id is None else f"#{e.incident_id}",
            acked,
        )
    console.print(table)


@alerts_app.command("ack")
def alerts_ack_cmd(
    event_id: int = typer.Argument(
        ..., min=1, max=ID_MAX, help="Alert event id (see `cvntrade alerts list`)."
    ),
    reason: str = typer.Option(..., "--reason", help="Why (kept in the audit log and incident)."),
    actor: str = typer.Option(None, "--actor", help="Who (default: $CVN_ACTOR or login name)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Acknowledge an alert: no more re-notifications of its episode; audited, in the timeline."""
    from cvntrade.monitoring.evaluator import ack_event

    event = ack_event(open_engine(), event_id, actor=actor or default_actor(), reason=reason)
    if as_json:
        print_json(event)
        return
    console.print(f"alert event #{event.id} acknowledged by {event.acked_by}: {event.ack_reason}")


@alerts_app.command("receive")
def alerts_receive_cmd(
    port: int = typer.Option(9109, "--port", min=0, max=65535, help="Listen on this port."),
    addr: str = typer.Option("127.0.0.1", "--addr", help="Listen address."),
) -> None:
    """Alertmanager's webhook receiver: POST ADDR:PORT/alertmanager (infra/alertmanager).

    Each alert's transition goes to alert_events; expectancy_negative_focal opens (or attaches
    to) its incident once per firing episode of the alert fingerprint and notes the
    resolution. Repeats and re-deliveries write nothing; a bad body gets 400. Ctrl-C stops.
    """
    import threading

    from cvntrade.monitoring.receiver import ReceiverServer

    server = ReceiverServer(open_engine(), addr=addr, port=port)
    server.start()
    console.print(f"receiving Alertmanager webhooks on {server.url}")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.stop()
