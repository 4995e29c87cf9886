"""What one request may cost the emulator, over loopback: body size (413), stalled bodies (408),
slow headers, JSON too deep or too large (400), huge schema demands (400), disconnects (no
traceback) and the bounded request log. After each, the server still answers.

Raw sockets where a client library would hide the behaviour (a lying Content-Length, a chunked
upload that never ends, a body that stalls). Every input is generated here.
"""

from __future__ import annotations

import json
import logging
import select
import socket
import threading
import time
from typing import Any

import httpx
import pytest

from langchain_flexai.testing import DEFAULT_API_KEY, FlexAIEmulator, Limits, _protocol

AUTH = f"Authorization: Bearer {DEFAULT_API_KEY}\r\n"
SMALL_CAP = 64 * 1024


def _chat_body(**extra: Any) -> dict[str, Any]:
    return {
        "model": "phi-4-multimodal-instruct",
        "messages": [{"role": "user", "content": "hi"}],
        **extra,
    }


def _head(length: int | None = None, *, chunked: bool = False) -> bytes:
    lines = (
        "POST /v1/chat/completions HTTP/1.1\r\nHost: emulator\r\n"
        f"{AUTH}Content-Type: application/json\r\n"
    )
    if length is not None:
        lines += f"Content-Length: {length}\r\n"
    if chunked:
        lines += "Transfer-Encoding: chunked\r\n"
    return (lines + "\r\n").encode()


def _read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """One HTTP/1.1 response with a Content-Length body (what the emulator sends for errors)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed before a response: {data!r}"
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        key, _, value = line.partition(":")
        headers[key.strip().lower()] = value.strip()
    length = int(headers["content-length"])
    while len(rest) < length:
        chunk = sock.recv(65536)
        assert chunk
        rest += chunk
    return int(status_line.split()[1]), headers, rest[:length]


def _closed_by_peer(sock: socket.socket, wait: float = 10.0) -> bool:
    # Reads until EOF (True) or until `wait` passes with the connection still open (False).
    sock.settimeout(wait)
    try:
        while sock.recv(65536):
            pass
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True
    return True


def _still_answers(emu: FlexAIEmulator) -> None:
    reply = emu.chat_model(max_retries=0).invoke("still there?")
    assert reply.content == "Received 1 message with 1 text part and 0 images."


def _envelope(message: str, type_: str, code: str | None) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "code": code, "param": None}}


def _too_large(limit: int) -> dict[str, Any]:
    return _envelope(
        f"The request body exceeds the emulator's limit of {limit} bytes "
        "(FlexAIEmulator(limits=Limits(max_body_bytes=...)) raises it).",
        "invalid_request_error",
        "request_too_large",
    )


@pytest.fixture(params=["httptools", "h11"])
def parser(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each HTTP parser the emulator can run on: httptools when installed, h11 without it."""
    if request.param == "h11":
        monkeypatch.setattr(_protocol, "FAST_PROTOCOL", None)
    elif _protocol.FAST_PROTOCOL is None:
        pytest.skip("httptools is not installed")
    chosen = _protocol.header_timeout_protocol(1.0)
    assert issubclass(chosen, _protocol.HeaderDeadlineProtocol) == (request.param == "h11")
    return str(request.param)


