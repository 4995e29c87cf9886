"""What every ``flexai-vision`` subcommand shares: exit codes, the connection, one-line errors.

Knows how an error becomes the single line a user reads (FlexAI's own message and hint for API
errors, never the key) and the exit code it maps to. Knows nothing about argparse or images.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import openai

PROG = "flexai-vision"
EXIT_OK = 0
EXIT_IMAGES_FAILED = 1
EXIT_USAGE = 2
EXIT_API = 3


class CliError(Exception):
    """A failure to report as one line on stderr, with an exit code."""

    def __init__(self, message: str, code: int) -> None:
        """Keep the line (without the program name) and the exit code."""
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass(frozen=True)
class Connection:
    """Where requests go."""

    base_url: str
    api_key: str | None
    emulated: bool

    def __repr__(self) -> str:
        """Never show the key."""
        return f"Connection(base_url={self.base_url!r}, emulated={self.emulated})"


def say(line: str) -> None:
    """Write ``flexai-vision: <line>`` to stderr."""
    sys.stderr.write(f"{PROG}: {line}\n")
    sys.stderr.flush()


def api_error(error: openai.OpenAIError, base_url: str) -> CliError:
    """The line and exit code for an error from the openai SDK (already worded by ChatFlexAI)."""
    # Imported here: this module is on `--help`'s import path, which must not load the SDK.
    import openai  # noqa: PLC0415

    from langchain_flexai._transport._errors import root_cause  # noqa: PLC0415

    if isinstance(error, openai.APITimeoutError):
        return CliError(f"no answer from {base_url} in time", EXIT_API)
    if isinstance(error, openai.APIConnectionError):
        return CliError(f"cannot reach {base_url}: {root_cause(error)}", EXIT_API)
    return CliError(str(error), EXIT_API)
