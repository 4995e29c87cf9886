"""The emulator's embeddings, as pure functions: determinism, the similarity rule, the 400s.

Texts are generated in the tests (random words from a seeded generator), so the rule is checked
on inputs nobody chose to make it pass.
"""

from __future__ import annotations

import base64
import math
import random
import string
import struct
from typing import Any

import pytest

from langchain_flexai.testing import DEFAULT_CATALOG
from langchain_flexai.testing._embeddings import (
    MAX_INPUT_TOKENS,
    MAX_INPUTS,
    MAX_REQUEST_TOKENS,
    embed_text,
    embeddings_body,
    read_embeddings_request,
)
from langchain_flexai.testing._errors import EmulatedError

BGE = next(m for m in DEFAULT_CATALOG if m.id == "bge-m3")
PHI = next(m for m in DEFAULT_CATALOG if m.id == "phi-4-multimodal-instruct")
DIMS = 1024


def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


def words(rng: random.Random, count: int) -> list[str]:
    return ["".join(rng.choices(string.ascii_lowercase, k=rng.randint(4, 9))) for _ in range(count)]


def test_the_catalog_lists_bge_m3_as_flexai_does() -> None:
    assert (BGE.dimensions, BGE.category, BGE.supports) == (1024, "embedding", ("embeddings",))
    assert BGE.context_length == 8192
    assert BGE.openai_entry()["supported_parameters"] == ["encoding_format", "dimensions", "user"]


def test_same_text_same_vector_of_unit_length() -> None:
    rng = random.Random(1)
    for _ in range(20):
        text = " ".join(words(rng, rng.randint(1, 30)))
        vector = embed_text(text, DIMS)
        assert vector == embed_text(text, DIMS)
        assert len(vector) == DIMS
        assert math.isclose(math.fsum(v * v for v in vector), 1.0, abs_tol=1e-4)


def test_vectors_are_pinned_across_processes_and_versions() -> None:
    # BLAKE2b, not hash(): the same floats in every process, whatever its hash seed. "blue" is
    # the word (weight 1) and the trigrams #bl, blu, lue, ue# (1/2 each), normalised by sqrt(2).
    vector = embed_text("blue", DIMS)
    assert {i: v for i, v in enumerate(vector) if v} == {
        368: 0.353553,
        379: -0.707107,
        625: -0.353553,
        668: 0.353553,
        799: 0.353553,
    }


def test_case_and_punctuation_do_not_matter() -> None:
    assert embed_text("Blue sky, over the SEA!", DIMS) == embed_text("blue sky over the sea", DIMS)


