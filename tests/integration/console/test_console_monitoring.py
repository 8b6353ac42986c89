"""`/monitoring` and `/alerts`: stored signals drawn and served as JSON; the ack form and API
acknowledge through the CLI's function (same audit row, same incident note), on both backends."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

import pytest
from console_monitoring_support import AT, add_alert_event, store_drift_snapshot
from console_support import bearer
from fastapi.testclient import TestClient

from cvntrade.app import AppContext
from cvntrade.audit import read_audit
from cvntrade.monitoring.evaluator import ack_event, list_events

Login = Callable[[str], tuple[TestClient, str]]


def test_monitoring_without_snapshot_says_no_data(
    client: TestClient, tokens: dict[str, str], login: Login
) -> None:
    body = client.get("/api/monitoring", headers=bearer(tokens["viewer"])).json()
    assert body["at"] is None and body["symbols"] == []
    viewer, _ = login("viewer")
    page = viewer.get("/monitoring")
    assert page.status_code == 200 and "No data yet" in page.text and "<svg" not in page.text


def test_monitoring_api_serves_the_latest_snapshot(
    ctx: AppContext, client: TestClient, tokens: dict[str, str]
) -> None:
    store_drift_snapshot(ctx.engine, AT - dt.timedelta(hours=1))  # older: must not show
    latest = store_drift_snapshot(ctx.engine)
    body = client.get("/api/monitoring", headers=bearer(tokens["viewer"])).json()
    assert body["at"].startswith("2026-11-30T11:00:00")
    assert body["focal_loss_active"] is True and body["alert_firing"] is True
    assert sorted(body["negative_symbols"]) == ["BTCUSDC", "ETHUSDC"]
    by_symbol = {s["crypto_symbol"]: s for s in body["symbols"]}
    assert sorted(by_symbol) == ["BTCUSDC", "ETHUSDC", "SOLUSDC"]
    for drift in latest.drift:
        got = by_symbol[drift.crypto_symbol]
        if drift.psi:
            assert got["psi_max"] == pytest.approx(drift.psi_max)
            assert got["worst_feature"] == max(drift.psi, key=drift.psi.__getitem__)
            assert got["sharpness_recent"] == pytest.approx(drift.sharpness_recent)
            assert got["sharpness_training"] == pytest.approx(drift.sharpness_training)
            assert got["ece_live"] == pytest.approx(drift.ece_live)
            assert got["ece_training"] == pytest.approx(drift.ece_training)
            assert got["histogram_recent"] == pytest.approx(list(drift.histogram_recent))
            assert got["histogram_training"] == pytest.approx(list(drift.histogram_training))
        else:
            assert got["psi_max"] is None and got["ece_training"] is None
            assert got["note"] == drift.note


def test_monitoring_page_draws_the_four_panels(ctx: AppContext, login: Login) -> None:
    store_drift_snapshot(ctx.engine)
    viewer, _ = login("viewer")
    html = viewer.get("/monitoring").text
    for anchor in ('id="probability"', 'id="psi"', 'id="sharpness"', 'id="calibration"'):
        assert anchor in html
    # one recent + one training line per symbol with predictions (BTC, ETH)
    assert len(re.findall(r'<polyline points="[0-9., ]+" class="recent"', html)) == 2
    assert len(re.findall(r'<polyline points="[0-9., ]+" class="training"', html)) == 2
    psi_rows = html.split('id="psi-table"')[1].split("</table>")[0]
    assert "significant" in psi_rows and "rsi_14" in psi_rows and "moderate" in psi_rows
    # BTC sharpness ratio 0.02/0.09 = 0.22 (outside the band) and ECE +0.09 are flagged
    assert '<td class="neg">0.22</td>' in html
    assert '<td class="neg">+0.0900</td>' in html
    assert "no reference" in html
    assert "<script" not in html and "http" not in html.split("</header>")[1]


def test_alerts_api_and_page_list_events(
    ctx: AppContext, client: TestClient, tokens: dict[str, str], login: Login
) -> None:
    first = add_alert_event(ctx.engine, "pending")
    second = add_alert_event(ctx.engine, "firing", AT + dt.timedelta(minutes=15))
    body = client.get("/api/alerts", headers=bearer(tokens["viewer"])).json()
    assert [e["id"] for e in body] == [second, first]
    assert [e["state"] for e in body] == ["firing", "pending"]
    viewer, _ = login("viewer")
    html = viewer.get("/alerts").text
    assert "BTCUSDC,ETHUSDC" in html and 'action="/alerts/' not in html
    operator, _ = login("operator")
    assert f'action="/alerts/{second}/ack"' in operator.get("/alerts").text


def _ack_rows(ctx: AppContext) -> list[tuple[str, str, str | None, str]]:
    return [
        (a.action, a.actor, a.reason, a.target)
        for a in read_audit(ctx.engine)
        if a.action == "alert.ack"
    ]


def test_form_ack_writes_the_cli_audit_row_and_shows_who_when_why(
    ctx: AppContext, login: Login
) -> None:
    by_form, by_cli = add_alert_event(ctx.engine), add_alert_event(ctx.engine)
    operator, csrf = login("operator")
    response = operator.post(f"/alerts/{by_form}/ack", data={"reason": "on it", "csrf_token": csrf})
    assert response.status_code == 200
    assert re.search(rf"#{by_form} acknowledged by olivia at [0-9: -]+ UTC: on it", response.text)
    ack_event(ctx.engine, by_cli, actor="olivia", reason="on it")  # what `alerts ack` calls
    form_row, cli_row = sorted(_ack_rows(ctx), key=lambda r: r[3])
    assert form_row == ("alert.ack", "olivia", "on it", f"alert_event:{by_form}")
    assert cli_row[:3] == form_row[:3]
    assert len(_ack_rows(ctx)) == 2
    events = {e.id: e for e in list_events(ctx.engine)}
    assert events[by_form].acked_by == "olivia" and events[by_form].ack_reason == "on it"
    listed = operator.get("/alerts").text
    assert f'action="/alerts/{by_form}/ack"' not in listed and "olivia, " in listed


@pytest.mark.parametrize(
    ("data", "status"),
    [({"reason": ""}, 422), ({"reason": "x", "csrf_token": "forged"}, 403)],
)
def test_form_ack_needs_reason_and_csrf(
    ctx: AppContext, login: Login, data: dict[str, str], status: int
) -> None:
    event = add_alert_event(ctx.engine)
    operator, csrf = login("operator")
    payload = {"csrf_token": csrf, **data}
    assert operator.post(f"/alerts/{event}/ack", data=payload).status_code == status
    assert list_events(ctx.engine)[0].acked_by is None and _ack_rows(ctx) == []


def test_api_ack_unknown_event_is_404_and_blank_reason_422(
    ctx: AppContext, client: TestClient, tokens: dict[str, str]
) -> None:
    event = add_alert_event(ctx.engine)
    headers = bearer(tokens["operator"])
    missing = client.post("/api/alerts/999999/ack", json={"reason": "x"}, headers=headers)
    assert missing.status_code == 404 and "999999" in missing.json()["detail"]
    blank = client.post(f"/api/alerts/{event}/ack", json={"reason": "  "}, headers=headers)
    assert blank.status_code == 422 and "reason" in blank.json()["detail"]
    assert _ack_rows(ctx) == []
    done = client.post(f"/api/alerts/{event}/ack", json={"reason": "seen"}, headers=headers)
    assert done.status_code == 200 and done.json()["acked_by"] == "olivia"
