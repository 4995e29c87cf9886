"""A thread-safe LRU cache bounded by the total bytes it holds.

Knows nothing about images: it maps hashable keys to values with a caller-given cost in bytes and
evicts the least recently used entries once the total cost passes the bound.

Keys are the caller's input objects themselves (a ``str`` or ``bytes`` plus settings). Python caches
the hash of a ``str`` on the object and compares identical objects by identity first, so looking up
the very same string a conversation re-sends every turn costs a dictionary probe, not a re-hash of
megabytes of base64.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Generic, TypeVar

_K = TypeVar("_K")
_V = TypeVar("_V")


class ByteBoundedLRU(Generic[_K, _V]):
    """LRU mapping whose entries each carry a cost; the total cost stays within ``max_bytes``."""

    def __init__(self, max_bytes: int) -> None:
        """Create an empty cache holding at most ``max_bytes`` of total cost."""
        self._max_bytes = max_bytes
        self._entries: OrderedDict[_K, tuple[_V, int]] = OrderedDict()
        self._total = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @property
    def max_bytes(self) -> int:
        """The bound on the total cost of the entries."""
        return self._max_bytes

    @property
    def total_bytes(self) -> int:
        """The total cost of the entries held now."""
        return self._total

    def __len__(self) -> int:
        """Number of entries held."""
        return len(self._entries)

    def get(self, key: _K) -> _V | None:
        """Return the value for ``key`` (and mark it recently used), or None."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return entry[0]

    def put(self, key: _K, value: _V, cost: int) -> None:
        """Store ``value``; an entry costing more than the whole bound is not stored."""
        if cost > self._max_bytes:
            return
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._total -= old[1]
            self._entries[key] = (value, cost)
            self._total += cost
            while self._total > self._max_bytes:
                _, (_, evicted_cost) = self._entries.popitem(last=False)
                self._total -= evicted_cost

    def resize(self, max_bytes: int) -> None:
        """Change the bound, evicting least recently used entries as needed."""
        with self._lock:
            self._max_bytes = max_bytes
            while self._total > self._max_bytes and self._entries:
                _, (_, evicted_cost) = self._entries.popitem(last=False)
                self._total -= evicted_cost

    def clear(self) -> None:
        """Drop every entry and reset the hit/miss counters."""
        with self._lock:
            self._entries.clear()
            self._total = 0
            self.hits = 0
            self.misses = 0
