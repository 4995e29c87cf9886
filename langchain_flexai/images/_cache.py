"""A thread-safe LRU cache bounded by the total bytes it holds, with an optional probation segment.

Knows nothing about images: it maps hashable keys to values with a caller-given cost in bytes and
evicts the least recently used entries once the total cost passes the bound.

Keys are the caller's input objects themselves (a ``str`` or ``bytes`` plus settings). Python caches
the hash of a ``str`` on the object and compares identical objects by identity first, so looking up
the very same string a conversation re-sends every turn costs a dictionary probe, not a re-hash of
megabytes of base64. (A key hashed by a sample of its content was tried: near-identical images,
such as frames or screenshots, then share one hash and every lookup compares them all.)

With ``probation_bytes``, a new entry is held in a small probation segment until it is asked for
again (a segmented LRU, "2Q"): only then does it join the main one. A conversation re-sends its
images, so they are promoted on the second turn and stay; a run that sends thousands of distinct
images once each (a describe run) cycles through the probation segment and never holds more than
its bound, where a plain LRU would keep the whole bound full of images nobody asks for again. The
hashes of the last few thousand keys evicted from probation are remembered (ints, no values): a key
stored again after that goes straight to the main segment, so images too many or too large for
probation are still kept from their second request on.

:func:`not_stored` makes stores in the current context do nothing: a caller that knows each of its
images is used once (a describe run: each image is one request; a loader rendering PDF pages)
says so, instead of making every other caller's conversation pay with a smaller probation.

:func:`only_hits` makes lookups in the current context raise :class:`CacheMiss` instead of
missing, so a caller can try the cheap, all-cached case first and take the slow road (a worker
thread) only when something has to be computed: a structural test, not a timing one.
:func:`header_work_only` is the wider attempt: a miss may be computed as long as the work is a
header walk of a small input; anything heavier announces itself (:func:`uncached_work`) and
raises :class:`CacheMiss` there, before it starts.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Generic, TypeVar

__all__ = [
    "ByteBoundedLRU",
    "CacheMiss",
    "header_work_only",
    "light_work_only",
    "not_stored",
    "only_hits",
    "uncached_work",
]

_K = TypeVar("_K")
_V = TypeVar("_V")

_GHOSTS = 4096  # hashes of keys evicted from probation, remembered (a few hundred KiB at most)

_ONLY_HITS: ContextVar[bool] = ContextVar("langchain_flexai_cache_only_hits", default=False)
_NOT_STORED: ContextVar[bool] = ContextVar("langchain_flexai_cache_not_stored", default=False)
_UNBOUNDED = 1 << 62  # `light_work_only`'s own bound on input bytes: none
# The input bytes a computed miss may read inside `header_work_only` (None: not in that mode).
_HEADER_WORK: ContextVar[int | None] = ContextVar("langchain_flexai_header_work", default=None)


class CacheMiss(Exception):  # noqa: N818 - a signal, never seen by a user
    """A lookup missed inside :func:`only_hits`: the value has to be computed."""


@contextmanager
def only_hits() -> Iterator[None]:
    """Within this block (this context only), a cache miss raises :class:`CacheMiss`.

    Misses raised this way are not counted: the caller computes the value again elsewhere.
    """
    token = _ONLY_HITS.set(True)
    try:
        yield
    finally:
        _ONLY_HITS.reset(token)


@contextmanager
def not_stored() -> Iterator[None]:
    """Within this block (this context, and threads it hands its context to), nothing is stored.

    Lookups still hit what others stored. ``asyncio.to_thread`` copies the context, so an async
    request's preparation in a worker thread is covered too.
    """
    token = _NOT_STORED.set(True)
    try:
        yield
    finally:
        _NOT_STORED.reset(token)


@contextmanager
def header_work_only(max_input_bytes: int) -> Iterator[None]:
    """Within this block (this context only), misses are computed only while the work is light.

    Light: header walks of inputs of at most ``max_input_bytes`` (the content announces its size,
    :func:`uncached_work`); pixel work, PDF pages and fetches raise :class:`CacheMiss` before they
    start, and so does a larger input, before it is decoded. Hits are hits, as everywhere.
    """
    token = _HEADER_WORK.set(max_input_bytes)
    try:
        yield
    finally:
        _HEADER_WORK.reset(token)


@contextmanager
def light_work_only() -> Iterator[bool]:
    """Within this block, a computed miss stops (:class:`CacheMiss`) before any heavier work.

    As :func:`header_work_only` without a size bound of its own. Yields whether a stop means
    heavier work: False inside :func:`header_work_only`, whose size bound still holds (a stop
    may then mean a large input). Inside :func:`only_hits`, where nothing may be computed,
    entering the block raises :class:`CacheMiss`.
    """
    if _ONLY_HITS.get():
        raise CacheMiss
    if _HEADER_WORK.get() is not None:
        yield False
        return
    token = _HEADER_WORK.set(_UNBOUNDED)
    try:
        yield True
    finally:
        _HEADER_WORK.reset(token)


def uncached_work(input_bytes: int | None = None) -> None:
    """Announce work that no cache lookup stands in front of (rendering a PDF, a fetch, pixels).

    ``input_bytes``: the work is a header walk of that many input bytes (None: heavier work).
    Inside :func:`only_hits` it raises :class:`CacheMiss`, and inside :func:`header_work_only`
    too unless the work is a header walk within its bound, so the attempt on the event loop
    gives way to a worker thread before the work starts; elsewhere it does nothing.
    """
    if _ONLY_HITS.get():
        raise CacheMiss
    bound = _HEADER_WORK.get()
    if bound is not None and (input_bytes is None or input_bytes > bound):
        raise CacheMiss


class ByteBoundedLRU(Generic[_K, _V]):
    """LRU mapping whose entries each carry a cost; the total cost stays within ``max_bytes``."""

    def __init__(self, max_bytes: int, *, probation_bytes: int | None = None) -> None:
        """Create an empty cache holding at most ``max_bytes`` of total cost.

        Args:
            max_bytes: Bound on the total cost of all entries.
            probation_bytes: When given, new entries wait in a segment of this bound (it always
                keeps the newest entry) until asked for again; see the module docstring.
        """
        self._max_bytes = max_bytes
        self._probation_bytes = probation_bytes
        self._entries: OrderedDict[_K, tuple[_V, int]] = OrderedDict()
        self._probation: OrderedDict[_K, tuple[_V, int]] = OrderedDict()
        self._total = 0
        self._probation_total = 0
        self._ghosts: OrderedDict[int, None] = OrderedDict()
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
        return len(self._entries) + len(self._probation)

    def get(self, key: _K) -> _V | None:
        """Return the value for ``key`` (and mark it recently used), or None.

        Raises:
            CacheMiss: Instead of returning None, inside :func:`only_hits`.
        """
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
            else:
                entry = self._probation.pop(key, None)
                if entry is not None:  # asked for again: promoted
                    self._probation_total -= entry[1]
                    self._entries[key] = entry
            if entry is None:
                if _ONLY_HITS.get():
                    raise CacheMiss
                self.misses += 1
                return None
            self.hits += 1
            return entry[0]

    def peek(self, key: _K) -> _V | None:
        """The value for ``key`` (marked recently used), or None; never raises, counts nothing.

        For a caller that judges what it finds (an entry keyed by an object's ``id`` holds that
        object, to tell it from a later one with the same id) and counts with :meth:`count`.
        """
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
                return entry[0]
            entry = self._probation.pop(key, None)
            if entry is None:
                return None
            self._probation_total -= entry[1]
            self._entries[key] = entry  # asked for again: promoted
            return entry[0]

    def count(self, *, hit: bool) -> None:
        """Count a hit or a miss judged by the caller of :meth:`peek`."""
        with self._lock:
            if hit:
                self.hits += 1
            else:
                self.misses += 1

    def put(self, key: _K, value: _V, cost: int) -> None:
        """Store ``value``; an entry costing more than the whole bound is not stored.

        Inside :func:`not_stored`, nothing is stored.
        """
        if cost > self._max_bytes or _NOT_STORED.get():
            return
        with self._lock:
            self._discard(key)
            if self._probation_bytes is None or self._was_evicted(key):
                self._entries[key] = (value, cost)
            else:
                self._probation[key] = (value, cost)
                self._probation_total += cost
                while self._probation_total > self._probation_bytes and len(self._probation) > 1:
                    self._evict(self._probation)
            self._total += cost
            self._shrink(keep_newest=True)

    def _discard(self, key: _K) -> None:
        old = self._entries.pop(key, None)
        if old is None:
            old = self._probation.pop(key, None)
            if old is not None:
                self._probation_total -= old[1]
        if old is not None:
            self._total -= old[1]

    def _was_evicted(self, key: _K) -> bool:
        """Whether ``key`` left probation unasked lately (it is being stored a second time)."""
        return self._ghosts.pop(hash(key), False) is None

    def _evict(self, segment: OrderedDict[_K, tuple[_V, int]]) -> None:
        key, (_, cost) = segment.popitem(last=False)
        self._total -= cost
        if segment is self._probation:
            self._probation_total -= cost
            self._ghosts[hash(key)] = None
            if len(self._ghosts) > _GHOSTS:
                self._ghosts.popitem(last=False)

    def _shrink(self, *, keep_newest: bool = False) -> None:
        # Entries still on probation go first (nobody has asked for them twice), but not the one
        # just stored: a put keeps its entry, as a plain LRU does.
        kept = 1 if keep_newest and self._probation_bytes is not None else 0
        while self._total > self._max_bytes:
            if len(self._probation) > kept:
                self._evict(self._probation)
            elif self._entries:
                self._evict(self._entries)
            else:
                break

    def resize(self, max_bytes: int) -> None:
        """Change the bound, evicting least recently used entries as needed."""
        with self._lock:
            self._max_bytes = max_bytes
            self._shrink()

    def clear(self) -> None:
        """Drop every entry and reset the hit/miss counters."""
        with self._lock:
            self._entries.clear()
            self._probation.clear()
            self._ghosts.clear()
            self._total = 0
            self._probation_total = 0
            self.hits = 0
            self.misses = 0
