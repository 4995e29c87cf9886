"""The emulator's wire protocol as plain httpx and the raw openai SDK see it.

Status codes, error envelopes, x-ratelimit-* headers, SSE framing and catalog shapes, each
checked against docs/flexai_api.md. These always run on the emulator (they test it).
"""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import openai
import pytest

from langchain_flexai.testing import FlexAIEmulator
from tests.integration_tests._target import data_url, image_bytes

MODEL = "phi-4-multimodal-instruct"
HELLO_REPLY = "Received 1 message with 1 text part and 0 images."


def _post(emu: FlexAIEmulator, body: Any, *, key: str | None = None) -> httpx.Response:
    return httpx.post(
        f"{emu.base_url}/chat/completions",
        json=body,
        headers={"Authorization": f"Bearer {key or emu.api_key}"},
    )


def _hello(**extra: Any) -> dict[str, Any]:
    return {"model": MODEL, "messages": [{"role": "user", "content": "Hello"}], **extra}


def _events(response: httpx.Response) -> list[str]:
    text = response.text
    assert text.endswith("\n\n")
    return text[:-2].split("\n\n")


def _chunks(events: list[str]) -> list[dict[str, Any]]:
    assert all(event.startswith("data: ") for event in events)
    assert events[-1] == "data: [DONE]"
    return [json.loads(event.removeprefix("data: ")) for event in events[:-1]]


class TestCompletionJson:
    def test_exact_response(self, flexai_emulator: FlexAIEmulator) -> None:
        response = _post(flexai_emulator, _hello())
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json"
        body = response.json()
        assert body["id"].startswith("chatcmpl-")
        assert isinstance(body["created"], int)
        assert {k: v for k, v in body.items() if k not in {"id", "created"}} == {
            "object": "chat.completion",
            "model": MODEL,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": HELLO_REPLY},
                    "logprobs": None,
                    "finish_reason": "stop",
                }
            ],
            # prompt: 4 per message + ceil(5 bytes / 4); completion: ceil(49 bytes / 4)
            "usage": {"prompt_tokens": 6, "completion_tokens": 13, "total_tokens": 19},
        }

    def test_same_request_same_answer(self, flexai_emulator: FlexAIEmulator) -> None:
        first = _post(flexai_emulator, _hello()).json()
        second = _post(flexai_emulator, _hello()).json()
        assert first["choices"] == second["choices"]
        assert first["usage"] == second["usage"]
        assert first["id"] != second["id"]

    def test_openai_sdk_reads_it(self, flexai_emulator: FlexAIEmulator) -> None:
        with openai.OpenAI(
            api_key=flexai_emulator.api_key, base_url=flexai_emulator.base_url, max_retries=0
        ) as client:
            completion = client.chat.completions.create(
                model=MODEL, messages=[{"role": "user", "content": "Hello"}]
            )
        assert completion.choices[0].message.content == HELLO_REPLY
        assert completion.usage is not None
        assert completion.usage.total_tokens == 19


