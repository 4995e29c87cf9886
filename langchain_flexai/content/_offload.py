"""How many image preparations may run at once off an event loop: one per usable core.

Keeps one semaphore per running event loop, sized by the cores this process may run on
(``_env.usable_cores``). Knows nothing about what the image work is; the caller hops to a thread
while holding a slot.
"""

from __future__ import annotations

import asyncio
import weakref

from langchain_flexai._env import usable_cores

__all__ = ["image_slots"]

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
