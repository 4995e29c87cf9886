"""The ``flexai_emulator`` pytest fixture, registered through the ``pytest11`` entry point.

Knows only how to hand a test a running ``FlexAIEmulator`` and stop it afterwards. Importing
this module imports nothing beyond pytest, so installing langchain-flexai without the
``testing`` extra never breaks an unrelated pytest run; the extra is needed only when a test
asks for the fixture.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from langchain_flexai.testing import FlexAIEmulator


@pytest.fixture
def flexai_emulator() -> Iterator[FlexAIEmulator]:
    """A fresh FlexAI emulator on 127.0.0.1, stopped after the test.

    Each test gets its own server (its own request log, faults, rate window and credit).
    """
    from langchain_flexai.testing import FlexAIEmulator  # noqa: PLC0415 - optional extra

    with FlexAIEmulator() as emulator:
        yield emulator
