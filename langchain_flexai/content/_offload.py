"""Where an async request's images are prepared: on the loop when cached, else off it.

Keeps one semaphore per running event loop, sized by the cores this process may run on
(``_env.usable_cores``): at most one image preparation per core runs in worker threads at once.
A request whose images are all in the content cache (or that has none) is prepared on the loop:
the thread hop would cost more than the lookups. That is decided by the cache itself
(``images._cache.only_hits``: the first miss stops the attempt), never by timing. Knows nothing
about what the image work is.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from typing import TypeVar

from langchain_flexai._env import usable_cores
from langchain_flexai.images._cache import CacheMiss, only_hits

__all__ = ["image_slots", "prepare_off_loop"]

_T = TypeVar("_T")

_IMAGE_SLOTS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
    weakref.WeakKeyDictionary()
)


def image_slots() -> asyncio.Semaphore:
    """At most one image job per core at a time, per event loop.

    asyncio's default pool runs up to cpu+4 threads; pixel work in all of them oversubscribes
    the cores and starves the event loop's own thread. Pillow releases the GIL, so one job per
    core already uses the machine fully. The pool itself stays asyncio's, which `asyncio.run`
    shuts down: no threads outlive the loop.
    """
    loop = asyncio.get_running_loop()
    slots = _IMAGE_SLOTS.get(loop)
    if slots is None:
        slots = _IMAGE_SLOTS[loop] = asyncio.Semaphore(usable_cores())
    return slots


async def prepare_off_loop(prepare: Callable[[], _T]) -> _T:
    """``prepare()``: on the loop when every image it needs is cached, else in a worker thread.

    The attempt on the loop stops at the first cache miss, before any image work; the thread
    then prepares from the start (recognising parts again costs microseconds).
    """
    try:
        with only_hits():
            return prepare()
    except CacheMiss:
        pass
    async with image_slots():
        return await asyncio.to_thread(prepare)
