"""Requests go through the proxy the environment names, sync and async, chat and embeddings.

The emulator stands in for the proxy: for a plain-HTTP origin a forward proxy receives the
request with the origin's absolute URL, which the emulator answers itself. The origin's host does
not resolve, so an answer means the proxy carried the request.
"""

from __future__ import annotations

import asyncio
import gc
import warnings
from collections.abc import Iterator

import pytest

from langchain_flexai import ChatFlexAI, FlexAIEmbeddings
from langchain_flexai.testing import FlexAIEmulator

ORIGIN = "http://flexai.invalid/v1"


@pytest.fixture
def emulator_as_proxy(monkeypatch: pytest.MonkeyPatch) -> Iterator[FlexAIEmulator]:
    with FlexAIEmulator() as emulator:
        for name in ("HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "https_proxy", "no_proxy"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("HTTP_PROXY", emulator.base_url.removesuffix("/v1"))
        yield emulator


def test_chat_requests_go_through_the_environment_proxy(
    emulator_as_proxy: FlexAIEmulator,
) -> None:
    model = ChatFlexAI(api_key=emulator_as_proxy.api_key, base_url=ORIGIN, max_retries=0)
    assert model.invoke("Hello").content
    assert asyncio.run(model.ainvoke("Hello")).content
    seen = [(r.path, r.headers["host"]) for r in emulator_as_proxy.requests]
    assert seen == [("/v1/chat/completions", "flexai.invalid")] * 2


def test_embeddings_go_through_the_environment_proxy(
    emulator_as_proxy: FlexAIEmulator,
) -> None:
    embeddings = FlexAIEmbeddings(api_key=emulator_as_proxy.api_key, base_url=ORIGIN)
    assert len(embeddings.embed_query("a cat")) > 0
    assert len(asyncio.run(embeddings.aembed_query("a dog"))) > 0
    assert [r.headers["host"] for r in emulator_as_proxy.requests] == ["flexai.invalid"] * 2


def test_a_proxied_model_works_across_event_loops(emulator_as_proxy: FlexAIEmulator) -> None:
    """Its async pools are per loop, as the shared ones are: no "Event loop is closed"."""
    model = ChatFlexAI(api_key=emulator_as_proxy.api_key, base_url=ORIGIN, max_retries=0)
    gc.collect()  # what earlier tests left (their models' sync pools) is not this test's
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        for _ in range(3):
            assert asyncio.run(model.ainvoke("Hello")).content
        gc.collect()
    assert [str(w.message) for w in caught if w.category is ResourceWarning] == []
    assert len(emulator_as_proxy.requests) == 3