@pytest.mark.usefixtures("parser")
class TestBodySize:
    def test_a_declared_length_past_the_default_cap_is_refused_unread(self) -> None:
        with FlexAIEmulator() as emu, socket.create_connection(("127.0.0.1", emu.port)) as sock:
            # 1 GiB announced, nothing sent: the answer comes from the header alone.
            sock.sendall(_head(1024**3))
            status, headers, body = _read_response(sock)
            assert status == 413
            assert headers["connection"] == "close"
            assert json.loads(body) == _too_large(32 * 1024 * 1024)
            assert _closed_by_peer(sock)
            assert [(r.path, r.body, r.size) for r in emu.requests] == [
                ("/v1/chat/completions", None, 0)
            ]
            _still_answers(emu)

    def test_a_chunked_upload_is_cut_at_the_cap_not_drained(self) -> None:
        limits = Limits(max_body_bytes=SMALL_CAP)
        with FlexAIEmulator(limits=limits) as emu:
            sock = socket.create_connection(("127.0.0.1", emu.port))
            sock.sendall(_head(chunked=True))
            piece = b"x" * 16384
            frame = f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
            sent = 0
            refused_while_sending = False
            # Up to 256 MiB: far more than loopback buffers hold, so a server that drained the
            # body (instead of stopping at the cap and closing) would let every send finish.
            try:
                while sent < 256 * 1024 * 1024:
                    sock.sendall(frame)
                    sent += len(piece)
            except (BrokenPipeError, ConnectionResetError):
                refused_while_sending = True
            assert refused_while_sending, "the server kept reading past the cap"
            assert sent < 64 * 1024 * 1024
            sock.close()
            (record,) = emu.requests
            assert (record.body, record.size) == (None, 0)
            _still_answers(emu)

    def test_a_chunked_upload_past_the_cap_gets_the_413(self) -> None:
        limits = Limits(max_body_bytes=SMALL_CAP)
        with FlexAIEmulator(limits=limits) as emu:
            with socket.create_connection(("127.0.0.1", emu.port)) as sock:
                sock.sendall(_head(chunked=True))
                over = b"y" * (SMALL_CAP + 1)  # one byte past the cap, then nothing more
                sock.sendall(f"{len(over):x}\r\n".encode() + over + b"\r\n")
                status, _, body = _read_response(sock)
            assert status == 413
            assert json.loads(body) == _too_large(SMALL_CAP)
            _still_answers(emu)

    def test_a_body_at_the_cap_is_accepted_and_logged_whole(self) -> None:
        base = json.dumps(_chat_body()).encode()
        padding = SMALL_CAP - len(base)
        raw = base[:-1] + b" " * padding + b"}"
        assert len(raw) == SMALL_CAP
        with FlexAIEmulator(limits=Limits(max_body_bytes=SMALL_CAP)) as emu:
            response = httpx.post(
                f"{emu.base_url}/chat/completions",
                content=raw,
                headers={"authorization": f"Bearer {DEFAULT_API_KEY}"},
            )
            assert response.status_code == 200
            (record,) = emu.requests
            assert (record.body, record.size, record.body_dropped) == (
                _chat_body(),
                len(raw),
                False,
            )
            over = httpx.post(
                f"{emu.base_url}/chat/completions",
                content=raw + b" ",
                headers={"authorization": f"Bearer {DEFAULT_API_KEY}"},
            )
            assert over.status_code == 413
            assert over.json() == _too_large(SMALL_CAP)


@pytest.mark.usefixtures("parser")
class TestSlowClients:
    def test_a_stalled_body_gets_a_408(self) -> None:
        with FlexAIEmulator(limits=Limits(body_timeout=0.2)) as emu:
            with socket.create_connection(("127.0.0.1", emu.port)) as sock:
                sock.sendall(_head(100) + b'{"model": ')  # 10 of 100 bytes, then silence
                sock.settimeout(30)
                status, headers, body = _read_response(sock)
                assert status == 408
                assert headers["connection"] == "close"
                assert json.loads(body) == _envelope(
                    "The request body stalled for more than 0.2 seconds.",
                    "timeout_error",
                    "request_timeout",
                )
                assert _closed_by_peer(sock)
            _still_answers(emu)

    def test_headers_trickled_byte_by_byte_are_cut_off(self) -> None:
        with FlexAIEmulator(limits=Limits(header_timeout=0.3)) as emu:
            with socket.create_connection(("127.0.0.1", emu.port)) as sock:
                head = _head(2)
                closed = False
                # One byte every 50 ms would take 8+ s for these headers; each byte cancels
                # uvicorn's keep-alive timer, so only a header deadline ends this.
                for byte in head[:-4]:
                    try:
                        sock.sendall(bytes([byte]))
                    except (BrokenPipeError, ConnectionResetError):
                        closed = True
                        break
                    readable, _, _ = select.select([sock], [], [], 0.05)
                    if readable and not sock.recv(1):
                        closed = True
                        break
                assert closed, "the server waited for the whole trickle"
            _still_answers(emu)

    def test_headers_never_sent_are_cut_off(self) -> None:
        with FlexAIEmulator(limits=Limits(header_timeout=0.2)) as emu:
            with socket.create_connection(("127.0.0.1", emu.port)) as sock:
                assert _closed_by_peer(sock)
            _still_answers(emu)

    def test_the_header_deadline_spares_requests_in_flight_and_pipelined(self) -> None:
        # Each reply takes longer than the header deadline; two requests sent back to back
        # on one connection both have their headers in, so neither wait may close it.
        raw = json.dumps(_chat_body()).encode()
        with FlexAIEmulator(limits=Limits(header_timeout=0.2), latency=0.5) as emu:
            with socket.create_connection(("127.0.0.1", emu.port)) as sock:
                sock.sendall((_head(len(raw)) + raw) * 2)
                sock.settimeout(30)
                data = b""
                while data.count(b"HTTP/1.1 200 OK") < 2 or not data.endswith(b"}"):
                    chunk = sock.recv(65536)
                    assert chunk, f"closed after {data.count(b'HTTP/1.1 200')} replies"
                    data += chunk
                assert data.count(b'"object":"chat.completion"') == 2
                assert _closed_by_peer(sock)  # then idle: the next headers' deadline
            assert len(emu.requests) == 2


