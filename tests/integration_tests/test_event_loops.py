"""One ChatFlexAI, many event loops: each `asyncio.run` (or async test) gets a working pool.

langchain-openai's shared async pool belongs to the first loop that used it, so a second
`asyncio.run` fails with "Event loop is closed"; ChatFlexAI's transport keeps a pool per loop.
"""

from __future__ import annotations

import asyncio

from langchain_flexai.testing import FlexAIEmulator


def test_ainvoke_and_astream_across_separate_event_loops(flexai_emulator: FlexAIEmulator) -> None:
    model = flexai_emulator.chat_model()

    async def both() -> tuple[str, str]:
        reply = await model.ainvoke("hello")
        streamed = "".join([c.text async for c in model.astream("hello")])
        return str(reply.content), streamed

    answers = [asyncio.run(both()) for _ in range(4)]
    assert len(set(answers)) == 1
    assert answers[0][0] == answers[0][1]
    assert answers[0][0].startswith("Received 1 message with 1 text part")
    assert len(flexai_emulator.requests) == 8


def test_two_models_on_one_base_url_share_a_pool_per_loop(flexai_emulator: FlexAIEmulator) -> None:
    first = flexai_emulator.chat_model()
    second = flexai_emulator.chat_model(temperature=0)
    assert first.root_async_client._client is second.root_async_client._client

    async def go() -> None:
        await asyncio.gather(first.ainvoke("a"), second.ainvoke("b"))

    asyncio.run(go())
    asyncio.run(go())
    assert len(flexai_emulator.requests) == 4
