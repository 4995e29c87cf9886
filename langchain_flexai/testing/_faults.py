"""Fault injection and per-key accounting for one emulator.

Covers latency, cut streams, injected failures, the requests-per-minute window and the credit
budget. Knows the state the server consults before answering and how to change it while the server
runs (every method is thread-safe: tests change faults from their own thread while the server
thread reads them). Knows nothing about HTTP or about how replies are computed.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Literal

from langchain_flexai.testing._errors import (
    EmulatedError,
    injected,
    insufficient_quota,
    rate_limited,
)


@dataclass(frozen=True)
class RateLimitState:
    """What the ``x-ratelimit-*`` headers of one response report."""

    limit: int
    remaining: int
    reset: int
    """Unix time (seconds) when the current window ends."""

    def headers(self) -> dict[str, str]:
        """The three ``x-ratelimit-*`` headers."""
        return {
            "x-ratelimit-limit-requests": str(self.limit),
            "x-ratelimit-remaining-requests": str(self.remaining),
            "x-ratelimit-reset-requests": str(self.reset),
        }


@dataclass(frozen=True)
class _Injected:
    status: int
    retry_after: str | None
    message: str | None


def _format_seconds(seconds: float) -> str:
    # Integers print without a fraction ("1", not "1.0"), as real servers send them.
    return str(int(seconds)) if float(seconds).is_integer() else f"{seconds:g}"


class Faults:
    """The fault and accounting knobs of one emulator, adjustable while it runs.

    Attributes are read by the server on every request, so a change applies to the next one.
    """

    def __init__(
        self,
        *,
        latency: float = 0.0,
        cut_stream_after: int | None = None,
        cut_stream_mode: Literal["abort", "close"] = "abort",
        rpm_limit: int = 1000,
        rate_window: float = 60.0,
        credit_budget: float | None = None,
        maintenance: frozenset[str] = frozenset(),
    ) -> None:
        """Create the fault state.

        Args:
            latency: Seconds to wait before answering each request.
            cut_stream_after: Cut streamed responses after this many ``data:`` events (the
                ``[DONE]`` line counts as one); None streams completely.
            cut_stream_mode: ``"abort"`` drops the connection mid-body (the client sees an
                incomplete chunked response, as when a network path fails); ``"close"`` ends
                the body properly but early, without ``finish_reason`` or ``[DONE]`` (as a
                proxy that gives up might).
            rpm_limit: Requests per window (per minute by default) before 429s.
            rate_window: Window length in seconds; 60 is FlexAI's. Shorter windows let tests
                exercise real rate limiting quickly.
            credit_budget: USD the key may spend; once spent, chat completions answer 402.
                None means unlimited.
            maintenance: Model ids answering 503 (under maintenance).
        """
        self._lock = threading.Lock()
        self._latency = 0.0
        self._cut_stream_after: int | None = None
        self.cut_stream_mode: Literal["abort", "close"] = cut_stream_mode
        self._rpm_limit = 1
        self._rate_window = 60.0
        self._credit_budget: float | None = None
        self._spent = 0.0
        self._maintenance: set[str] = set(maintenance)
        self._queue: deque[_Injected] = deque()
        self._window_start = 0.0
        self._window_count = 0
        self.latency = latency
        self.cut_stream_after = cut_stream_after
        self.rpm_limit = rpm_limit
        self.rate_window = rate_window
        self.credit_budget = credit_budget

    # -- simple knobs ------------------------------------------------------------------

    @property
    def latency(self) -> float:
        """Seconds added before every response."""
        return self._latency

    @latency.setter
    def latency(self, value: float) -> None:
        if value < 0 or not math.isfinite(value):
            raise ValueError(f"latency must be a finite number >= 0, got {value!r}")
        self._latency = float(value)

    @property
    def cut_stream_after(self) -> int | None:
        """Data events sent before a stream is cut, or None."""
        return self._cut_stream_after

    @cut_stream_after.setter
    def cut_stream_after(self, value: int | None) -> None:
        if value is not None and value < 0:
            raise ValueError(f"cut_stream_after must be >= 0 or None, got {value!r}")
        self._cut_stream_after = value

    @property
    def rpm_limit(self) -> int:
        """Accepted requests per window before 429."""
        return self._rpm_limit

    @rpm_limit.setter
    def rpm_limit(self, value: int) -> None:
        if value < 1:
            raise ValueError(f"rpm_limit must be >= 1, got {value!r}")
        self._rpm_limit = int(value)

    @property
    def rate_window(self) -> float:
        """Length of the rate-limit window in seconds."""
        return self._rate_window

    @rate_window.setter
    def rate_window(self, value: float) -> None:
        if value <= 0 or not math.isfinite(value):
            raise ValueError(f"rate_window must be a finite number > 0, got {value!r}")
        self._rate_window = float(value)

    @property
    def credit_budget(self) -> float | None:
        """USD the key may spend in total, or None for unlimited."""
        return self._credit_budget

    @credit_budget.setter
    def credit_budget(self, value: float | None) -> None:
        if value is not None and (value < 0 or not math.isfinite(value)):
            raise ValueError(f"credit_budget must be >= 0 or None, got {value!r}")
        self._credit_budget = value

    @property
    def spent(self) -> float:
        """USD spent so far by completed chat completions."""
        with self._lock:
            return self._spent

    def add_credit(self, usd: float) -> None:
        """Top up a limited budget (a 402'd key works again once topped up)."""
        with self._lock:
            if self._credit_budget is not None:
                self._credit_budget += usd

    def set_maintenance(self, model: str, *, under_maintenance: bool = True) -> None:
        """Mark a model as under maintenance (503) or back in service."""
        with self._lock:
            if under_maintenance:
                self._maintenance.add(model)
            else:
                self._maintenance.discard(model)

    def is_under_maintenance(self, model: str) -> bool:
        """Whether requests for ``model`` answer 503."""
        with self._lock:
            return model in self._maintenance

    def fail_next(
        self,
        count: int,
        status: int,
        *,
        retry_after: float | None = None,
        message: str | None = None,
    ) -> None:
        """Fail the next ``count`` authenticated ``/v1`` requests with ``status``.

        Queued behind failures already queued. Each failure uses FlexAI's envelope for that
        status; ``retry_after`` (seconds) adds a ``Retry-After`` header.
        """
        if count < 0:
            raise ValueError(f"count must be >= 0, got {count!r}")
        if not 400 <= status <= 599:  # noqa: PLR2004 - the range of HTTP error codes
            raise ValueError(f"status must be an HTTP error code (400-599), got {status!r}")
        header = None if retry_after is None else _format_seconds(retry_after)
        with self._lock:
            self._queue.extend(_Injected(status, header, message) for _ in range(count))

    @property
    def pending_failures(self) -> int:
        """Injected failures not yet served."""
        with self._lock:
            return len(self._queue)

    def clear(self) -> None:
        """Drop queued failures, latency, stream cuts, maintenance and spending."""
        with self._lock:
            self._queue.clear()
            self._maintenance.clear()
            self._spent = 0.0
            self._window_count = 0
        self.latency = 0.0
        self.cut_stream_after = None

    # -- used by the server ------------------------------------------------------------

    def _roll_window(self, now: float) -> None:
        if now - self._window_start >= self._rate_window:
            self._window_start = now - (now % self._rate_window)
            self._window_count = 0

    def rate_state(self) -> RateLimitState:
        """The current window, for the headers of a response that did not consume it."""
        now = time.time()
        with self._lock:
            self._roll_window(now)
            return self._state_locked()

    def _state_locked(self) -> RateLimitState:
        return RateLimitState(
            limit=self._rpm_limit,
            remaining=max(0, self._rpm_limit - self._window_count),
            reset=math.ceil(self._window_start + self._rate_window),
        )

    def admit(self) -> RateLimitState:
        """Count one authenticated request against the window, or raise the 429.

        Rejected requests do not consume the window.

        Raises:
            EmulatedError: 429 ``rate_limit_exceeded`` with ``Retry-After``.
        """
        now = time.time()
        with self._lock:
            self._roll_window(now)
            if self._window_count >= self._rpm_limit:
                wait = self._window_start + self._rate_window - now
                state = self._state_locked()
                error = rate_limited(self._rpm_limit, str(max(1, math.ceil(wait))))
                error.headers.update(state.headers())
                raise error
            self._window_count += 1
            return self._state_locked()

    def take_injected(self) -> EmulatedError | None:
        """The next queued injected failure, if any (consumes it)."""
        with self._lock:
            if not self._queue:
                return None
            fault = self._queue.popleft()
        return injected(fault.status, fault.message, fault.retry_after)

    def check_credit(self) -> None:
        """Raise the 402 when the budget is spent.

        Raises:
            EmulatedError: 402 ``insufficient_quota``.
        """
        with self._lock:
            if self._credit_budget is not None and self._spent >= self._credit_budget:
                raise insufficient_quota()

    def charge(self, usd: float) -> None:
        """Record the cost of a completed chat completion."""
        with self._lock:
            self._spent += usd


__all__ = ["EmulatedError", "Faults", "RateLimitState"]
