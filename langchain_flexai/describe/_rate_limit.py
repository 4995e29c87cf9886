"""Request pacing of a describe run: an explicit requests-per-minute limit, or the server's.

:class:`RequestRateLimiter`, a sliding window (``--rpm N``): at most N request starts in any
window of W seconds. :class:`HeaderPacer` (no ``--rpm``): paces to the key's tier as FlexAI's
``x-ratelimit-*-requests`` headers report it on every response (docs/flexai_api.md, "Errors").
Both are shared by the threads of a sync run or the tasks of an async run (a lock guards the
state; waiting happens outside it). Knows the three headers and where LangChain puts them
(``response_metadata["headers"]``, with ``include_response_headers``; an HTTP error's
response); knows nothing about images or what a request asks.

Why a sliding window and not a token bucket: FlexAI counts requests per key per minute, and a
bucket refilled at N/60 per second still lets a full bucket's burst land in the same minute as
the refills. With a sliding window no interval of W seconds ever holds more than N starts, so no
fixed or rolling server window can either. A small margin is added to W because the server
counts a request when it arrives, a little after we let it go, and that delay varies.
"""

from __future__ import annotations

import asyncio
import contextvars
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage

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

    def observe(self, _seen: object) -> None:
        """Ignore what came back: an explicit limit wins over the server's headers."""


# -- pacing by the server's x-ratelimit-* headers ----------------------------------------------

LIMIT_HEADER = "x-ratelimit-limit-requests"
REMAINING_HEADER = "x-ratelimit-remaining-requests"
RESET_HEADER = "x-ratelimit-reset-requests"
_RESET_MARGIN_S = 1.0  # the reset is whole seconds; a server may round it down
_MAX_RESET_S = 65.0  # FlexAI's window is a minute; a farther reset is clock skew
_PROBE_POLL_S = 0.05
_STALE_S = 2 * _MAX_RESET_S
_START: contextvars.ContextVar[int] = contextvars.ContextVar("flexai_request_start", default=0)


class StartGate(Protocol):
    """What a describe run asks before each request start and tells after each answer."""

    def try_acquire(self) -> float:
        """0.0 when a request may start now (and it is counted), else seconds to wait."""
        ...

    def pause(self, seconds: float) -> None:
        """Let no request start for ``seconds`` (a 429's ``Retry-After``)."""
        ...

    def observe(self, seen: object) -> None:
        """Learn from an answer (a message) or an error that came back."""
        ...


@dataclass(frozen=True)
class RateLimitHeaders:
    """The ``x-ratelimit-*-requests`` headers of one response (FlexAI sends them on every one)."""

    limit: int | None
    remaining: int | None
    reset: float | None
    """Unix time when the window ends (docs/flexai_api.md: "a Unix timestamp")."""

    @classmethod
    def of(cls, seen: object) -> RateLimitHeaders | None:
        """The headers of a message (``response_metadata["headers"]``) or an HTTP error."""
        headers: object = None
        if isinstance(seen, BaseMessage):
            headers = seen.response_metadata.get("headers")
        elif isinstance(seen, BaseException):
            headers = getattr(getattr(seen, "response", None), "headers", None)
        if not isinstance(headers, Mapping):
            return None
        lowered = {str(k).lower(): v for k, v in headers.items()}
        found = cls(
            _number(lowered.get(LIMIT_HEADER), int),
            _number(lowered.get(REMAINING_HEADER), int),
            _number(lowered.get(RESET_HEADER), float),
        )
        return found if found.remaining is not None or found.limit is not None else None


def _number(value: object, kind: Callable[[str], Any]) -> Any:
    try:
        number = kind(str(value).strip()) if value is not None else None
    except ValueError:
        return None
    return number if number is not None and math.isfinite(number) and number >= 0 else None


