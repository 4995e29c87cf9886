"""A sliding-window request limiter: at most N request starts in any window of W seconds.

Knows time and counting; knows nothing about HTTP, models or what a request is. Shared by the
threads of a sync run or the tasks of an async run (a lock guards the state; waiting happens
outside it).

Why a sliding window and not a token bucket: FlexAI counts requests per key per minute, and a
bucket refilled at N/60 per second still lets a full bucket's burst land in the same minute as
the refills. With a sliding window no interval of W seconds ever holds more than N starts, so no
fixed or rolling server window can either. A small margin is added to W because the server
counts a request when it arrives, a little after we let it go, and that delay varies.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections import deque
from collections.abc import Callable

_DEFAULT_MARGIN_FRACTION = 0.02
_MAX_DEFAULT_MARGIN = 1.0


class RequestRateLimiter:
    """Allow at most ``requests`` starts in any ``per_seconds`` window (plus a safety margin).

    Use :meth:`acquire` (threads) or :meth:`aacquire` (asyncio) right before each request, and
    :meth:`pause` when the server answers 429 with ``Retry-After``.

    Raises:
        ValueError: ``requests`` < 1, or a window or margin that is not a finite positive number.
    """

    def __init__(
        self,
        requests: int,
        per_seconds: float = 60.0,
        *,
        margin_seconds: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Create a limiter.

        Args:
            requests: Request starts allowed per window (FlexAI: 10, 60 or 100-300 per minute).
            per_seconds: The window length; FlexAI's is 60.
            margin_seconds: Added to the window to absorb the varying delay between our start
                and the server's count. Default: 2% of the window, at most one second.
            clock: A monotonic clock (tests may pass a fake one).
        """
        if isinstance(requests, bool) or not isinstance(requests, int) or requests < 1:
            raise ValueError(f"requests must be an int >= 1, got {requests!r}")
        if not (math.isfinite(per_seconds) and per_seconds > 0):
            raise ValueError(f"per_seconds must be a finite number > 0, got {per_seconds!r}")
        if margin_seconds is None:
            margin_seconds = min(_MAX_DEFAULT_MARGIN, per_seconds * _DEFAULT_MARGIN_FRACTION)
        if not (math.isfinite(margin_seconds) and margin_seconds >= 0):
            raise ValueError(f"margin_seconds must be a finite number >= 0, got {margin_seconds!r}")
        self.requests = requests
        self.per_seconds = float(per_seconds)
        self.margin_seconds = float(margin_seconds)
        self._window = self.per_seconds + self.margin_seconds
        self._clock = clock
        self._lock = threading.Lock()
        # The start times of the last `requests` starts, oldest first.
        self._starts: deque[float] = deque(maxlen=requests)
        self._paused_until = -math.inf

    @classmethod
    def per_minute(cls, requests: int) -> RequestRateLimiter:
        """A limiter for FlexAI's per-key requests-per-minute limit."""
        return cls(requests, 60.0)

    def __repr__(self) -> str:
        """Show the limit."""
        return (
            f"RequestRateLimiter(requests={self.requests}, per_seconds={self.per_seconds:g}, "
            f"margin_seconds={self.margin_seconds:g})"
        )

    def try_acquire(self) -> float:
        """Take a slot now if one is free; otherwise return the seconds until one may be.

        Returns:
            0.0 when a slot was taken (a request may start now), else a positive wait.
        """
        with self._lock:
            now = self._clock()
            ready_at = self._paused_until
            if len(self._starts) == self.requests:
                ready_at = max(ready_at, self._starts[0] + self._window)
            if now >= ready_at:
                self._starts.append(now)
                return 0.0
            return ready_at - now

    def acquire(self) -> None:
        """Block the calling thread until a request may start, and count it."""
        while (wait := self.try_acquire()) > 0:
            time.sleep(wait)

    async def aacquire(self) -> None:
        """Wait (without blocking the event loop) until a request may start, and count it."""
        # Polling at the exact wake-up time is simpler than an Event here: the slot frees by
        # the passage of time, not by another task's action.
        while (wait := self.try_acquire()) > 0:  # noqa: ASYNC110
            await asyncio.sleep(wait)

    def pause(self, seconds: float) -> None:
        """Let no request start for ``seconds`` from now (a 429's ``Retry-After``)."""
        with self._lock:
            self._paused_until = max(self._paused_until, self._clock() + max(0.0, seconds))