class TestStreaming:
    def test_sse_framing_without_usage(self, flexai_emulator: FlexAIEmulator) -> None:
        response = _post(flexai_emulator, _hello(stream=True))
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        chunks = _chunks(_events(response))
        assert all("usage" not in chunk for chunk in chunks)
        assert all(chunk["object"] == "chat.completion.chunk" for chunk in chunks)
        assert len({chunk["id"] for chunk in chunks}) == 1
        assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
        text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks)
        assert text == HELLO_REPLY
        assert len(chunks) > 3  # word by word, not one blob
        assert chunks[-1]["choices"] == [
            {"index": 0, "delta": {}, "logprobs": None, "finish_reason": "stop"}
        ]

    def test_usage_only_in_final_empty_choices_chunk(self, flexai_emulator: FlexAIEmulator) -> None:
        response = _post(
            flexai_emulator, _hello(stream=True, stream_options={"include_usage": True})
        )
        chunks = _chunks(_events(response))
        assert all(chunk["usage"] is None for chunk in chunks[:-1])
        assert chunks[-1]["choices"] == []
        assert chunks[-1]["usage"] == {
            "prompt_tokens": 6,
            "completion_tokens": 13,
            "total_tokens": 19,
        }
        assert chunks[-2]["choices"][0]["finish_reason"] == "stop"

    def test_tool_call_arguments_arrive_in_fragments(self, flexai_emulator: FlexAIEmulator) -> None:
        tool = {
            "type": "function",
            "function": {
                "name": "describe_photo",
                "parameters": {
                    "type": "object",
                    "properties": {
                        "caption": {"type": "string"},
                        "objects": {"type": "integer", "minimum": 2},
                    },
                    "required": ["caption", "objects"],
                },
            },
        }
        body = _hello(stream=True, tools=[tool], tool_choice="required")
        chunks = _chunks(_events(_post(flexai_emulator, body)))
        deltas = [c["choices"][0]["delta"] for c in chunks]
        calls = [d["tool_calls"][0] for d in deltas if "tool_calls" in d]
        assert calls[0]["id"].startswith("call_")
        assert calls[0]["type"] == "function"
        assert calls[0]["function"] == {"name": "describe_photo", "arguments": ""}
        fragments = [call["function"]["arguments"] for call in calls[1:]]
        assert len(fragments) > 1
        assert all(set(call) == {"index", "function"} for call in calls[1:])
        assert json.loads("".join(fragments)) == {"caption": "caption", "objects": 2}
        assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"

    def test_openai_sdk_stream_usage(self, flexai_emulator: FlexAIEmulator) -> None:
        with openai.OpenAI(
            api_key=flexai_emulator.api_key, base_url=flexai_emulator.base_url, max_retries=0
        ) as client:
            plain = list(
                client.chat.completions.create(
                    model=MODEL, messages=[{"role": "user", "content": "Hello"}], stream=True
                )
            )
            counted = list(
                client.chat.completions.create(
                    model=MODEL,
                    messages=[{"role": "user", "content": "Hello"}],
                    stream=True,
                    stream_options={"include_usage": True},
                )
            )
        assert all(chunk.usage is None for chunk in plain)
        assert counted[-1].choices == []
        assert counted[-1].usage is not None
        assert counted[-1].usage.prompt_tokens == 6


def _error(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"message", "type", "code", "param"}
    error: dict[str, Any] = body["error"]
    return error


