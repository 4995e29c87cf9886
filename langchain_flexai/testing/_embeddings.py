"""The emulator's embeddings: ``POST /v1/embeddings`` bodies read, and vectors computed from text.

Knows the request fields of docs/flexai_api.md "Embeddings" (``model``, ``input`` as a string or
an array of strings, ``encoding_format`` — required here, as the stricter of FlexAI's two docs
pages says —, ``dimensions``, ``user``), which catalog models embed (tag ``embeddings``), the
caps one request may ask for, and the deterministic vector rule of docs/emulator.md
"Embeddings": hashed word and character-trigram features, signed, L2-normalised. Produces the
response body or raises the 400 a server sends. Knows nothing about HTTP.

The vector rule, in short: a text's features are its lower-cased words (weight 1) and the
character trigrams of each word padded with ``#`` (weight 1/2 each); each feature lands in one
of the model's dimensions, with a sign, both from its BLAKE2b hash. Equal texts give equal
vectors; texts sharing words (or word stems) have a higher cosine similarity than texts sharing
none, whose similarity is near 0. It is no model of meaning: synonyms share nothing.
"""

from __future__ import annotations

import base64
import hashlib
import math
import re
import struct
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from langchain_flexai.testing._catalog_data import CatalogModel
from langchain_flexai.testing._errors import EmulatedError, invalid_request
from langchain_flexai.testing._request import text_tokens

__all__ = [
    "EMBEDDINGS_TAG",
    "MAX_INPUTS",
    "MAX_INPUT_TOKENS",
    "MAX_REQUEST_TOKENS",
    "EmbeddingsRequest",
    "embed_text",
    "embeddings_body",
    "not_a_chat_model",
    "read_embeddings_request",
]

EMBEDDINGS_TAG = "embeddings"
"""The catalog ``supports`` tag of a model that answers ``/v1/embeddings``."""

MAX_INPUTS = 2048
"""Most texts one request may carry (OpenAI's cap; FlexAI publishes none)."""
MAX_INPUT_TOKENS = 8192
"""Most tokens one text may have: bge-m3's 8K context (docs/flexai_api.md)."""
MAX_REQUEST_TOKENS = 300_000
"""Most tokens all texts of one request may have together (OpenAI's cap; FlexAI publishes none).
With the per-text cap it bounds a request's work: at most 1-3.5 s of CPU (distinct words, the
worst case), which the server spends in a worker thread."""

_ENCODINGS = ("float", "base64")
_WORD = re.compile(r"\w+")
_TRIGRAM_WEIGHT = 0.5
_DECIMALS = 6


@dataclass(frozen=True)
class EmbeddingsRequest:
    """A validated embeddings request, reduced to what the emulator answers from."""

    model: CatalogModel
    requested_model: str
    """The ``model`` string as sent (echoed in the response)."""
    texts: tuple[str, ...]
    encoding_format: str
    dimensions: int
    prompt_tokens: int


def not_a_chat_model(requested: str) -> EmulatedError:
    """The 400 for a chat completion asked of an embedding model."""
    return invalid_request(
        f"Model '{requested}' is an embedding model; send it to POST /v1/embeddings, "
        "or use a chat model for chat completions.",
        param="model",
        code="model_not_chat",
    )


