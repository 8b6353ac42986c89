"""Run the console on a real socket inside this process (browser tests, schemathesis, benchmark).

`cvntrade console` runs uvicorn in the foreground; this runs the same server in a thread on a
free loopback port and stops it cleanly, so tests talk HTTP to a real server.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import FastAPI

from cvntrade.errors import DependencyError

START_TIMEOUT_S = 120.0


@contextmanager
def serve_in_thread(app: FastAPI, host: str = "127.0.0.1") -> Iterator[str]:
    """Serve `app` on a free port of `host`; yields the base URL (`http://127.0.0.1:PORT`)."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host=host, port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, name="console", daemon=True)
    thread.start()
    waited = 0.0
    while not server.started:
        thread.join(0.02)
        waited += 0.02
        if not thread.is_alive() or waited > START_TIMEOUT_S:
            raise DependencyError(f"the console did not start on {host}")
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join()