class TestErrors:
    @pytest.mark.parametrize(
        "headers",
        [{}, {"Authorization": "Bearer wrong-key"}, {"Authorization": "Basic abc"}],
        ids=["missing", "wrong", "malformed"],
    )
    def test_401(self, flexai_emulator: FlexAIEmulator, headers: dict[str, str]) -> None:
        response = httpx.post(
            f"{flexai_emulator.base_url}/chat/completions", json=_hello(), headers=headers
        )
        assert response.status_code == 401
        error = _error(response)
        assert (error["type"], error["code"]) == ("authentication_error", "invalid_api_key")
        assert "wrong-key" not in response.text
        assert flexai_emulator.api_key not in response.text

    def test_unknown_model_is_a_400(self, flexai_emulator: FlexAIEmulator) -> None:
        response = _post(flexai_emulator, {**_hello(), "model": "gpt-4o"})
        assert response.status_code == 400
        assert _error(response) == {
            "message": "The model 'gpt-4o' does not exist. GET /v1/models lists the available "
            "models.",
            "type": "invalid_request_error",
            "code": "model_not_found",
            "param": "model",
        }

    def test_images_to_a_text_only_model(self, flexai_emulator: FlexAIEmulator) -> None:
        content = [
            {"type": "text", "text": "What is this?"},
            {"type": "image_url", "image_url": {"url": data_url(image_bytes((8, 8), "red"))}},
        ]
        body = {
            "model": "DeepSeek-V4-Flash-0731",
            "messages": [{"role": "user", "content": content}],
        }
        response = _post(flexai_emulator, body)
        assert response.status_code == 400
        assert "is not a multimodal model" in _error(response)["message"]

    def test_tool_choice_not_honored(self, flexai_emulator: FlexAIEmulator) -> None:
        tool = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}
        body = {**_hello(tools=[tool], tool_choice="required"), "model": "Muse-Glimmer-30B"}
        response = _post(flexai_emulator, body)
        assert response.status_code == 400
        assert _error(response)["code"] == "tool_choice_not_honored"
        # "auto" is fine: the model answers in text.
        body["tool_choice"] = "auto"
        assert _post(flexai_emulator, body).status_code == 200

    def test_json_schema_refused_by_a_model_without_it(
        self, flexai_emulator: FlexAIEmulator
    ) -> None:
        fmt = {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object"}}}
        response = _post(flexai_emulator, {**_hello(response_format=fmt), "model": "Qwen3.5-9B"})
        assert response.status_code == 400
        assert "response_format" in _error(response)["message"]

    def test_402_once_credit_is_spent(self) -> None:
        with FlexAIEmulator(credit_budget=0.0) as emu:
            response = _post(emu, _hello())
        assert response.status_code == 402
        assert _error(response) == {
            "message": "Insufficient credit: your FlexAI balance is exhausted. Top up to continue.",
            "type": "insufficient_quota",
            "code": "402",
            "param": None,
        }

    def test_429_with_retry_after(self) -> None:
        with FlexAIEmulator(rpm_limit=2) as emu:
            statuses = [_post(emu, _hello()).status_code for _ in range(2)]
            response = _post(emu, _hello())
        assert statuses == [200, 200]
        assert response.status_code == 429
        error = _error(response)
        assert (error["type"], error["code"]) == ("rate_limit_error", "rate_limit_exceeded")
        assert 1 <= int(response.headers["retry-after"]) <= 60
        assert response.headers["x-ratelimit-remaining-requests"] == "0"

    def test_503_for_a_model_under_maintenance(self) -> None:
        with FlexAIEmulator(maintenance=[MODEL]) as emu:
            response = _post(emu, _hello())
            public = httpx.get(f"{emu.url}/api/models").json()
            status = httpx.get(f"{emu.url}/api/status").json()
        assert response.status_code == 503
        assert MODEL in _error(response)["message"]
        assert next(m for m in public if m["model_name"] == MODEL)["health_status"] == (
            "maintenance"
        )
        assert status["status"] == "degraded"

    def test_unknown_path_and_method(self, flexai_emulator: FlexAIEmulator) -> None:
        missing = httpx.get(f"{flexai_emulator.base_url}/images/generations")
        wrong_method = httpx.get(f"{flexai_emulator.base_url}/chat/completions")
        assert missing.status_code == 404
        assert _error(missing)["code"] == "not_found"
        assert wrong_method.status_code == 405

    def test_body_that_is_not_json(self, flexai_emulator: FlexAIEmulator) -> None:
        response = httpx.post(
            f"{flexai_emulator.base_url}/chat/completions",
            content=b"{not json",
            headers={"Authorization": f"Bearer {flexai_emulator.api_key}"},
        )
        assert response.status_code == 400
        assert _error(response)["message"] == "The request body is not valid JSON."

    @pytest.mark.parametrize(
        "body",
        [
            [],
            {"messages": [{"role": "user", "content": "x"}]},
            {"model": MODEL, "messages": []},
            {"model": MODEL, "messages": [{"role": {"x": 1}, "content": "x"}]},
            {"model": MODEL, "messages": [{"role": "user", "content": 5}]},
            {**_hello(), "tool_choice": {"type": "function", "function": "f"}},
            {**_hello(), "tool_choice": {"unhashable": []}},
            {**_hello(), "tools": [{"type": "function"}]},
            {**_hello(), "stop": ["a", "b", "c", "d", "e"]},
            {**_hello(), "max_tokens": 0},
            {**_hello(), "stream": "yes"},
            {**_hello(), "response_format": {"type": "xml"}},
        ],
    )
    def test_malformed_bodies_are_400_not_500(
        self, flexai_emulator: FlexAIEmulator, body: Any
    ) -> None:
        response = _post(flexai_emulator, body)
        assert response.status_code == 400
        assert _error(response)["type"] == "invalid_request_error"

    def test_openai_sdk_maps_the_statuses(self, flexai_emulator: FlexAIEmulator) -> None:
        client = openai.OpenAI(
            api_key="fake-wrong-key", base_url=flexai_emulator.base_url, max_retries=0
        )
        with client, pytest.raises(openai.AuthenticationError) as auth:
            client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "x"}])
        assert auth.value.status_code == 401
        assert auth.value.code == "invalid_api_key"
        assert "fake-wrong-key" not in str(auth.value)
        client = openai.OpenAI(
            api_key=flexai_emulator.api_key, base_url=flexai_emulator.base_url, max_retries=0
        )
        with client, pytest.raises(openai.BadRequestError) as bad:
            client.chat.completions.create(
                model="nope", messages=[{"role": "user", "content": "x"}]
            )
        assert bad.value.code == "model_not_found"


RATE_HEADERS = (
    "x-ratelimit-limit-requests",
    "x-ratelimit-remaining-requests",
    "x-ratelimit-reset-requests",
)


