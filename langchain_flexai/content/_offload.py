"""Where an async request's images are prepared: on the loop when that is light, else off it.

Keeps one semaphore per running event loop, sized by the cores this process may run on
(``_env.usable_cores``): at most one image preparation per core runs in worker threads at once.
A request whose images are all in the content cache, small images that are sent as they are (a
header walk: an image already prepared, a describe run's), or none is prepared on the loop: the
thread hop would cost more than the work. That is decided by the work itself
(``images._cache.header_work_only``: pixel work, a PDF page, a fetch or an input over
:data:`ON_LOOP_INPUT_BYTES` stops the attempt before it starts), never by timing. Knows nothing
about what the image work is.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from typing import TypeVar

from langchain_flexai._env import usable_cores
from langchain_flexai.images._cache import CacheMiss, header_work_only

__all__ = ["ON_LOOP_INPUT_BYTES", "image_slots", "prepare_off_loop"]

_T = TypeVar("_T")

ON_LOOP_INPUT_BYTES = 256 * 1024
"""The largest image input the event loop's attempt decodes and walks (base64 decoding and a
header walk: tens of microseconds); a larger one is prepared in a worker thread."""

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
    """``prepare()``: on the loop when its image work is light, else in a worker thread.

    Light: cache hits, and header walks of inputs up to :data:`ON_LOOP_INPUT_BYTES`. The attempt
    on the loop stops before the first heavier step; the thread then prepares from the start
    (what the attempt already prepared is a cache hit there, the rest costs microseconds).
    """
    try:
        with header_work_only(ON_LOOP_INPUT_BYTES):
            return prepare()
    except CacheMiss:
        pass
    async with image_slots():
        return await asyncio.to_thread(prepare)
