"""The resume key holds everything that decides an answer: endpoint, model, prompt, settings, bytes.

Each test runs a real ``ChatFlexAI`` over a mock transport (no socket) twice against one cache
and counts the requests that reached the "server": a changed part must be asked again, a
transport-only change must not.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from pydantic import BaseModel

from langchain_flexai.describe._key import (
    EMULATOR_API_KEY,
    EMULATOR_ENDPOINT,
    endpoint_identity,
    normalise_base_url,
)
from langchain_flexai.describe._run import ImageDescriber
from langchain_flexai.images._doors import prepare_image
from langchain_flexai.images._policy import ImagePolicy
from tests.unit_tests.wire import WireRecorder

FLEXAI = "https://tokens.flex.ai/v1"
BASE: dict[str, Any] = {"base_url": FLEXAI, "api_key": "sk-test-key"}


class Receipt(BaseModel):
    vendor: str


class Other(BaseModel):
    total: float


def _schema(name: str, field: str) -> dict[str, Any]:
    schema = {"type": "object", "properties": {field: {"type": "string"}}}
    return {"type": "json_schema", "json_schema": {"name": name, "schema": schema}}


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    path = tmp_path / "photo.png"
    Image.new("RGB", (300, 200), (200, 30, 30)).save(path)
    return path


def _describe(
    recorder: WireRecorder,
    cache: Path,
    image: Any,
    *,
    prompt: str = "Describe.",
    detail: str | None = None,
    endpoint: str | None = None,
    **model_kwargs: Any,
) -> str:
    """One describe run; the record's status (``described`` means a request was paid)."""
    model = recorder.model(**{**BASE, **model_kwargs})
    describer = ImageDescriber(
        model, prompt, cache_path=cache, detail=detail, endpoint=endpoint, max_retries=0
    )
    (record,) = describer.describe([image])
    assert record.error is None, record.error
    return record.status


CHANGES: dict[str, dict[str, Any]] = {
    "endpoint": {"base_url": "https://other.example.com/v1"},
    "emulator": {"base_url": "http://127.0.0.1:8123/v1", "api_key": EMULATOR_API_KEY},
    "model": {"model": "gemma-4-31b-it"},
    "temperature": {"temperature": 0.9},
    "max_tokens": {"max_tokens": 16},
    "seed": {"seed": 7},
    "top_p": {"top_p": 0.5},
    "stop": {"stop": ["."]},
    "frequency_penalty": {"frequency_penalty": 0.5},
    "reasoning_effort": {"reasoning_effort": "low"},
    "response_format": {"model_kwargs": {"response_format": {"type": "json_object"}}},
    "response_schema": {"model_kwargs": {"response_format": _schema("receipt", "vendor")}},
    "extra_body": {"extra_body": {"top_k": 5}},
    "image_policy": {"image_policy": ImagePolicy(max_side=64)},
    "prompt": {"prompt": "Describe!"},
    "detail": {"detail": "low"},
}


@pytest.mark.parametrize("change", list(CHANGES), ids=str)
def test_changing_any_part_is_a_miss(photo: Path, tmp_path: Path, change: str) -> None:
    recorder = WireRecorder()
    cache = tmp_path / "c.sqlite"
    image = prepare_image(photo)
    first = {"response_schema": {"model_kwargs": {"response_format": _schema("r", "total")}}}.get(
        change, {}
    )
    assert _describe(recorder, cache, image, **first) == "described"
    assert _describe(recorder, cache, image, **first) == "cached"
    assert _describe(recorder, cache, image, **CHANGES[change]) == "described"
    assert len(recorder.requests) == 2
    # And the first request's answer is still there for the first settings.
    assert _describe(recorder, cache, image, **first) == "cached"


TRANSPORT_ONLY: dict[str, dict[str, Any]] = {
    "streaming": {"streaming": True},
    "max_retries": {"max_retries": 5},
    "timeout": {"timeout": 3.0},
    "api_key": {"api_key": "sk-another-key"},
    "spelling of the base URL": {"base_url": "HTTPS://Tokens.Flex.AI:443/v1/"},
    "FlexAI's other gateway name": {"base_url": "https://api.flex.ai/v1"},
}


@pytest.mark.parametrize("change", list(TRANSPORT_ONLY), ids=str)
def test_what_does_not_change_the_answer_is_a_hit(photo: Path, tmp_path: Path, change: str) -> None:
    recorder = WireRecorder()
    cache = tmp_path / "c.sqlite"
    image = prepare_image(photo)
    assert _describe(recorder, cache, image) == "described"
    if change == "streaming":
        recorder.respond(status=500)  # would fail the run if a request were sent
    assert _describe(recorder, cache, image, **TRANSPORT_ONLY[change]) == "cached"
    assert len(recorder.requests) == 1