def _post(emu: FlexAIEmulator, raw: bytes) -> httpx.Response:
    return httpx.post(
        f"{emu.base_url}/chat/completions",
        content=raw,
        headers={"authorization": f"Bearer {DEFAULT_API_KEY}"},
    )


class TestBadJson:
    @pytest.mark.parametrize("depth", [101, 100_000])
    def test_deep_nesting_is_a_400_without_a_traceback(
        self, depth: int, caplog: pytest.LogCaptureFixture
    ) -> None:
        with caplog.at_level(logging.DEBUG), FlexAIEmulator() as emu:
            response = _post(emu, b'{"messages": ' + b"[" * depth + b"]" * depth + b"}")
            assert response.status_code == 400
            assert response.json() == _envelope(
                "The request body is not accepted: JSON nested deeper than 100 levels.",
                "invalid_request_error",
                "invalid_json",
            )
            _still_answers(emu)
        assert [r for r in caplog.records if r.levelno >= logging.WARNING or r.exc_info] == []

    def test_deep_nesting_inside_a_tool_schema_is_refused_too(self) -> None:
        schema: dict[str, Any] = {"type": "object"}
        for _ in range(150):
            schema = {"type": "object", "properties": {"p": schema}}
        body = _chat_body(
            tools=[{"type": "function", "function": {"name": "f", "parameters": schema}}],
            tool_choice="required",
        )
        with FlexAIEmulator() as emu:
            response = _post(emu, json.dumps(body).encode())
            assert response.status_code == 400
            assert response.json()["error"]["code"] == "invalid_json"

    def test_too_many_values_is_a_400(self) -> None:
        with FlexAIEmulator(limits=Limits(max_json_values=1000)) as emu:
            body = _chat_body(stop=None, extra=[0] * 1000)
            response = _post(emu, json.dumps(body).encode())
            assert response.status_code == 400
            assert response.json()["error"]["message"].startswith(
                "The request body is not accepted: it may hold up to "
            )
            _still_answers(emu)


