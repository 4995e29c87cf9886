"""FlexAIEmbeddings against the emulator over loopback, with the real openai SDK.

The standard `EmbeddingsIntegrationTests` run against the session's target (the emulator, or
live FlexAI when FLEXAI_API_KEY is set); the other tests need the emulator's request log and
faults, so they start one of their own.
"""

from __future__ import annotations

import math
from typing import Any

import httpx
import openai
import pytest
from langchain_core.documents import Document
from langchain_core.vectorstores import InMemoryVectorStore
from langchain_tests.integration_tests import EmbeddingsIntegrationTests

from langchain_flexai import FlexAICreditExhaustedError, FlexAIEmbeddings
from langchain_flexai.testing import FlexAIEmulator
from langchain_flexai.testing._embeddings import embed_text
from tests.integration_tests import _target


class TestFlexAIEmbeddingsStandard(EmbeddingsIntegrationTests):
    @property
    def embeddings_class(self) -> type[FlexAIEmbeddings]:
        return FlexAIEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        target = _target.current()
        return {"model": "bge-m3", "api_key": target.api_key, "base_url": target.base_url}


@pytest.fixture
def emulator() -> Any:
    with FlexAIEmulator() as emu:
        yield emu


def embeddings(emu: FlexAIEmulator, **kwargs: Any) -> FlexAIEmbeddings:
    return FlexAIEmbeddings(api_key=emu.api_key, base_url=emu.base_url, **kwargs)


def _post(emu: FlexAIEmulator, body: dict[str, Any], path: str = "/embeddings") -> httpx.Response:
    return httpx.post(
        f"{emu.base_url}{path}", json=body, headers={"authorization": f"Bearer {emu.api_key}"}
    )


def test_the_wire_and_the_vectors(emulator: FlexAIEmulator) -> None:
    texts = [f"caption {i}: a photo of a blue sky" for i in range(5)]
    vectors = embeddings(emulator, chunk_size=2).embed_documents(texts)
    assert vectors == [embed_text(t, 1024) for t in texts]  # the documented rule, to the float
    bodies = [r.body for r in emulator.requests]
    assert bodies == [
        {"input": texts[0:2], "model": "bge-m3", "encoding_format": "float"},
        {"input": texts[2:4], "model": "bge-m3", "encoding_format": "float"},
        {"input": texts[4:], "model": "bge-m3", "encoding_format": "float"},
    ]
    assert {r.path for r in emulator.requests} == {"/v1/embeddings"}
    assert emulator.requests[0].headers["authorization"] == "<redacted>"


async def test_async_gives_the_same_vectors(emulator: FlexAIEmulator) -> None:
    model = embeddings(emulator)
    assert await model.aembed_documents(["one", "two"]) == model.embed_documents(["one", "two"])
    assert await model.aembed_query("one") == model.embed_query("one")


def test_retrieval_finds_the_text_sharing_words(emulator: FlexAIEmulator) -> None:
    captions = {
        "sunset.jpg": "An orange sunset over a quiet harbour with boats.",
        "sky.webp": "A clear blue sky above green hills.",
        "leaf.png": "A green leaf on a wooden table, close up.",
        "note.jpg": "A yellow sticky note with handwriting, rotated.",
    }
    store = InMemoryVectorStore(embeddings(emulator))
    store.add_documents(
        [Document(text, metadata={"file": name}) for name, text in captions.items()]
    )
    for question, expected in [
        ("Which photo shows the blue sky?", "sky.webp"),
        ("a leaf on a table", "leaf.png"),
        ("boats in the harbour at sunset", "sunset.jpg"),
        ("the handwriting on the note", "note.jpg"),
    ]:
        (best,) = store.similarity_search(question, k=1)
        assert best.metadata["file"] == expected, question


def test_usage_is_counted_and_charged(emulator: FlexAIEmulator) -> None:
    texts = ["héllo wörld", "abc"]
    response = _post(emulator, {"model": "bge-m3", "input": texts, "encoding_format": "float"})
    tokens = sum(math.ceil(len(t.encode()) / 4) for t in texts)
    assert response.json()["usage"] == {"prompt_tokens": tokens, "total_tokens": tokens}
    assert response.json()["model"] == "bge-m3"
    assert response.headers["x-ratelimit-limit-requests"] == "1000"
    assert math.isclose(emulator.faults.spent, tokens * 0.01 / 1_000_000)


