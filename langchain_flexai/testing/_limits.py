"""What one request may cost the emulator, and the bounded log of the requests it received.

Knows the caps (body bytes, JSON nesting and values, seconds a slow client may take, how much
of the request log is kept) and how to check a raw body against them before and after it is
parsed. Users run the emulator in their CI: a single odd request must not block its event loop,
run it out of memory or log a traceback. Knows nothing about HTTP frameworks; the server reads
the body and calls in here. Schema-generated answers have their own caps in ``_schema``.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any

from langchain_flexai.testing._errors import EmulatedError, invalid_request

_MIB = 1024 * 1024
_BYTES_PER_VALUE = 64
"""Roughly what one parsed JSON value holds in memory (a dict is 64 bytes, a float 24)."""


@dataclass(frozen=True)
class Limits:
    """Caps on what one request may cost; every value is documented in docs/emulator.md."""

    max_body_bytes: int = 32 * _MIB
    """A larger body is refused with 413 (from ``Content-Length``, or while it streams)."""
    max_json_depth: int = 100
    """Deeper nesting of arrays and objects is refused with 400."""
    max_json_values: int = 1_000_000
    """More JSON values than this is refused with 400 before parsing; the count is an upper
    bound (commas and brackets inside strings count too), so a body is never parsed into more."""
    header_timeout: float = 10.0
    """Seconds a client has to send a request's headers; then the connection is closed."""
    body_timeout: float = 10.0
    """Seconds the body may stall between two reads before a 408."""
    keep_alive_timeout: int = 5
    """Seconds an idle kept-alive connection stays open (uvicorn's ``timeout_keep_alive``)."""
    max_logged_requests: int = 10_000
    """``emulator.requests`` keeps the most recent this many requests."""
    max_logged_bytes: int = 64 * _MIB
    """Bodies kept in the log weigh at most about this much (size plus 64 bytes per JSON value);
    beyond it the oldest bodies are dropped (``body=None``, ``body_dropped=True``). The newest
    request always keeps its body."""

    def __post_init__(self) -> None:
        """Refuse values that would disable a cap by accident."""
        for name in ("max_body_bytes", "max_json_depth", "max_json_values", "max_logged_requests"):
            if getattr(self, name) < 1:
                raise ValueError(f"Limits.{name} must be at least 1")
        for name in ("header_timeout", "body_timeout", "keep_alive_timeout"):
            if not getattr(self, name) > 0:
                raise ValueError(f"Limits.{name} must be positive")
        if self.max_logged_bytes < 0:
            raise ValueError("Limits.max_logged_bytes must not be negative")


def body_too_large(limit: int) -> EmulatedError:
    """The 413 for a body over ``Limits.max_body_bytes``; the connection is then closed."""
    return EmulatedError(
        413,
        f"The request body exceeds the emulator's limit of {limit} bytes "
        "(FlexAIEmulator(limits=Limits(max_body_bytes=...)) raises it).",
        type_="invalid_request_error",
        code="request_too_large",
        headers={"connection": "close"},
    )


def body_timed_out(seconds: float) -> EmulatedError:
    """The 408 for a body that stalled longer than ``Limits.body_timeout``."""
    return EmulatedError(
        408,
        f"The request body stalled for more than {seconds:g} seconds.",
        type_="timeout_error",
        code="request_timeout",
        headers={"connection": "close"},
    )


def _too_complex(reason: str) -> EmulatedError:
    return invalid_request(f"The request body is not accepted: {reason}.", code="invalid_json")


def parse_body(raw: bytes | bytearray, limits: Limits) -> tuple[Any, int]:
    """Parse a JSON body within the caps; returns the value and its estimated value count.

    Raises:
        EmulatedError: 400 for invalid JSON, too many values or nesting deeper than the cap.
    """
    # bytes.count runs in C: an upper bound of the value count (each value after the first
    # in a container follows a comma) costs milliseconds even for the largest body allowed,
    # while parsing "[{},{},...]" would cost about 20 bytes of memory per byte received.
    containers = raw.count(b"[") + raw.count(b"{")
    values = 1 + raw.count(b",") + containers
    if values > limits.max_json_values:
        raise _too_complex(
            f"it may hold up to {values} JSON values, more than the limit of "
            f"{limits.max_json_values}"
        )
    try:
        body = json.loads(raw, parse_constant=_refuse_constant)
    except RecursionError:
        raise _too_complex(f"JSON nested deeper than {limits.max_json_depth} levels") from None
    except (ValueError, UnicodeDecodeError):
        raise invalid_request("The request body is not valid JSON.") from None
    # Nesting never exceeds the number of brackets: a small body skips the walk.
    if containers > limits.max_json_depth and _depth_exceeds(body, limits.max_json_depth):
        raise _too_complex(f"JSON nested deeper than {limits.max_json_depth} levels")
    return body, values


