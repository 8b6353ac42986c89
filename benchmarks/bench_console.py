"""Benchmark the console under 50 concurrent clients on loopback; prints one JSON line.

A real console (uvicorn, one process, SQLite WAL database under a temp dir) serves; this process
runs `--clients` concurrent HTTP/1.1 keep-alive clients (httpx, asyncio), each sending
`--requests` requests per phase, one phase after another:

1. `GET /api/health`: a static answer of the same app (no auth, no database) — the baseline;
2. `GET /api/config`: bearer token check + config read;
3. `POST /api/config`: bearer check + atomic compare-and-swap write + history + audit row
   (every request sets CVN_FOCAL_GAMMA to a new value, so every one really writes).

Reports p50/p99 latency (ms) and requests/s per phase, and the ratios to the static endpoint.
Targets (issue 13): `/config` GET p99 < 50 ms, POST p99 < 100 ms on SQLite. Client and server
share the machine's cores: the JSON records the load average.

Usage: ``.venv/bin/python benchmarks/bench_console.py [--clients 50 --requests 20]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import socket
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _serve(home: str, port: int, token_file: str) -> None:
    """The server process: migrate, create an operator + token, serve the console."""
    import uvicorn
    from argon2 import PasswordHasher, profiles

    from cvntrade.app import AppContext
    from cvntrade.console.users import add_user, create_token
    from cvntrade.console.web import create_app
    from cvntrade.db import create_db_engine, upgrade
    from cvntrade.settings import Settings

    url = f"sqlite:///{home}/cvntrade.db"
    engine = create_db_engine(url)
    upgrade(engine)
    cheap = PasswordHasher.from_parameters(profiles.CHEAPEST)
    add_user(engine, "bench", "bench-password", "operator", actor="bench", hasher=cheap)
    token = create_token(engine, "bench", label="bench", actor="bench")
    settings = Settings(home=Path(home), database_url=url)
    app = create_app(AppContext(settings=settings, engine=engine, actor="console"))
    Path(token_file).write_text(token)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


async def _phase(
    base: str, clients: int, requests: int, send: Callable[[httpx.AsyncClient, int], Any]
) -> dict[str, float]:
    latencies: list[float] = []

    async def client(index: int) -> None:
        async with httpx.AsyncClient(base_url=base, timeout=120) as http:
            for i in range(requests):
                start = time.perf_counter()
                response = await send(http, index * requests + i)
                latencies.append(time.perf_counter() - start)
                if response.status_code != 200:
                    raise RuntimeError(f"{response.status_code}: {response.text[:200]}")

    start = time.perf_counter()
    await asyncio.gather(*(client(i) for i in range(clients)))
    elapsed = time.perf_counter() - start
    ordered = sorted(latencies)
    return {
        "requests": len(ordered),
        "p50_ms": round(statistics.median(ordered) * 1000, 2),
        "p99_ms": round(ordered[max(0, int(len(ordered) * 0.99) - 1)] * 1000, 2),
        "req_per_s": round(len(ordered) / elapsed, 1),
    }


async def _run(base: str, token: str, clients: int, requests: int) -> dict[str, Any]:
    auth = {"Authorization": f"Bearer {token}"}

    async def health(http: httpx.AsyncClient, _n: int) -> httpx.Response:
        return await http.get("/api/health")

    async def get_config(http: httpx.AsyncClient, _n: int) -> httpx.Response:
        return await http.get("/api/config", headers=auth)

    async def post_config(http: httpx.AsyncClient, n: int) -> httpx.Response:
        body = {"changes": {"CVN_FOCAL_GAMMA": str(1 + n / 1000)}, "reason": "bench"}
        return await http.post("/api/config", json=body, headers=auth)

    await _phase(base, clients, 2, health)  # warm-up: connections, imports, caches
    await _phase(base, clients, 2, get_config)
    return {
        "static": await _phase(base, clients, requests, health),
        "config_get": await _phase(base, clients, requests, get_config),
        "config_post": await _phase(base, clients, requests, post_config),
    }


def main() -> None:
    """Run the three phases against a fresh console and print one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=20, help="per client and phase")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        port = _free_port()
        token_file = Path(home) / "token"
        server = multiprocessing.get_context("spawn").Process(
            target=_serve, args=(home, port, str(token_file)), daemon=True
        )
        server.start()
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:  # wait for the server to answer (it migrates the database first)
            try:
                if token_file.exists() and httpx.get(f"{base}/api/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or not server.is_alive():
                raise SystemExit("console did not start")
            time.sleep(0.1)
        try:
            result = asyncio.run(_run(base, token_file.read_text(), args.clients, args.requests))
        finally:
            server.terminate()
            server.join()
    static = result["static"]
    result.update(
        benchmark="console",
        clients=args.clients,
        database="sqlite",
        get_p99_ratio_to_static=round(result["config_get"]["p99_ms"] / static["p99_ms"], 2),
        post_p99_ratio_to_static=round(result["config_post"]["p99_ms"] / static["p99_ms"], 2),
        get_throughput_ratio_to_static=round(
            result["config_get"]["req_per_s"] / static["req_per_s"], 3
        ),
        targets={"config_get_p99_ms": 50, "config_post_p99_ms": 100},
        get_within_target=result["config_get"]["p99_ms"] < 50,
        post_within_target=result["config_post"]["p99_ms"] < 100,
        loadavg=os.getloadavg(),
        cpus=os.cpu_count(),
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
