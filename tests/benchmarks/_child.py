"""Run a benchmark snippet in a clean child interpreter and read its peak memory and CPU.

``ru_maxrss`` survives ``execve`` on Linux: a child started from a benchmark process reports the
parent's peak when that is higher (a lazy_load row once read 170.9 MiB both ways that way). The
peak of the child's own address space is ``VmHWM`` in ``/proc/self/status``, which starts afresh
with the new program; that is what is read here.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

_TAIL = """
import json as _json, resource as _resource
def _hwm_kib():
    with open("/proc/self/status") as _status:
        for _line in _status:
            if _line.startswith("VmHWM:"):
                return int(_line.split()[1])
    return _resource.getrusage(_resource.RUSAGE_SELF).ru_maxrss
_usage = _resource.getrusage(_resource.RUSAGE_SELF)
print(_json.dumps({"peak_kib": _hwm_kib(), "cpu_s": _usage.ru_utime + _usage.ru_stime,
                   "result": globals().get("RESULT")}))
"""


def run_child(code: str, *args: str) -> dict[str, object]:
    """Run ``code`` (which may set ``RESULT``) in a fresh interpreter; its peak RSS and CPU."""
    done = subprocess.run(
        [sys.executable, "-c", code + _TAIL, *args],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    figures: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def peak_mib(figures: dict[str, object]) -> float:
    """The child's peak resident memory in MiB."""
    return float(figures["peak_kib"]) / 1024  # type: ignore[arg-type]
