"""Unit-test fixtures: a hermetic environment and an in-process FlexAI stand-in (no sockets)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.unit_tests.wire import WireRecorder

FAKE_KEY = "fake-unit-test-key-0000"


@pytest.fixture(autouse=True)
def hermetic_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No FLEXAI_* or OPENAI_* variable from the developer's shell leaks into a test."""
    for name in list(os.environ):
        if name.startswith(("FLEXAI_", "OPENAI_", "LANGSMITH_", "LANGCHAIN_")):
            monkeypatch.delenv(name, raising=False)
    # The standard suite constructs the model from `chat_model_params` alone in some tests.
    monkeypatch.setenv("FLEXAI_API_KEY", FAKE_KEY)
    # langchain-openai probes the kernel's TCP keepalive options by opening a socket when a
    # client is built; unit tests have no sockets (and no use for keepalive).
    monkeypatch.setenv("LANGCHAIN_OPENAI_TCP_KEEPALIVE", "0")
    yield


@pytest.fixture
def wire() -> WireRecorder:
    """Records every request body and answers as a FlexAI server would (in process)."""
    return WireRecorder()
