"""`cvntrade console`: serve the web console (JSON API + pages) with uvicorn."""

from __future__ import annotations

import ipaddress

import typer

from cvntrade.cli.common import err_console, styled

LOOPBACK_HOSTS = ("localhost",)


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and localhost: only this machine can connect."""
    if host in LOOPBACK_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def exposed_warning(host: str) -> str:
    """The loud warning printed when the console listens beyond this machine."""
    return (
        f"WARNING: the console is bound to {host}, reachable from other machines. Without TLS "
        "in front (a reverse proxy terminating HTTPS), passwords, session cookies and API "
        "tokens travel in clear text. Bind 127.0.0.1 unless you have TLS."
    )


def console_command(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind (default loopback)."),
    port: int = typer.Option(8080, "--port", min=1, max=65535, help="TCP port."),
) -> None:
    """Serve the console: /config, /models, /expectancy, /journal, /controls, /incidents, /api.

    Log in with a user from `cvntrade users add`; API calls use a bearer token from
    `cvntrade users token`. Sessions are signed with $CVN_CONSOLE_SECRET (else a random secret:
    sessions end when the console restarts). Binding anything but loopback without TLS in front
    sends passwords and cookies in clear text: a loud warning says so.
    """
    import uvicorn

    from cvntrade.app import open_app
    from cvntrade.console.web import create_app

    if not is_loopback(host):
        err_console.print(styled(exposed_warning(host), "bold red"))
    ctx = open_app(actor="console")
    secret = ctx.settings.console_secret
    app = create_app(ctx, secret=secret.get_secret_value() if secret else None)
    err_console.print(f"console on http://{host}:{port}/ (Ctrl-C to stop)")
    uvicorn.run(app, host=host, port=port, log_level="warning")