def _texts(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        texts: tuple[Any, ...] = (value,)
    elif isinstance(value, list) and value:
        texts = tuple(value)
    else:
        raise invalid_request(
            "'input' must be a string or a non-empty array of strings.", param="input"
        )
    if len(texts) > MAX_INPUTS:
        raise invalid_request(
            f"'input' holds {len(texts)} texts; at most {MAX_INPUTS} per request.", param="input"
        )
    for index, text in enumerate(texts):
        if not isinstance(text, str):
            # Token arrays are OpenAI's; the emulated models embed text and say so.
            raise invalid_request(
                f"input[{index}] is {type(text).__name__}, not a string: this model embeds "
                "text only (no token arrays, no images).",
                param="input",
            )
        if not text:
            raise invalid_request(f"input[{index}] is an empty string.", param="input")
    return texts


def _too_long(message: str) -> EmulatedError:
    # The code is the one a third-party mirror of FlexAI's docs names (unverified).
    return invalid_request(message, param="input", code="context_length_exceeded")


def read_embeddings_request(
    body: dict[str, Any], requested: str, model: CatalogModel
) -> EmbeddingsRequest:
    """Validate an embeddings body for ``model`` (already looked up in the catalog).

    Raises:
        EmulatedError: the 400 for the first problem found.
    """
    if EMBEDDINGS_TAG not in model.supports or not model.dimensions:
        raise invalid_request(
            f"Model '{requested}' is not an embedding model; use one tagged "
            f"'{EMBEDDINGS_TAG}' (bge-m3).",
            param="model",
            code="model_not_embedding",
        )
    encoding = body.get("encoding_format")
    if encoding not in _ENCODINGS:
        raise invalid_request(
            "'encoding_format' is required and must be 'float' or 'base64'.",
            param="encoding_format",
        )
    dimensions = body.get("dimensions", model.dimensions)
    if dimensions != model.dimensions or isinstance(dimensions, bool):
        raise invalid_request(
            f"'dimensions' must be {model.dimensions} for '{requested}' (or left out): "
            "its vectors have a fixed size.",
            param="dimensions",
        )
    texts = _texts(body.get("input"))
    total = 0
    for index, text in enumerate(texts):
        tokens = text_tokens(text)
        if tokens > MAX_INPUT_TOKENS:
            raise _too_long(
                f"input[{index}] has {tokens} tokens; '{requested}' takes at most "
                f"{MAX_INPUT_TOKENS}."
            )
        total += tokens
        if total > MAX_REQUEST_TOKENS:
            raise _too_long(
                f"The inputs hold more than {MAX_REQUEST_TOKENS} tokens; send fewer per request."
            )
    return EmbeddingsRequest(model, requested, texts, str(encoding), model.dimensions, total)


@lru_cache(maxsize=65_536)
def _slot(feature: str, dimensions: int) -> tuple[int, float]:
    digest = hashlib.blake2b(feature.encode("utf-8"), digest_size=8).digest()
    value = int.from_bytes(digest, "little")
    return value % dimensions, (1.0 if (value >> 63) & 1 else -1.0)


@lru_cache(maxsize=16_384)
def _word_features(word: str, dimensions: int) -> tuple[tuple[int, float], ...]:
    """Where one word's features land: the word itself, then its padded trigrams."""
    index, sign = _slot(f"w:{word}", dimensions)
    features = [(index, sign)]
    padded = f"#{word}#"
    for start in range(len(padded) - 2):
        index, sign = _slot(f"t:{padded[start : start + 3]}", dimensions)
        features.append((index, sign * _TRIGRAM_WEIGHT))
    return tuple(features)


def embed_text(text: str, dimensions: int) -> list[float]:
    """The emulator's vector for ``text``: hashed word and trigram features, unit length.

    A text without a word character (only spaces or punctuation) has one feature, the text
    itself, so it still gets a vector of its own.
    """
    vector = [0.0] * dimensions
    words = Counter(_WORD.findall(text.lower()))  # real texts repeat words: each is hashed once
    if words:
        for word, count in words.items():
            for index, weight in _word_features(word, dimensions):
                vector[index] += weight * count
    else:
        index, sign = _slot(f"s:{text}", dimensions)
        vector[index] = sign
    norm = math.sqrt(math.fsum(v * v for v in vector))
    if norm == 0.0:  # every feature cancelled out (opposite signs in one slot)
        index, sign = _slot(f"s:{text}", dimensions)
        vector[index], norm = sign, 1.0
    return [round(v / norm, _DECIMALS) + 0.0 for v in vector]  # + 0.0: no "-0.0" on the wire


def _encoded(vector: list[float], encoding: str) -> list[float] | str:
    if encoding == "float":
        return vector
    # OpenAI's base64 form: little-endian float32s.
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode("ascii")


def embeddings_body(request: EmbeddingsRequest) -> dict[str, Any]:
    """The ``/v1/embeddings`` response for ``request``, in OpenAI's shape."""
    return {
        "object": "list",
        "data": [
            {
                "object": "embedding",
                "index": index,
                "embedding": _encoded(
                    embed_text(text, request.dimensions), request.encoding_format
                ),
            }
            for index, text in enumerate(request.texts)
        ],
        "model": request.requested_model,
        "usage": {"prompt_tokens": request.prompt_tokens, "total_tokens": request.prompt_tokens},
    }