def _refuse_constant(name: str) -> Any:
    # NaN and Infinity are not JSON; Python's parser would accept them and echo them back.
    raise ValueError(name)


def _depth_exceeds(value: Any, limit: int) -> bool:
    # Iterative, so the check itself cannot recurse; the value count is already capped.
    if not isinstance(value, (dict, list)):
        return False
    stack: list[tuple[dict[str, Any] | list[Any], int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        children = item.values() if isinstance(item, dict) else item
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


@dataclass
class _Entry:
    record: RecordedRequest
    weight: int


@dataclass(frozen=True)
class RecordedRequest:
    """One request the emulator received, with secrets redacted."""

    method: str
    path: str
    headers: MappingProxyType[str, str]
    """Lower-cased header names; ``authorization`` and API-key headers read ``<redacted>``."""
    body: Any
    """The parsed JSON body, or None when there was none, it was refused before parsing (not
    JSON, too large, too deep) or it was dropped from the bounded log (``body_dropped``)."""
    size: int = 0
    """How many body bytes arrived (0 for a body refused with 413 or 408)."""
    body_dropped: bool = False
    """True when the log dropped this body to stay within ``Limits.max_logged_bytes``."""

    @property
    def image_urls(self) -> list[str]:
        """Every ``image_url.url`` in the body's messages, in order."""
        urls: list[str] = []
        messages = self.body.get("messages") if isinstance(self.body, dict) else None
        for message in messages or []:
            content = message.get("content") if isinstance(message, dict) else None
            for part in content if isinstance(content, list) else []:
                image = part.get("image_url") if isinstance(part, dict) else None
                if isinstance(image, dict) and isinstance(image.get("url"), str):
                    urls.append(image["url"])
        return urls


class RequestLog:
    """The most recent requests, bounded in count and in the weight of the bodies kept."""

    def __init__(self, limits: Limits) -> None:
        """An empty log bounded by ``limits``."""
        self.limits = limits
        self._lock = threading.Lock()
        self._entries: deque[_Entry] = deque()
        self._weighted: deque[_Entry] = deque()  # entries still holding a body, oldest first
        self._weight = 0

    @staticmethod
    def weight(size: int, values: int) -> int:
        """What a body of ``size`` bytes and ``values`` JSON values counts against the log."""
        return size + _BYTES_PER_VALUE * values if size else 0

    def append(self, record: RecordedRequest, weight: int) -> None:
        """Add ``record``, then evict old entries and drop old bodies beyond the caps."""
        entry = _Entry(record, weight if record.body is not None else 0)
        with self._lock:
            if len(self._entries) >= self.limits.max_logged_requests:
                oldest = self._entries.popleft()
                if oldest.weight:
                    self._weighted.popleft()  # the oldest weighted entry is this one
                    self._weight -= oldest.weight
            self._entries.append(entry)
            if entry.weight:
                self._weighted.append(entry)
                self._weight += entry.weight
            while self._weight > self.limits.max_logged_bytes and len(self._weighted) > 1:
                dropped = self._weighted.popleft()
                self._weight -= dropped.weight
                dropped.weight = 0
                dropped.record = replace(dropped.record, body=None, body_dropped=True)

    def records(self) -> list[RecordedRequest]:
        """The kept records, oldest first."""
        with self._lock:
            return [entry.record for entry in self._entries]

    @property
    def kept_weight(self) -> int:
        """The total weight of the bodies still kept."""
        with self._lock:
            return self._weight

    def clear(self) -> None:
        """Forget every record."""
        with self._lock:
            self._entries.clear()
            self._weighted.clear()
            self._weight = 0