class TestSchemaDemands:
    @pytest.mark.parametrize(
        "schema",
        [
            {"type": "array", "minItems": 2_000_000},
            {"type": "array", "minItems": 100_000_000},
            {"type": "string", "minLength": 10**12},
        ],
    )
    @pytest.mark.parametrize("stream", [False, True])
    def test_a_huge_schema_is_a_400(self, schema: dict[str, Any], *, stream: bool) -> None:
        body = _chat_body(
            stream=stream,
            response_format={"type": "json_schema", "json_schema": {"name": "s", "schema": schema}},
        )
        with FlexAIEmulator() as emu:
            started = time.process_time()
            response = _post(emu, json.dumps(body).encode())
            assert response.status_code == 400
            error = response.json()["error"]
            assert (error["type"], error["code"], error["param"]) == (
                "invalid_request_error",
                "schema_too_large",
                "response_format",
            )
            assert "the most the emulator generates" in error["message"]
            # The whole process, server thread included: the demand is refused, not built.
            assert time.process_time() - started < 2.0
            _still_answers(emu)

    def test_the_largest_instance_streams_in_bounded_events(self) -> None:
        schema = {"type": "array", "minItems": 99_999}
        response_format = {"type": "json_schema", "json_schema": {"name": "s", "schema": schema}}
        with FlexAIEmulator() as emu:
            whole = _post(emu, json.dumps(_chat_body(response_format=response_format)).encode())
            content = whole.json()["choices"][0]["message"]["content"]
            assert json.loads(content) == ["value"] * 99_999
            streamed = _post(
                emu, json.dumps(_chat_body(stream=True, response_format=response_format)).encode()
            )
        events = [line[6:] for line in streamed.text.split("\n\n") if line.startswith("data: ")]
        assert events[-1] == "[DONE]"
        chunks = [json.loads(event) for event in events[:-1]]
        pieces = [c["choices"][0]["delta"].get("content") or "" for c in chunks]
        assert "".join(pieces) == content
        # 2,048 content events at most (not 137,500 of 8 characters), plus role and finish.
        assert len(chunks) <= 2048 + 2


class TestDisconnects:
    def test_a_client_leaving_mid_body_logs_nothing(self, caplog: pytest.LogCaptureFixture) -> None:
        with caplog.at_level(logging.DEBUG), FlexAIEmulator() as emu:
            for _ in range(3):
                with socket.create_connection(("127.0.0.1", emu.port)) as sock:
                    sock.sendall(_head(1000) + b'{"model": "phi')
                    time.sleep(0.05)  # let the server start reading the body
            _still_answers(emu)
            assert [r.path for r in emu.requests] == ["/v1/chat/completions"]  # only the last
        assert [r for r in caplog.records if r.levelno >= logging.WARNING or r.exc_info] == []

    def test_a_client_leaving_mid_stream_logs_nothing(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        # A long stream: an array of 20,000 strings arrives in ~25,000 SSE events.
        schema = {"type": "array", "minItems": 20_000, "items": {"type": "string"}}
        raw = json.dumps(
            _chat_body(
                stream=True,
                response_format={
                    "type": "json_schema",
                    "json_schema": {"name": "s", "schema": schema},
                },
            )
        ).encode()
        with caplog.at_level(logging.DEBUG), FlexAIEmulator() as emu:
            for _ in range(3):
                sock = socket.create_connection(("127.0.0.1", emu.port))
                sock.sendall(_head(len(raw)) + raw)
                assert sock.recv(4096).startswith(b"HTTP/1.1 200 OK")
                # RST instead of FIN: the harshest way to leave.
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00" * 2)
                sock.close()
            _still_answers(emu)
        assert [r for r in caplog.records if r.levelno >= logging.WARNING or r.exc_info] == []


class TestRequestLog:
    def test_the_log_stays_bounded_and_keeps_the_newest_bodies(self) -> None:
        limits = Limits(max_logged_requests=20, max_logged_bytes=200_000)
        text = "z" * 30_000
        with FlexAIEmulator(limits=limits) as emu:
            model = emu.chat_model(max_retries=0)
            for number in range(60):
                model.invoke(f"{number} {text}")
            records = emu.requests
            assert len(records) == 20
            kept = [r for r in records if r.body is not None]
            assert 1 <= len(kept) < 20
            assert sum(r.size for r in kept) <= 200_000
            assert emu._state.log.kept_weight <= 200_000
            assert all(r.body_dropped for r in records[: len(records) - len(kept)])
            assert kept[-1].body["messages"][0]["content"] == f"59 {text}"
            assert all(r.size > 30_000 for r in records)

    def test_many_requests_keep_memory_flat_in_count(self) -> None:
        threads = threading.active_count()
        with FlexAIEmulator(limits=Limits(max_logged_requests=50)) as emu:
            with httpx.Client() as client:
                for _ in range(200):
                    client.get(f"{emu.url}/api/status")
            assert len(emu.requests) == 50
            emu.clear_requests()
            assert emu.requests == []
        assert threading.active_count() == threads
