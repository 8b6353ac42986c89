"""A stop request that a signal handler may set: how long-running commands stop cleanly.

`cvntrade trade serve` and `cvntrade up` install `StopFlag.set` as their SIGTERM/SIGINT handler
and look at the flag between two units of work (a committed block, a supervision tick), so a
stop never interrupts a write half-way. A plain attribute, not a `threading.Event`: setting an
Event from a signal handler can deadlock when the main thread holds its lock.
"""

from __future__ import annotations


class StopFlag:
    """Set by a signal handler, read between units of work; counts the signals received."""

    def __init__(self) -> None:
        self.requested = False
        self.signals = 0

    def set(self, *_: object) -> None:
        """Request a stop (usable directly as a `signal.signal` handler)."""
        self.requested = True
        self.signals += 1

    def is_set(self) -> bool:
        """True once a stop was requested."""
        return self.requested