def test_the_bytes_sent_are_the_key_not_the_file(photo: Path, tmp_path: Path) -> None:
    recorder = WireRecorder()
    cache = tmp_path / "c.sqlite"
    assert _describe(recorder, cache, prepare_image(photo)) == "described"
    smaller = prepare_image(photo, ImagePolicy(max_side=100))
    assert _describe(recorder, cache, smaller) == "described"
    assert _describe(recorder, cache, prepare_image(photo)) == "cached"
    assert len(recorder.requests) == 2


def test_an_emulator_answer_is_never_a_live_one(photo: Path, tmp_path: Path) -> None:
    # The reported case: captions made with the emulator, then a live run on the same cache.
    recorder = WireRecorder()
    cache = tmp_path / "c.sqlite"
    image = prepare_image(photo)
    emulated = {"base_url": "http://127.0.0.1:40001/v1", "api_key": EMULATOR_API_KEY}
    assert _describe(recorder, cache, image, **emulated) == "described"
    # The emulator's port changes every run; it stays one endpoint.
    again = {"base_url": "http://127.0.0.1:40002/v1", "api_key": EMULATOR_API_KEY}
    assert _describe(recorder, cache, image, **again) == "cached"
    assert _describe(recorder, cache, image) == "described"  # FlexAI: asked, not "cached"
    # Told explicitly (the CLI's --emulator), whatever the key.
    told = {"base_url": "http://127.0.0.1:40003/v1", "endpoint": EMULATOR_ENDPOINT}
    assert _describe(recorder, cache, image, **told) == "cached"
    assert len(recorder.requests) == 2


def test_pydantic_response_schemas_are_keyed_by_their_json_schema() -> None:
    def key(schema: type[BaseModel]) -> str:
        model = WireRecorder().model(**BASE, model_kwargs={"response_format": schema})
        return ImageDescriber(model).request_identity.key

    assert key(Receipt) != key(Other)
    assert key(Receipt) == key(Receipt)


@pytest.mark.parametrize(
    ("base_url", "expected"),
    [
        ("https://tokens.flex.ai/v1", FLEXAI),
        ("HTTPS://TOKENS.flex.ai:443/v1/", FLEXAI),
        ("https://api.flex.ai/v1", FLEXAI),
        ("https://api.flex.ai/v1/", FLEXAI),
        (
            "https://user:secret@proxy.example.com:8443/v1?k=secret#frag",
            "https://proxy.example.com:8443/v1",
        ),
        ("http://localhost:80/v1", "http://localhost/v1"),
        ("http://[::1]:9000/v1", "http://[::1]:9000/v1"),
        ("not a url", "not a url"),
        ("http://host:notaport/v1", "http://host:notaport/v1"),
        ("http://user:secret@host:notaport/v1", "http://host:notaport/v1"),
    ],
)
def test_base_urls_are_normalised(base_url: str, expected: str) -> None:
    assert normalise_base_url(base_url) == expected


@pytest.mark.parametrize(
    ("base_url", "key", "expected"),
    [
        ("http://127.0.0.1:5001/v1", EMULATOR_API_KEY, EMULATOR_ENDPOINT),
        ("http://localhost:5001/v1", EMULATOR_API_KEY, EMULATOR_ENDPOINT),
        ("http://[::1]:5001/v1", EMULATOR_API_KEY, EMULATOR_ENDPOINT),
        # Another local server (vLLM, a proxy): its own URL, port included.
        ("http://127.0.0.1:5001/v1", "sk-local", "http://127.0.0.1:5001/v1"),
        # The emulator's key on a remote host is not the emulator.
        ("https://example.com/v1", EMULATOR_API_KEY, "https://example.com/v1"),
    ],
)
def test_the_emulator_is_recognised_on_loopback_with_its_key(
    base_url: str, key: str, expected: str
) -> None:
    model = WireRecorder().model(base_url=base_url, api_key=key)
    assert endpoint_identity(model) == expected


def test_no_secret_reaches_the_cache_file(photo: Path, tmp_path: Path) -> None:
    recorder = WireRecorder()
    cache = tmp_path / "c.sqlite"
    _describe(
        recorder,
        cache,
        prepare_image(photo),
        base_url="https://user:hunter2-password@proxy.example.com/v1",
        api_key="sk-very-secret-key",
    )
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("c.sqlite*"))
    assert b"proxy.example.com/v1" in stored
    assert b"hunter2" not in stored
    assert b"sk-very-secret" not in stored


@pytest.mark.skipif(importlib.util.find_spec("starlette") is None, reason="needs the testing extra")
def test_the_emulator_key_is_the_emulators_default() -> None:
    from langchain_flexai.testing import DEFAULT_API_KEY  # noqa: PLC0415 - optional extra

    assert EMULATOR_API_KEY == DEFAULT_API_KEY