def test_texts_sharing_words_are_nearer_than_unrelated_ones() -> None:
    rng = random.Random(2)
    for _ in range(200):
        base = words(rng, rng.randint(3, 12))
        shared = [*rng.sample(base, max(1, len(base) // 2)), *words(rng, 3)]
        unrelated = words(rng, len(base))
        vector = embed_text(" ".join(base), DIMS)
        near = cosine(vector, embed_text(" ".join(shared), DIMS))
        far = cosine(vector, embed_text(" ".join(unrelated), DIMS))
        assert near > far
        assert near > 0.1
        assert abs(far) < 0.25


def test_more_shared_words_means_nearer() -> None:
    rng = random.Random(3)
    for _ in range(100):
        base = words(rng, 8)
        vector = embed_text(" ".join(base), DIMS)
        similarities = [
            cosine(vector, embed_text(" ".join(base[:kept] + words(rng, 8 - kept)), DIMS))
            for kept in (2, 5, 8)
        ]
        assert similarities == sorted(similarities)
        assert math.isclose(similarities[-1], 1.0, abs_tol=1e-4)


def test_word_forms_share_trigrams() -> None:
    rng = random.Random(4)
    for word in words(rng, 100):
        other = words(rng, 1)[0]
        plural = cosine(embed_text(word, DIMS), embed_text(word + "s", DIMS))
        assert plural > cosine(embed_text(word, DIMS), embed_text(other, DIMS))
        assert plural > 0.3


@pytest.mark.parametrize("text", [" ", "...", "?!", "\t\n"])
def test_a_text_without_words_still_gets_its_own_vector(text: str) -> None:
    vector = embed_text(text, DIMS)
    assert max(abs(v) for v in vector) == 1.0
    assert vector != embed_text(text + " ", DIMS)


def body(**fields: Any) -> dict[str, Any]:
    return {"model": "bge-m3", "input": ["hello"], "encoding_format": "float", **fields}


def test_response_shape_usage_and_base64() -> None:
    texts = ["héllo wörld", "abc", "a" * 9]
    request = read_embeddings_request(body(input=texts), "bge-m3", BGE)
    answer = embeddings_body(request)
    tokens = sum(math.ceil(len(t.encode()) / 4) for t in texts)
    assert answer["usage"] == {"prompt_tokens": tokens, "total_tokens": tokens}
    assert [(d["object"], d["index"]) for d in answer["data"]] == [
        ("embedding", i) for i in range(3)
    ]
    assert answer["data"][1]["embedding"] == embed_text("abc", DIMS)
    b64 = embeddings_body(read_embeddings_request(body(encoding_format="base64"), "bge-m3", BGE))
    floats = struct.unpack("<1024f", base64.b64decode(b64["data"][0]["embedding"]))
    assert [round(f, 5) for f in floats] == [round(f, 5) for f in embed_text("hello", DIMS)]
    single = read_embeddings_request(body(input="one text"), "bge-m3", BGE)
    assert single.texts == ("one text",)


BAD_BODIES: dict[str, tuple[dict[str, Any], str, str | None, str]] = {
    "no encoding_format": (
        {"encoding_format": None},
        "encoding_format",
        None,
        "'encoding_format' is required and must be 'float' or 'base64'.",
    ),
    "other encoding": ({"encoding_format": "double"}, "encoding_format", None, "'encoding_format"),
    "no input": ({"input": None}, "input", None, "'input' must be a string or a non-empty array"),
    "empty list": ({"input": []}, "input", None, "'input' must be a string or a non-empty array"),
    "empty text": ({"input": ["a", ""]}, "input", None, "input[1] is an empty string."),
    "token ids": ({"input": [1, 2]}, "input", None, "input[0] is int, not a string: this model"),
    "token arrays": ({"input": [[1, 2]]}, "input", None, "input[0] is list, not a string"),
    "image part": (
        {"input": [{"type": "image_url", "image_url": {"url": "https://x/a.png"}}]},
        "input",
        None,
        "input[0] is dict, not a string: this model embeds text only",
    ),
    "dimensions": ({"dimensions": 256}, "dimensions", None, "'dimensions' must be 1024"),
    "too many": ({"input": ["a"] * (MAX_INPUTS + 1)}, "input", None, "'input' holds 2049 texts"),
    "too long": (
        {"input": ["ok", "abcd" * MAX_INPUT_TOKENS + "x"]},
        "input",
        "context_length_exceeded",
        "input[1] has 8193 tokens; 'bge-m3' takes at most 8192.",
    ),
    "too much": (
        {"input": ["abcd" * MAX_INPUT_TOKENS] * (MAX_REQUEST_TOKENS // MAX_INPUT_TOKENS + 1)},
        "input",
        "context_length_exceeded",
        "The inputs hold more than 300000 tokens",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_BODIES))
def test_bad_bodies_get_a_400_naming_the_field(case: str) -> None:
    fields, param, code, message = BAD_BODIES[case]
    with pytest.raises(EmulatedError) as info:
        read_embeddings_request(body(**fields), "bge-m3", BGE)
    error = info.value
    assert (error.status, error.type, error.param, error.code) == (
        400,
        "invalid_request_error",
        param,
        code,
    )
    assert error.message.startswith(message)


def test_a_chat_model_does_not_embed() -> None:
    with pytest.raises(EmulatedError) as info:
        read_embeddings_request(body(model=PHI.id), PHI.id, PHI)
    assert (info.value.status, info.value.code) == (400, "model_not_embedding")
    assert "'phi-4-multimodal-instruct' is not an embedding model" in info.value.message