class HeaderPacer:
    """Paces request starts to the key's tier, read from the headers of every response.

    FlexAI's limit is per key and per minute (10, 60, 100 or 300), and every response says
    ``x-ratelimit-limit-requests``, ``-remaining-`` and ``-reset-`` (a Unix time). The pacer:

    - lets one request go alone until an answer says how many more may start (the probe);
    - then lets ``remaining`` requests start before ``reset``, less those the count it carries
      may not include yet: every request this run started after the answered one, and those
      that were in flight when it started (under load a request can reach the server after one
      started later); none after that until ``reset`` plus one second (whole-second stamps);
    - after ``reset``, probes again: the next answer gives the new window's count (whatever
      kind of window the server keeps, fixed or rolling).

    An answer without the headers (not FlexAI, or a proxy that drops them) ends pacing: the
    server reports no limit. An error without them lets the next request probe. A 429 is
    still the run's to handle: it pauses every request for ``Retry-After``.
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        """Create a pacer that knows nothing yet (``clock`` monotonic, ``wall_clock`` Unix)."""
        self._clock = clock
        self._wall = wall_clock
        self._lock = threading.Lock()
        self.limit: int | None = None
        """The key's requests per window, as the last answer gave it."""
        self._known = False  # an answer arrived (with or without headers)
        self._unlimited = False  # an answer without the headers: nothing to pace by
        self._budget = 0  # starts allowed before `_reset_at`
        self._reset_at = -math.inf  # monotonic; past it, the budget is stale
        self._basis = 0  # the start number the budget was computed from
        self._probe = 0  # the start number of the request out alone (0: none)
        self._starts = 0
        # Start number -> (when, how many requests were in flight then), until it is observed.
        self._in_flight: dict[int, tuple[float, int]] = {}
        self._paused_until = -math.inf

    def __repr__(self) -> str:
        """Show what was learned."""
        return f"HeaderPacer(limit={self.limit}, budget={self._budget})"

    def try_acquire(self) -> float:
        """Take a start now if the headers allow one; otherwise the seconds to wait."""
        with self._lock:
            now = self._clock()
            if now < self._paused_until:
                return self._paused_until - now
            if self._unlimited:
                return self._start()
            if self._known and now < self._reset_at:
                if self._budget > 0:
                    self._budget -= 1
                    return self._start()
                return self._reset_at - now
            # Nothing known yet, or the window it knew has ended: one request asks.
            if self._probe:
                return _PROBE_POLL_S
            self._probe = self._starts + 1
            return self._start()

    def _start(self) -> float:
        now = self._clock()
        # A request never observed (its task cancelled) must not hold back every later one:
        # past two windows it was counted long ago, or never will be.
        stale = [seq for seq, (when, _) in self._in_flight.items() if now - when > _STALE_S]
        for seq in stale:
            del self._in_flight[seq]
        self._starts += 1
        self._in_flight[self._starts] = (now, len(self._in_flight))
        _START.set(self._starts)  # per thread or task: `observe` finds its own request
        return 0.0

    def pause(self, seconds: float) -> None:
        """Let no request start for ``seconds`` from now (a 429's ``Retry-After``)."""
        with self._lock:
            self._paused_until = max(self._paused_until, self._clock() + max(0.0, seconds))

    def observe(self, seen: object) -> None:
        """Learn from what the request this thread or task last started brought back."""
        own = _START.get()
        headers = RateLimitHeaders.of(seen)
        with self._lock:
            overlapping = self._in_flight.pop(own, (0.0, 0))[1]
            if own and own == self._probe:
                self._probe = 0
            if headers is None:
                if isinstance(seen, BaseMessage):
                    self._known = self._unlimited = True
                return
            now = self._clock()
            if headers.limit is not None:
                self.limit = headers.limit
            remaining = headers.remaining if headers.remaining is not None else headers.limit
            if remaining is None or own < self._basis:
                return  # older news than the budget already computed
            until = 0.0 if headers.reset is None else headers.reset - self._wall()
            reset_at = now + min(max(until, 0.0), _MAX_RESET_S) + _RESET_MARGIN_S
            # What may have reached the server after this request was counted: every later
            # start, and those in flight when it started (arrival order is not start order).
            self._budget = max(0, remaining - (self._starts - own) - overlapping)
            self._reset_at, self._basis = reset_at, own
            self._known, self._unlimited = True, False


def with_response_headers(model: BaseChatModel) -> BaseChatModel:
    """``model``, or a copy that puts the response headers in ``response_metadata``.

    ``include_response_headers`` is langchain-openai's own switch (``ChatFlexAI`` has it);
    a model without it is returned as it is (its answers carry no headers: not paced).
    """
    if "include_response_headers" not in type(model).model_fields:
        return model
    if getattr(model, "include_response_headers", False):
        return model
    return model.model_copy(update={"include_response_headers": True})
