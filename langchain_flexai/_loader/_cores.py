"""How many CPU cores this process may use: the one answer every worker count starts from.

Knows the standard library's ways of asking (``os.process_cpu_count`` from Python 3.13, the CPU
affinity set on Linux before it, ``os.cpu_count`` elsewhere). Knows nothing about threads or
what runs on them: the loader's pipeline and ChatFlexAI's image slots size themselves from it.
Imports nothing of the package, so any module may use it.
"""

from __future__ import annotations

import os


def usable_cores() -> int:
    """The cores this process may run on (a container's CPU set, not the host's count); >= 1."""
    process_cpu_count = getattr(os, "process_cpu_count", None)  # Python 3.13+
    if process_cpu_count is not None:
        cores: int | None = process_cpu_count()
    else:
        try:
            cores = len(os.sched_getaffinity(0))
        except AttributeError:  # macOS and Windows have no affinity call
            cores = os.cpu_count()
    return max(1, cores or 1)
