"""Counting this process's open descriptors, for the tests that pools close their sockets."""

from __future__ import annotations

import gc
import time
from pathlib import Path

SLACK = 5
"""Descriptors a test may find open beyond its baseline (logging, the emulator's own)."""


def open_fds() -> int:
    """How many descriptors this process has open (Linux ``/proc``)."""
    return len(list(Path("/proc/self/fd").iterdir()))


def settled_fds(baseline: int) -> int:
    """The open descriptors once the emulator's thread has closed its ends of closed sockets.

    The server side closes when it reads the client's FIN, on its own thread: on a busy machine
    that can lag the client by a moment. Waiting for a condition, not timing anything.
    """
    for _ in range(100):
        gc.collect()
        count = open_fds()
        if count <= baseline + SLACK:
            return count
        time.sleep(0.05)
    return count
