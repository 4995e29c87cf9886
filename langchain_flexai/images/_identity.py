"""The prepared-image cache's identity road, for large inline inputs.

Knows how a large input (a data URL or base64 of megabytes) is found again by identity: an
entry keyed by ``id(data)`` holds the very object (so a later object given the same id is told
apart) with its prepared image. A fresh large input is first prepared under
``_cache.light_work_only``: when that is a header walk (the image is sent as it is), it never
gets a content key, because hashing 2.7 MB of base64 for the lookup costs about 0.9 ms, as much
as preparing a compliant image again. When pixel work is ahead, the attempt stops before it
starts, the id is marked (a marker holding no object), and the caller looks the input up by
content, so an equal copy (a conversation reloaded from storage) is not rendered twice.

Knows nothing about how images are prepared (the caller hands its computation in) nor about the
content key; only about the cache's entries and modes (``images._cache``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from langchain_flexai.images._cache import ByteBoundedLRU, CacheMiss, light_work_only
from langchain_flexai.images._prepared import PreparedImage

__all__ = ["ENTRY_OVERHEAD", "by_identity", "entry_cost"]

ENTRY_OVERHEAD = 512
"""Rough per-entry bookkeeping cost, in bytes, counted against the cache bound."""


class _Held(NamedTuple):
    """An entry keyed by ``id(data)``: the object itself, and what it was prepared into."""

    data: str | bytes
    image: PreparedImage


_HEAVY = object()
"""The entry for an id whose input needed pixel work: looked up by content from then on."""


def entry_cost(data: str | bytes, result: PreparedImage) -> int:
    """What a cache entry holding ``data`` and ``result`` keeps alive, in bytes."""
    cost = len(data) + ENTRY_OVERHEAD + (0 if result.url is data else len(result.url))
    sent = result._sent  # noqa: SLF001 - the bytes the entry keeps besides its URL
    return cost + (0 if sent is None or sent is data else len(sent))


def by_identity(
    cache: ByteBoundedLRU[tuple[object, ...], Any],
    data: str | bytes,
    settings: tuple[object, ...],
    compute: Callable[[], PreparedImage],
) -> PreparedImage | None:
    """``data`` prepared under ``settings``: held for this object, or light work; None if not.

    None: pixel work is ahead (or was, for this object); look the input up by content.

    Raises:
        CacheMiss: Inside the event loop's attempts (``only_hits``, ``header_work_only``) when
            the input cannot be prepared there: the worker thread that takes over looks it up
            by content, rather than the loop hashing megabytes first.
        ImageInputError: From ``compute``.
    """
    same = ("same", id(data), *settings)
    held = cache.peek(same)
    if isinstance(held, _Held) and held.data is data:
        cache.count(hit=True)
        return held.image
    if held is _HEAVY:
        return None
    stop_means_heavy = False
    try:
        with light_work_only() as stop_means_heavy:
            image = compute()
    except CacheMiss:
        if not stop_means_heavy:
            raise
        cache.put(same, _HEAVY, ENTRY_OVERHEAD)
        return None
    cache.count(hit=False)
    cache.put(same, _Held(data, image), entry_cost(data, image))
    return image
