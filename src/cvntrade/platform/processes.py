"""The supervisor's I/O with processes and sockets: spawn a part in its own process group,
signal the group, probe a port, read a part's last error line, hold the one-`up`-per-home lock.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import fcntl
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Collection, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO

from cvntrade.errors import ConflictError, DependencyError, UserInputError
from cvntrade.platform.parts import PartSpec
from cvntrade.redaction import redact

REASON_MAX_LEN = 240


def port_in_use(host: str, port: int) -> bool:
    """True when something listens on (or holds) `host:port`.

    Bound with SO_REUSEADDR, as the parts' servers bind, so a port in TIME_WAIT is free.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return True
            raise UserInputError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    return False


def check_ports(specs: Sequence[PartSpec], host: str) -> None:
    """Refuse (exit 4, the port named) when a part's port is taken; exit 2 when two parts
    were given the same port."""
    seen: dict[int, str] = {}
    for spec in specs:
        if spec.port is None:
            continue
        if spec.port in seen:
            raise UserInputError(
                f"{spec.port_option} {spec.port}: the same port as the {seen[spec.port]}"
            )
        seen[spec.port] = spec.name
        if port_in_use(host, spec.port):
            raise DependencyError(
                f"port {spec.port} on {host} is already in use: the {spec.name} cannot listen "
                f"there; stop what holds it or pass {spec.port_option} with a free port"
            )


def accepts(host: str, port: int, timeout_s: float = 0.2) -> bool:
    """True when a TCP connection to `host:port` succeeds (the part is serving)."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


def spawn(spec: PartSpec, log_path: Path, environ: Mapping[str, str]) -> subprocess.Popen[bytes]:
    """Start a part in its own session (own process group: Ctrl-C on the terminal reaches
    only `up`, which forwards SIGTERM), output appended to `log_path`, stdin closed."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    env = {**environ, **dict(spec.env), "PYTHONUNBUFFERED": "1"}
    with log_path.open("ab") as log:
        started = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        log.write(f"--- {started} cvntrade up: starting {spec.name}\n".encode())
        log.flush()
        return subprocess.Popen(
            list(spec.argv),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
            preexec_fn=_stop_with_parent if sys.platform.startswith("linux") else None,
        )


def _stop_with_parent() -> None:
    """In the child, before exec (Linux): SIGTERM it when `up` dies without stopping it
    (SIGKILL, a crash), so no part outlives its supervisor unnoticed."""
    import ctypes

    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM, 0, 0, 0)


PR_SET_CHILD_SUBREAPER = 36


def adopt_orphans() -> bool:
    """Make this process the reaper of its descendants' orphans (Linux), so a part's child
    that outlives the part is re-parented here and can be waited for, not left to PID 1.
    False where the platform cannot."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    return bool(ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0)


def reap_orphans(known: Collection[int]) -> list[int]:
    """Collect the exit status of every ended child that is not one of `known` (the parts
    themselves, which their `Popen` objects wait for); returns the pids collected."""
    reaped: list[int] = []
    while True:
        try:
            info = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return reaped
        if info is None or info.si_pid in known:
            return reaped
        os.waitpid(info.si_pid, 0)
        reaped.append(info.si_pid)


def wait_orphans(deadline: float) -> bool:
    """After every part has been waited for: collect the remaining children (orphans adopted
    by `adopt_orphans`, already signalled) until none is left or `deadline` (monotonic) passes.
    True when none is left."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return True
        if pid == 0:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)


def signal_group(pgid: int, sig: signal.Signals) -> bool:
    """Send `sig` to a part's whole process group (its own children included); False when
    the group no longer exists."""
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return False
    return True


def log_size(path: Path) -> int:
    """Current size of a log file (where the next start's output begins)."""
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def last_error_line(path: Path, offset: int) -> str:
    """The part's last `error:` line written after `offset` (else its last line), redacted."""
    try:
        with path.open("rb") as log:
            log.seek(offset)
            text = log.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error:")]
    chosen = errors[-1] if errors else (lines[-1] if lines else "")
    chosen = redact(chosen)
    return chosen if len(chosen) <= REASON_MAX_LEN else chosen[: REASON_MAX_LEN - 1] + "…"


@contextlib.contextmanager
def single_instance(run_dir: Path) -> Iterator[IO[str]]:
    """Hold `run_dir/up.lock` for the life of `up`; a second `up` on the same home is refused
    (exit 3) while the first runs. The lock dies with the process: no stale lock files."""
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / "up.lock"
    with path.open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "?"
            raise ConflictError(
                f"another `cvntrade up` (pid {holder}) is running with this CVN_HOME "
                f"({run_dir.parent}): stop it first (Ctrl-C or SIGTERM)"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        yield handle