def test_no_credit_is_flexais_402(emulator: FlexAIEmulator) -> None:
    emulator.faults.credit_budget = 0.0
    with pytest.raises(FlexAICreditExhaustedError, match=r"^FlexAI error 402: Insufficient"):
        embeddings(emulator).embed_query("x")
    assert len(emulator.requests) == 1  # never retried


def test_429_and_503_are_retried(emulator: FlexAIEmulator) -> None:
    emulator.faults.fail_next(2, 429, retry_after=0.01)
    emulator.faults.fail_next(1, 503, retry_after=0.01)
    assert len(embeddings(emulator).embed_query("x")) == 1024
    assert len(emulator.requests) == 4


def test_a_chat_model_is_refused_with_flexais_envelope(emulator: FlexAIEmulator) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        embeddings(emulator, model="phi-4-multimodal-instruct").embed_query("x")
    assert str(info.value) == (
        "FlexAI error 400 model_not_embedding: Model 'phi-4-multimodal-instruct' is not an "
        "embedding model; use one tagged 'embeddings' (bge-m3)."
    )


def test_an_unknown_model_is_model_not_found(emulator: FlexAIEmulator) -> None:
    with pytest.raises(openai.BadRequestError, match=r"^FlexAI error 400 model_not_found"):
        embeddings(emulator, model="bge-m4").embed_query("x")


@pytest.mark.parametrize(
    ("body", "param", "start"),
    [
        ({"input": ["x"]}, "encoding_format", "'encoding_format' is required"),
        ({"input": [], "encoding_format": "float"}, "input", "'input' must be a string"),
        ({"input": [[1, 2]], "encoding_format": "float"}, "input", "input[0] is list"),
    ],
)
def test_bad_bodies_get_the_envelope(
    emulator: FlexAIEmulator, body: dict[str, Any], param: str, start: str
) -> None:
    response = _post(emulator, {"model": "bge-m3", **body})
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["type"], error["param"]) == ("invalid_request_error", param)
    assert error["message"].startswith(start)


def test_bge_m3_does_not_chat(emulator: FlexAIEmulator) -> None:
    body = {"model": "bge-m3", "messages": [{"role": "user", "content": "hi"}]}
    response = _post(emulator, body, "/chat/completions")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "model_not_chat"


def test_the_catalog_lists_bge_m3(emulator: FlexAIEmulator) -> None:
    models = _post_get(emulator, "/v1/models")["data"]
    entry = next(m for m in models if m["id"] == "bge-m3")
    assert (entry["category"], entry["supports"]) == ("embedding", ["embeddings"])
    public = _post_get(emulator, "/api/models")
    assert next(m for m in public if m["model_name"] == "bge-m3")["category"] == "embedding"


def _post_get(emu: FlexAIEmulator, path: str) -> Any:
    response = httpx.get(f"{emu.url}{path}", headers={"authorization": f"Bearer {emu.api_key}"})
    response.raise_for_status()
    return response.json()


def test_the_sdk_default_is_base64_and_a_missing_field_is_refused(
    emulator: FlexAIEmulator,
) -> None:
    # Why FlexAIEmbeddings always sends encoding_format: left out, the SDK asks for base64
    # (and decodes it); FlexAI's stricter docs page requires the field, as the emulator does.
    client = openai.OpenAI(api_key=emulator.api_key, base_url=emulator.base_url, max_retries=0)
    sent = client.embeddings.create(model="bge-m3", input="a blue sky")
    assert emulator.requests[-1].body["encoding_format"] == "base64"  # type: ignore[index]
    expected = embed_text("a blue sky", 1024)
    assert [round(v, 5) for v in sent.data[0].embedding] == [round(v, 5) for v in expected]
    for body in ({"encoding_format": None}, {}):
        response = _post(emulator, {"model": "bge-m3", "input": "a blue sky", **body})
        assert response.status_code == 400
        assert response.json()["error"]["param"] == "encoding_format"