class TestRateLimitHeaders:
    def test_on_every_response(self, flexai_emulator: FlexAIEmulator) -> None:
        auth = {"Authorization": f"Bearer {flexai_emulator.api_key}"}
        responses = [
            _post(flexai_emulator, _hello()),
            _post(flexai_emulator, {"model": "nope"}),
            _post(flexai_emulator, _hello(), key="wrong"),
            httpx.get(f"{flexai_emulator.base_url}/models", headers=auth),
            httpx.get(f"{flexai_emulator.url}/api/models"),
            httpx.get(f"{flexai_emulator.url}/api/status"),
            httpx.get(f"{flexai_emulator.url}/missing"),
        ]
        now = time.time()
        for response in responses:
            assert all(name in response.headers for name in RATE_HEADERS), response.url
            assert response.headers["x-ratelimit-limit-requests"] == "1000"
            assert int(response.headers["x-ratelimit-reset-requests"]) >= int(now)

    def test_remaining_counts_down_for_authenticated_requests(
        self, flexai_emulator: FlexAIEmulator
    ) -> None:
        remaining = [
            int(_post(flexai_emulator, _hello()).headers["x-ratelimit-remaining-requests"])
            for _ in range(3)
        ]
        assert remaining[1] == remaining[0] - 1
        assert remaining[2] == remaining[0] - 2


class TestCatalog:
    def test_v1_models_needs_the_key(self, flexai_emulator: FlexAIEmulator) -> None:
        assert httpx.get(f"{flexai_emulator.base_url}/models").status_code == 401

    def test_v1_models_shape(self, flexai_emulator: FlexAIEmulator) -> None:
        response = httpx.get(
            f"{flexai_emulator.base_url}/models",
            headers={"Authorization": f"Bearer {flexai_emulator.api_key}"},
        )
        body = response.json()
        assert body["object"] == "list"
        documented = {
            "id", "object", "created", "owned_by", "context_length", "max_output_length",
            "pricing", "hugging_face_id", "aliases", "name", "description", "supports",
            "category", "input_modalities", "output_modalities", "supported_parameters",
            "is_ready",
        }  # fmt: skip
        assert all(set(entry) == documented for entry in body["data"])
        phi = next(e for e in body["data"] if e["id"] == MODEL)
        assert "vision" in phi["supports"]
        assert phi["input_modalities"] == ["text", "image"]
        assert phi["pricing"] == {
            "prompt": "0.00000005",
            "completion": "0.0000001",
            "input_per_mtok": 0.05,
            "output_per_mtok": 0.1,
        }
        text_only = next(e for e in body["data"] if e["id"] == "DeepSeek-V4-Flash-0731")
        assert text_only["input_modalities"] == ["text"]
        assert "reasoning" in next(e for e in body["data"] if e["id"] == "gpt-oss-120b")["supports"]

    def test_public_models_is_a_bare_array(self, flexai_emulator: FlexAIEmulator) -> None:
        response = httpx.get(f"{flexai_emulator.url}/api/models")
        body = response.json()
        assert isinstance(body, list)
        documented = {
            "slug", "model_name", "display_name", "description", "category", "context_window",
            "max_output", "input_per_mtok", "output_per_mtok", "supports", "pricing",
            "health_status", "provider",
        }  # fmt: skip
        assert all(set(entry) == documented for entry in body)
        names = [entry["model_name"] for entry in body]
        auth = {"Authorization": f"Bearer {flexai_emulator.api_key}"}
        ids = [e["id"] for e in httpx.get(f"{flexai_emulator.base_url}/models", headers=auth)
               .json()["data"]]  # fmt: skip
        assert names == ids  # one catalog behind both endpoints

    def test_status(self, flexai_emulator: FlexAIEmulator) -> None:
        body = httpx.get(f"{flexai_emulator.url}/api/status").json()
        assert body["status"] == "ok"
        assert {c["name"] for c in body["components"]} == {"api", "inference"}
        assert {m["model"] for m in body["models"]} == {m.id for m in flexai_emulator.catalog}


class TestRecordedRequests:
    def test_records_method_path_body_and_redacts_the_key(
        self, flexai_emulator: FlexAIEmulator
    ) -> None:
        _post(flexai_emulator, _hello())
        httpx.get(f"{flexai_emulator.url}/api/status", headers={"x-api-key": "secret-ish"})
        first, second = flexai_emulator.requests
        assert (first.method, first.path, first.body) == ("POST", "/v1/chat/completions", _hello())
        assert first.headers["authorization"] == "<redacted>"
        assert flexai_emulator.api_key not in repr(first)
        assert (second.method, second.path, second.body) == ("GET", "/api/status", None)
        assert second.headers["x-api-key"] == "<redacted>"
        flexai_emulator.clear_requests()
        assert flexai_emulator.requests == []
