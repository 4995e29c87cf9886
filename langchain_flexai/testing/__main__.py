"""Run the FlexAI emulator as a standalone server: ``python -m langchain_flexai.testing``.

Knows the command-line options and prints the base URL and key to use as shell lines
(``export NAME=value``, quoted for the shell, after a ``#`` comment), so they can be ``eval``ed;
then serves in the foreground until interrupted (Ctrl+C / SIGTERM). Without the ``testing``
extra it prints one line naming it and exits 2. Everything else is ``FlexAIEmulator``'s.
"""

from __future__ import annotations

import argparse
import shlex
import signal
import sys
import threading
from collections.abc import Sequence

from langchain_flexai.testing import MISSING_EXTRA, extra_installed
from langchain_flexai.testing._catalog_data import DEFAULT_API_KEY

_USAGE_ERROR = 2


def ready_lines(base_url: str, api_key: str) -> str:
    """What the server prints once it listens: valid shell, safe to ``eval``."""
    return (
        "# FlexAI emulator ready\n"
        f"export FLEXAI_API_BASE={shlex.quote(base_url)}\n"
        f"export FLEXAI_API_KEY={shlex.quote(api_key)}\n"
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m langchain_flexai.testing",
        description="A local FlexAI emulator (OpenAI-compatible chat completions with vision).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="port; 0 picks a free one")
    parser.add_argument("--api-key", default=DEFAULT_API_KEY, help="the key clients must send")
    parser.add_argument("--rpm", type=int, default=1000, help="requests per minute before 429")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds before each reply")
    parser.add_argument(
        "--credit", type=float, default=None, help="USD budget before 402 (default: unlimited)"
    )
    parser.add_argument(
        "--maintenance",
        action="append",
        default=[],
        metavar="MODEL",
        help="a model id answering 503 (repeatable)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse options, start the emulator and serve until interrupted."""
    if not extra_installed():
        sys.stderr.write(f"python -m langchain_flexai.testing: {MISSING_EXTRA}\n")
        return _USAGE_ERROR
    from langchain_flexai.testing._emulator import FlexAIEmulator  # noqa: PLC0415 - needs the extra

    args = _parser().parse_args(argv)
    emulator = FlexAIEmulator(
        api_key=args.api_key,
        host=args.host,
        port=args.port,
        rpm_limit=args.rpm,
        latency=args.latency,
        credit_budget=args.credit,
        maintenance=args.maintenance,
    )
    stop = threading.Event()
    # SIGTERM (e.g. from a process manager) stops as cleanly as Ctrl+C does.
    signal.signal(signal.SIGTERM, lambda _signum, _frame: stop.set())
    with emulator:
        sys.stdout.write(ready_lines(emulator.base_url, emulator.api_key))
        sys.stdout.flush()
        try:
            # The server runs in its own thread; the main thread just waits for Ctrl+C.
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            sys.stdout.write("# stopping\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
