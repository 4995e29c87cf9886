"""The hot chat-completions route against Starlette's, over plain ASGI calls (no socket).

Two emulator apps with the same state answer the same requests, one through ``HotRouteApp``
and one through the Starlette app behind it: every message sent (status, headers, body bytes)
and every request logged must be the same. The requests are generated here: good and bad
keys, bodies in one or many chunks, invalid JSON, unknown models, images, streaming, 429s.
"""

from __future__ import annotations

import base64
import io
import json
import re
from typing import Any

import pytest
from PIL import Image

from langchain_flexai.testing import DEFAULT_API_KEY, DEFAULT_CATALOG, DEFAULT_MODEL
from langchain_flexai.testing._faults import Faults
from langchain_flexai.testing._hot_route import CompactJSONResponse, HotRouteApp
from langchain_flexai.testing._server import ServerState, build_app

Message = dict[str, Any]


def _state() -> ServerState:
    faults = Faults(rpm_limit=12)
    return ServerState(
        api_key=DEFAULT_API_KEY, catalog={m.id: m for m in DEFAULT_CATALOG}, faults=faults
    )


async def _call(
    app: Any, method: str, path: str, body: bytes, headers: list[tuple[bytes, bytes]], chunks: int
) -> list[Message]:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8080),
    }
    step = max(1, -(-len(body) // chunks))
    pieces = [body[i : i + step] for i in range(0, len(body), step)] or [b""]
    incoming: list[Message] = [
        {"type": "http.request", "body": piece, "more_body": n < len(pieces) - 1}
        for n, piece in enumerate(pieces)
    ]
    sent: list[Message] = []

    async def receive() -> Message:
        return incoming.pop(0) if incoming else {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent


def _png_url(colour: tuple[int, int, int]) -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def _requests() -> list[tuple[str, str, bytes, list[tuple[bytes, bytes]], int]]:
    auth = [(b"authorization", f"Bearer {DEFAULT_API_KEY}".encode())]
    typed = [*auth, (b"content-type", b"application/json"), (b"x-api-key", b"secret")]
    chat = {"model": DEFAULT_MODEL, "messages": [{"role": "user", "content": "hi \u00e9 \x01"}]}
    image = {
        "model": DEFAULT_MODEL,
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Describe."},
                    {"type": "image_url", "image_url": {"url": _png_url((200, 30, 40))}},
                ],
            }
        ],
    }
    stream = {**chat, "stream": True, "stream_options": {"include_usage": True}}
    path = "/v1/chat/completions"
    cases = [
        ("POST", path, json.dumps(chat).encode(), typed, 1),
        ("POST", path, json.dumps(image).encode(), typed, 7),
        ("POST", path, json.dumps(stream).encode(), auth, 2),
        ("POST", path, json.dumps(chat).encode(), [(b"authorization", b"Bearer wrong")], 1),
        ("POST", path, json.dumps(chat).encode(), [], 1),
        ("POST", path, b"{not json", auth, 1),
        ("POST", path, b"", auth, 1),
        ("POST", path, json.dumps({"model": "nope", "messages": []}).encode(), auth, 1),
        ("POST", path, json.dumps({**chat, "n": 2}).encode(), auth, 1),
        ("POST", path, json.dumps({**chat, "max_tokens": 10**30}).encode(), auth, 1),
        ("POST", path, b"[" * 150 + b"]" * 150, auth, 3),
        ("GET", path, b"", auth, 1),
        ("POST", path + "/", json.dumps(chat).encode(), auth, 1),
    ]
    # Past the 12 requests a minute: the window's 429s and their headers.
    cases += [("POST", path, json.dumps(chat).encode(), auth, 1)] * 4
    return cases


def _comparable(messages: list[Message]) -> list[Message]:
    # The `created` timestamp is the only value that may differ between two runs.
    out = []
    for message in messages:
        copy = dict(message)
        if "body" in copy:
            copy["body"] = re.sub(rb'"created": ?\d+', b'"created":0', copy["body"])
        if "headers" in copy:
            copy["headers"] = [
                (k, b"0" if k == b"x-ratelimit-reset-requests" else v) for k, v in copy["headers"]
            ]
        out.append(copy)
    return out


async def test_the_hot_route_answers_and_logs_as_starlette_does() -> None:
    hot_state, plain_state = _state(), _state()
    hot = build_app(hot_state)
    plain = build_app(plain_state)
    assert isinstance(hot, HotRouteApp)
    assert isinstance(plain, HotRouteApp)
    for method, path, body, headers, chunks in _requests():
        through_hot = await _call(hot, method, path, body, headers, chunks)
        through_starlette = await _call(plain.fallback, method, path, body, headers, chunks)
        assert _comparable(through_hot) == _comparable(through_starlette), (method, path, body)
        assert through_hot, "nothing was sent"
    hot_log, plain_log = hot_state.log.records(), plain_state.log.records()
    assert hot_log == plain_log
    assert len(hot_log) == 15  # every request that reached a route (not the 405, the 307)
    assert dict(hot_log[0].headers)["x-api-key"] == "<redacted>"


@pytest.mark.parametrize(
    "value",
    [
        {"a": ["\u00e9", "\x00\x1f\x7f", "\u2028", '"\\/'], "b": None, "c": True, "d": -(2**63)},
        {"big": 10**30, "text": "\U0001f600"},
        [[], {}, "", 0],
    ],
)
def test_compact_json_renders_the_bytes_starlette_renders(value: Any) -> None:
    from starlette.responses import JSONResponse  # noqa: PLC0415 - the reference renderer

    assert CompactJSONResponse(value).body == JSONResponse(value).body
