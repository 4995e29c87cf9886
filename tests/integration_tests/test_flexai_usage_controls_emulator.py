"""Cached-token usage, reasoning controls, the n guard, the User-Agent and rate-limit pacing,
end to end against the emulator over loopback with the real openai SDK.

The emulator's rules (docs/emulator.md): a repeated message prefix of at least 1024 prompt
tokens is reported as ``cache_read_input_tokens``, the rest of the prompt as
``cache_creation_input_tokens``; ``n`` other than 1 is a 400; every response carries the
``x-ratelimit-*-requests`` headers of its fixed window.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
from langchain_core.messages import HumanMessage, SystemMessage

from langchain_flexai import ImageDescriber, __version__, prepare_image
from langchain_flexai.catalog import FlexAICatalog, usage_cost
from langchain_flexai.errors import ModelCapabilityError
from langchain_flexai.testing import FlexAIEmulator
from tests.unit_tests.loader_samples import save_image

# 4096 ASCII characters: 1024 tokens by the emulator's rule, plus 4 for the message.
SYSTEM = SystemMessage("You describe photographs for a catalogue. " * 100)
SYSTEM = SystemMessage(str(SYSTEM.content)[:4096])
SYSTEM_TOKENS = 1028


@pytest.fixture
def emulator() -> Iterator[FlexAIEmulator]:
    with FlexAIEmulator() as server:
        yield server


def _chat_bodies(emulator: FlexAIEmulator) -> list[dict[str, object]]:
    return [r.body for r in emulator.requests if r.path == "/v1/chat/completions"]


# -- cached tokens -------------------------------------------------------------------------------


def test_a_repeated_prefix_shows_as_cached_tokens_on_invoke_and_stream(
    emulator: FlexAIEmulator,
) -> None:
    model = emulator.chat_model(temperature=0)
    first = model.invoke([SYSTEM, HumanMessage("What is a still life?")])
    assert first.usage_metadata is not None
    assert "cache_read" not in first.usage_metadata.get("input_token_details", {})

    second = model.invoke([SYSTEM, HumanMessage("And a landscape?")])
    usage = second.usage_metadata
    assert usage is not None
    assert usage["input_token_details"] == {
        "cache_read": SYSTEM_TOKENS,
        "cache_creation": usage["input_tokens"] - SYSTEM_TOKENS,
    }

    full = None
    for chunk in model.stream([SYSTEM, HumanMessage("And a portrait?")]):
        full = chunk if full is None else full + chunk
    assert full is not None
    assert full.usage_metadata is not None
    assert full.usage_metadata["input_token_details"]["cache_read"] == SYSTEM_TOKENS

    async def astream_usage() -> dict[str, int]:
        total = None
        async for piece in model.astream([SYSTEM, HumanMessage("A seascape?")]):
            total = piece if total is None else total + piece
        assert total is not None
        assert total.usage_metadata is not None
        return dict(total.usage_metadata["input_token_details"])

    assert asyncio.run(astream_usage())["cache_read"] == SYSTEM_TOKENS


def test_a_short_repeated_prefix_is_not_cached(emulator: FlexAIEmulator) -> None:
    model = emulator.chat_model()
    for _ in range(2):
        usage = model.invoke([SystemMessage("Be brief."), HumanMessage("hi")]).usage_metadata
        assert usage is not None
        assert usage.get("input_token_details", {}) == {}


def test_cost_of_a_cached_request_matches_what_the_emulator_charged(
    emulator: FlexAIEmulator,
) -> None:
    model = emulator.chat_model(model="gemma-4-31b-it")
    model.invoke([SYSTEM, HumanMessage("first")])
    before = emulator.faults.spent
    usage = model.invoke([SYSTEM, HumanMessage("second")]).usage_metadata
    assert usage is not None
    charged = emulator.faults.spent - before
    catalog = FlexAICatalog(base_url=emulator.base_url, api_key=emulator.api_key)
    info = catalog.get_model("gemma-4-31b-it")
    assert info.cached_input_per_mtok == 0.035
    assert usage_cost(usage, info) == pytest.approx(charged)
    # and less than the same tokens at the full input price
    assert usage_cost({**usage, "input_token_details": {}}, info) > charged


# -- reasoning controls and n --------------------------------------------------------------------


def test_thinking_off_reaches_a_hybrid_model(emulator: FlexAIEmulator) -> None:
    emulator.chat_model(model="gemma-4-31b-it", thinking=False).invoke("hi")
    assert _chat_bodies(emulator)[-1]["thinking"] == {"type": "disabled"}


def test_thinking_off_for_an_always_thinking_model_is_refused(emulator: FlexAIEmulator) -> None:
    # check_capabilities=True fetches the catalog, which tags gpt-oss-120b always_thinking.
    model = emulator.chat_model(model="gpt-oss-120b", check_capabilities=True)
    with pytest.raises(ModelCapabilityError, match="always thinks"):
        model.invoke("hi", thinking=False)
    assert _chat_bodies(emulator) == []
    model.invoke("hi", reasoning_effort="low")
    assert _chat_bodies(emulator)[-1]["reasoning_effort"] == "low"


def test_the_emulator_answers_400_to_n_above_one(emulator: FlexAIEmulator) -> None:
    client = openai.OpenAI(base_url=emulator.base_url, api_key=emulator.api_key, max_retries=0)
    with pytest.raises(openai.BadRequestError, match="'n' must be 1"):
        client.chat.completions.create(
            model="phi-4-multimodal-instruct", messages=[{"role": "user", "content": "x"}], n=2
        )


# -- User-Agent ----------------------------------------------------------------------------------


def test_user_agent_bytes_from_chat_and_catalog(emulator: FlexAIEmulator) -> None:
    token = f"langchain-flexai/{__version__}"
    emulator.chat_model().invoke("hi")
    asyncio.run(emulator.chat_model().ainvoke("hi"))
    FlexAICatalog(base_url=emulator.base_url, api_key=emulator.api_key).list_models()
    agents = {(r.path, r.headers["user-agent"]) for r in emulator.requests}
    assert agents == {
        ("/v1/chat/completions", f"OpenAI/Python {openai.__version__} {token}"),
        ("/v1/chat/completions", f"AsyncOpenAI/Python {openai.__version__} {token}"),
        ("/api/models", f"python-httpx/{__import__('httpx').__version__} {token}"),
        ("/v1/models", f"python-httpx/{__import__('httpx').__version__} {token}"),
    }


# -- describe paced by the rate-limit headers ----------------------------------------------------


def _images(root: Path, count: int) -> list[object]:
    paths = [save_image(root / f"{i:03d}.png", (16 + i, 16), fmt="PNG") for i in range(count)]
    return [prepare_image(p) for p in paths]


def test_describe_paces_itself_by_the_headers_with_zero_429s(tmp_path: Path) -> None:
    # 4 requests per 1-second window, 8 in flight allowed, no --rpm, no retries anywhere: a
    # single 429 would stop the run (a rate-limit error with no retry left is fatal).
    images = _images(tmp_path, 12)
    with FlexAIEmulator(rpm_limit=4, rate_window=1.0) as emulator:
        model = emulator.chat_model(max_retries=0)
        describer = ImageDescriber(model, max_concurrency=8, max_retries=0)
        records = list(describer.describe(images))  # type: ignore[arg-type]
        sent = len(emulator.requests)
    assert [r.status for r in records] == ["described"] * 12
    assert sent == describer.report.requests == 12


def test_adescribe_paces_itself_by_the_headers_with_zero_429s(tmp_path: Path) -> None:
    images = _images(tmp_path, 9)
    with FlexAIEmulator(rpm_limit=3, rate_window=1.0) as emulator:
        describer = ImageDescriber(
            emulator.chat_model(max_retries=0), max_concurrency=6, max_retries=0
        )

        async def run() -> list[str]:
            return [r.status async for r in describer.adescribe(images)]  # type: ignore[arg-type]

        statuses = asyncio.run(run())
        sent = len(emulator.requests)
    assert statuses == ["described"] * 9
    assert sent == 9
