"""Shared by the examples: a ChatFlexAI on FlexAI when FLEXAI_API_KEY is set, else offline.

Without a key the examples start the bundled FlexAI emulator (``pip install
"langchain-flexai[testing]"``) in-process: its answers report what it received (image formats,
sizes, colours) instead of understanding it, so every example runs anywhere, deterministically.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from langchain_flexai import ChatFlexAI

IMAGES = Path(__file__).resolve().parent / "images"
"""The small sample images shipped with the examples."""


@contextmanager
def flexai() -> Iterator[Callable[..., ChatFlexAI]]:
    """Yield a factory of ChatFlexAI models: live FlexAI with a key, else the emulator."""
    if os.environ.get("FLEXAI_API_KEY"):
        yield ChatFlexAI
        return
    # Imported only when needed: the emulator is the optional `testing` extra.
    from langchain_flexai.testing import FlexAIEmulator  # noqa: PLC0415

    print("(FLEXAI_API_KEY is not set: running against the bundled FlexAI emulator)\n")
    with FlexAIEmulator() as emulator:

        def model(**kwargs: Any) -> ChatFlexAI:
            return emulator.chat_model(**kwargs)

        yield model
