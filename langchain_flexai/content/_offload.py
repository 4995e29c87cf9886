"""How many image preparations may run at once off an event loop: one per usable core.

Knows the cores this process may run on and keeps one semaphore per running event loop. Knows
nothing about what the image work is; the caller hops to a thread while holding a slot.
"""

from __future__ import annotations

import asyncio
import os
import weakref

__all__ = ["image_slots", "usable_cores"]

_IMAGE_SLOTS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
    weakref.WeakKeyDictionary()
)


def usable_cores() -> int:
    """The cores this process may run on (a container's CPU set), not the host's count."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS and Windows have no affinity call
        return os.cpu_count() or 2


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
